/*
 * openloop.c: the open-loop HTTP/1.1 load generator of the latency scenario (bench/run.ts).
 *
 *   cc -O2 -o openloop bench/lib/openloop.c
 *   openloop --url http://127.0.0.1:PORT/100b --rate 1000 --duration 5 [--warmup 1]
 *            [--host echo] [--connections 64] [--timeout 10] [--realtime] [--spin-us 0] [--samples FILE]
 *
 * prints one JSON line on stdout (the shape of OpenLoopResult in bench/lib/open-loop.ts).
 *
 * What it measures. Request i is due at t0 + i/rate, fixed in advance whatever happened to
 * earlier requests, and its latency is response-complete time - *scheduled* time. A proxy
 * that stalls for 20 ms therefore charges the wait to every request that should have left
 * during the stall (the correction for "coordinated omission" that wrk2 made popular): a
 * closed-loop tool, or one that times from the actual send, lets the stalled requests simply
 * not exist. A request goes out on an idle keep-alive connection; when every open one is
 * busy it waits (counted in "waited") for one to free up or for a new connection, opened up
 * to --connections; that wait is part of its latency too.
 *
 * Why a C program. The goal is a per-hop p99 of <= 0.3 ms at 1,000 req/s. The Node +
 * undici generator (bench/lib/open-loop.ts) sends up to 0.7-1.2 ms late at p99 (event-loop
 * and GC jitter of its own), and that noise is larger than the quantity to measure. Nothing
 * packaged does this: wrk2 is not in Debian, and h2load (Debian nghttp2-client 1.52) has
 * `--rps=<N>`, "request per second for each client", but it holds requests that the stream
 * concurrency does not allow yet in `rps_req_pending` and starts the clock when it submits
 * them, i.e. from the actual send (Http1Session::submit_request calls record_request_time as
 * it writes the request): stalls are hidden. Here the loop is one thread, epoll, a
 * timerfd armed at the next due time (CLOCK_MONOTONIC, absolute), timer slack set to 1 ns,
 * and optionally a short busy-poll before each due time (--spin-us) for the last microseconds.
 * On a machine shared with other work, the generator's core is shared too, and a woken
 * generator may wait milliseconds for the CPU: --realtime asks for SCHED_FIFO priority 1 (root
 * or CAP_SYS_NICE; "realtime" in the output says whether it took), so it runs as soon as its
 * timer or a response wakes it. It sleeps between requests (a few % of a core at 1,000 req/s),
 * so that takes little from anyone; busy-polling is refused in that mode, since a spinning
 * real-time thread would starve its core.
 * Seen on the shared 2-core machine (load 3-6): send lag p99 0.04-0.1 ms with --realtime,
 * 2-80 ms without, 1.5-17 ms for the Node generator; with the upstream SCHED_FIFO as well,
 * direct's p99 at 1,000 req/s was 0.13-0.21 ms (2-15 ms otherwise).
 * The send lag (actual send - scheduled) is reported so that one can see it is small; its
 * percentiles leave out the requests that waited for a connection (their wait is the peer's,
 * and it is in their latency; --samples has every request's lag).
 *
 * Only 127.0.0.1: the bench runs on a shared machine and must never load anything else.
 * Percentiles are exact: every recorded latency is kept (int64 ns) and sorted, nearest rank.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 20000000L /* 20 M recorded requests: 320 MB of samples; far above any run */
#define LINE_MAX_ 8192        /* longest status, header or chunk-size line accepted */

typedef int64_t ns_t;

enum cstate { C_CONNECTING, C_IDLE, C_BUSY };
/* Response parser states. Everything but a body is parsed line by line. */
enum pstate { P_STATUS, P_HEADER, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_UNTIL_CLOSE };

struct conn {
  int fd;
  enum cstate st;
  long req;      /* request in flight (index), -1 when none */
  size_t wrote;  /* bytes of the request written so far */
  int want_out;  /* EPOLLOUT is on (a connect or a write under way) */
  ns_t since;    /* connect start (for the timeout of C_CONNECTING) */
  enum pstate ps;
  int status, chunked, close_after, http10, keep_alive;
  long long left; /* body or chunk bytes still to read; -1: no Content-Length */
  size_t llen;
  char line[LINE_MAX_ + 1];
};

/* ---- options and state (one thread: globals keep the code short) ------------------------ */
static double rate = 1000, duration_s = 5, warmup_s = 1, timeout_s = 10;
static long cap = 64, spin_ns = 0;
static int realtime;
static const char *samples_file;
static struct sockaddr_in addr;
static char req_buf[2048];
static size_t req_len;

static ns_t t0;
static long total, warm, rec;          /* requests in all, of the warm-up, recorded */
static ns_t *lat, *lag;                /* per recorded request; -1 = not completed / not sent */
static unsigned char *waited_flag;     /* per recorded request: found no idle connection */
static long sent, completed, ok2xx, non2xx, errors, connect_errors, connect_failed, waited;
static long peer_closed; /* idle keep-alive connections the server closed, or broken at the next send */
static long opened, open_now, max_open, connecting;
static struct conn **conns;            /* cap slots; NULL = free */
static struct conn **idle;             /* stack of idle connections (LIFO keeps one hot) */
static long nidle;
static int ep, tfd;

static ns_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ns_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* Computed from the index, not accumulated, so the schedule never drifts. */
static ns_t sched(long i) { return t0 + (ns_t)((double)i * 1e9 / rate); }

static void die(const char *msg) {
  fprintf(stderr, "openloop: %s\n", msg);
  exit(2);
}

/* ---- connections -------------------------------------------------------------------------- */
static void set_events(struct conn *c, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void idle_remove(struct conn *c) {
  for (long i = 0; i < nidle; i++)
    if (idle[i] == c) {
      idle[i] = idle[--nidle];
      return;
    }
}

/* A request that will not complete, counted once with its reason. */
enum why { E_BROKEN, E_TIMEOUT, E_MALFORMED, E_UNSENT };
static long why_count[4];
static void fail_request(long i, enum why w) {
  if (i < warm) return;
  errors++;
  why_count[w]++;
}

static void close_conn(struct conn *c) {
  if (c->st == C_IDLE) idle_remove(c);
  if (c->st == C_CONNECTING) connecting--;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  for (long i = 0; i < cap; i++)
    if (conns[i] == c) conns[i] = NULL;
  open_now--;
  free(c);
}

static void open_conn(void) {
  long slot = -1;
  for (long i = 0; i < cap && slot < 0; i++)
    if (!conns[i]) slot = i;
  if (slot < 0) return;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket failed");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* a request is one small write */
  struct conn *c = calloc(1, sizeof *c);
  if (!c) die("out of memory");
  c->fd = fd;
  c->req = -1;
  c->st = C_CONNECTING;
  c->since = now_ns();
  conns[slot] = c;
  opened++;
  connecting++;
  if (++open_now > max_open) max_open = open_now;
  struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  /* Non-blocking: EINPROGRESS, and EPOLLOUT says when it is done (SO_ERROR says how). */
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) c->since = -1; /* failed now: seen on EPOLLERR */
}

/* Writes (the rest of) the request. Returns -1 when the connection is broken. */
static int write_req(struct conn *c) {
  while (c->wrote < req_len) {
    ssize_t w = send(c->fd, req_buf + c->wrote, req_len - c->wrote, MSG_NOSIGNAL);
    if (w < 0 && errno == EAGAIN) {
      if (!c->want_out) set_events(c, EPOLLIN | EPOLLOUT), c->want_out = 1;
      return 0;
    }
    if (w < 0) return -1;
    c->wrote += (size_t)w;
  }
  if (c->want_out) set_events(c, EPOLLIN), c->want_out = 0; /* no syscall on the usual path */
  return 0;
}

/* Puts request i on idle connection c. -1: the connection was found broken before a byte of
 * the request went out (a keep-alive connection the server just closed), so the request can
 * go on another one. */
static int send_req(struct conn *c, long i) {
  idle_remove(c);
  c->st = C_BUSY;
  c->req = i;
  c->wrote = 0;
  c->ps = P_STATUS;
  c->llen = 0;
  ns_t t = now_ns();
  if (write_req(c) < 0) {
    if (c->wrote == 0) {
      peer_closed++;
      close_conn(c);
      return -1;
    }
    fail_request(i, E_BROKEN);
    close_conn(c);
  }
  if (i >= warm) {
    lag[i - warm] = t - sched(i);
    sent++;
  }
  return 0;
}

/* ---- response parsing: enough for keep-alive (status, Content-Length, chunked, close) ---- */
/* One complete line (CRLF stripped). Returns 1 when the response is complete, -1 on garbage. */
static int on_line(struct conn *c, char *s, size_t n) {
  switch (c->ps) {
  case P_STATUS:
    if (n < 12 || strncmp(s, "HTTP/1.", 7) != 0) return -1;
    c->http10 = s[7] == '0';
    c->status = atoi(s + 9);
    c->chunked = c->close_after = c->keep_alive = 0;
    c->left = -1;
    c->ps = P_HEADER;
    return 0;
  case P_HEADER:
    if (n > 0) {
      if (strncasecmp(s, "content-length:", 15) == 0) c->left = atoll(s + 15);
      else if (strncasecmp(s, "transfer-encoding:", 18) == 0) c->chunked = strcasestr(s + 18, "chunked") != NULL;
      else if (strncasecmp(s, "connection:", 11) == 0) {
        if (strcasestr(s + 11, "close")) c->close_after = 1;
        if (strcasestr(s + 11, "keep-alive")) c->keep_alive = 1;
      }
      return 0;
    }
    /* End of the head. */
    if (c->http10 && !c->keep_alive) c->close_after = 1;
    if (c->status >= 100 && c->status < 200) { /* 100 Continue and friends: the real one follows */
      c->ps = P_STATUS;
      return 0;
    }
    if (c->status == 204 || c->status == 304 || (!c->chunked && c->left == 0)) return 1;
    if (c->chunked) c->ps = P_CHUNK_SIZE;
    else if (c->left > 0) c->ps = P_BODY;
    else { /* neither: the body runs until the server closes */
      c->ps = P_UNTIL_CLOSE;
      c->close_after = 1;
    }
    return 0;
  case P_CHUNK_SIZE: {
    char *end;
    long long k = strtoll(s, &end, 16);
    if (end == s || k < 0) return -1;
    c->left = k;
    c->ps = k ? P_CHUNK_DATA : P_TRAILER;
    return 0;
  }
  case P_CHUNK_END:
    if (n != 0) return -1;
    c->ps = P_CHUNK_SIZE;
    return 0;
  case P_TRAILER:
    return n == 0 ? 1 : 0;
  default:
    return -1;
  }
}

/* Feeds bytes read from c. 1: response complete, 0: more to come, -1: protocol error. */
static int feed(struct conn *c, const char *p, size_t n) {
  while (n > 0) {
    if (c->ps == P_UNTIL_CLOSE) return 0;
    if (c->ps == P_BODY || c->ps == P_CHUNK_DATA) {
      size_t k = (long long)n < c->left ? n : (size_t)c->left;
      p += k, n -= k, c->left -= (long long)k;
      if (c->left == 0) {
        if (c->ps == P_BODY) return n ? -1 : 1; /* bytes after the response: not ours */
        c->ps = P_CHUNK_END;
      }
      continue;
    }
    const char *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) + 1 : n;
    if (c->llen + k > LINE_MAX_) return -1;
    memcpy(c->line + c->llen, p, k);
    c->llen += k, p += k, n -= k;
    if (!nl) return 0;
    size_t len = c->llen;
    while (len && (c->line[len - 1] == '\n' || c->line[len - 1] == '\r')) len--;
    c->line[len] = 0;
    c->llen = 0;
    int r = on_line(c, c->line, len);
    if (r != 0) return r < 0 ? -1 : n ? -1 : 1;
  }
  return 0;
}

static void complete(struct conn *c, ns_t t) {
  long i = c->req;
  if (i >= warm) {
    lat[i - warm] = t - sched(i);
    completed++;
    if (c->status >= 200 && c->status < 400) ok2xx++;
    else non2xx++;
  }
  c->req = -1;
  if (c->close_after) {
    close_conn(c);
    return;
  }
  c->st = C_IDLE;
  idle[nidle++] = c;
}

static void on_readable(struct conn *c) {
  static char buf[65536];
  for (;;) {
    ssize_t r = read(c->fd, buf, sizeof buf);
    ns_t t = now_ns(); /* right after the bytes arrived: the response's completion time */
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) { /* closed or reset */
      if (c->st == C_BUSY && r == 0 && c->ps == P_UNTIL_CLOSE) {
        c->close_after = 1;
        complete(c, t);
      } else {
        if (c->st == C_BUSY) fail_request(c->req, E_BROKEN);
        else peer_closed++;
        close_conn(c);
      }
      return;
    }
    if (c->st != C_BUSY) { /* bytes nobody asked for */
      peer_closed++;
      close_conn(c);
      return;
    }
    int f = feed(c, buf, (size_t)r);
    if (f < 0) {
      fail_request(c->req, E_MALFORMED);
      close_conn(c);
      return;
    }
    if (f == 1) {
      complete(c, t);
      return; /* the connection may be closed now; the next event on it comes through epoll */
    }
  }
}

static void on_event(struct conn *c, uint32_t ev) {
  if (c->st == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (c->since < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err || (ev & (EPOLLERR | EPOLLHUP))) {
      connect_errors++, connect_failed++;
      close_conn(c);
      return;
    }
    if (!(ev & EPOLLOUT)) return;
    connecting--;
    c->st = C_IDLE;
    idle[nidle++] = c;
    set_events(c, EPOLLIN), c->want_out = 0;
    return;
  }
  if (c->st == C_BUSY && (ev & EPOLLOUT) && c->wrote < req_len && write_req(c) < 0) {
    fail_request(c->req, E_BROKEN);
    close_conn(c);
    return;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
}

/* ---- the loop ----------------------------------------------------------------------------- */
static long next; /* the first request not sent yet */

/* Sends every request that is due. */
static void dispatch(ns_t now) {
  while (next < total && sched(next) <= now) {
    if (nidle > 0) {
      if (send_req(idle[nidle - 1], next) == 0) next++;
      continue;
    }
    /* Every open connection is busy: these requests wait, and the wait counts in their
     * latency. Open connections (up to the cap) for those that no connect under way covers. */
    long due = 0;
    for (long i = next; i < total && sched(i) <= now; i++) {
      due++;
      if (i >= warm && !waited_flag[i - warm]) {
        waited_flag[i - warm] = 1;
        waited++;
      }
    }
    while (connecting < due && open_now < cap) open_conn();
    if (open_now == 0 && connect_errors > 0) {
      /* Nothing to send on and connects fail (peer down): each failed connect costs one
       * request, so a dead peer ends the run with errors instead of spinning. */
      fail_request(next++, E_UNSENT);
      connect_errors--;
      continue;
    }
    return;
  }
}

static void check_timeouts(ns_t now) {
  ns_t limit = (ns_t)(timeout_s * 1e9);
  for (long i = 0; i < cap; i++) {
    struct conn *c = conns[i];
    if (!c) continue;
    if (c->st == C_BUSY && now - sched(c->req) > limit) {
      fail_request(c->req, E_TIMEOUT);
      close_conn(c);
    } else if (c->st == C_CONNECTING && now - c->since > limit) {
      connect_errors++, connect_failed++;
      close_conn(c);
    }
  }
}

static int cmp_ns(const void *a, const void *b) {
  ns_t x = *(const ns_t *)a, y = *(const ns_t *)b;
  return (x > y) - (x < y);
}

/* Nearest rank, like percentile() in bench/lib/stats.ts, in ms. */
static double pct(const ns_t *sorted, long n, double p) {
  if (n == 0) return -1;
  double x = (p / 100.0) * (double)n; /* Math.ceil of the same expression, without libm */
  long rank = (long)x;
  if ((double)rank < x) rank++;
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)sorted[rank - 1] / 1e6;
}

static void usage(void) {
  fprintf(stderr, "usage: openloop --url http://127.0.0.1:PORT/PATH [--rate 1000] [--duration 5] [--warmup 1]\n"
                  "                [--host HOST] [--connections 64] [--timeout 10] [--realtime | --spin-us N] [--samples FILE]\n");
  exit(2);
}

static void parse_url(const char *url, char *path, size_t pathcap, char *hostport, size_t hpcap) {
  if (strncmp(url, "http://", 7) != 0) die("only http:// URLs");
  const char *h = url + 7, *slash = strchr(h, '/');
  size_t hl = slash ? (size_t)(slash - h) : strlen(h);
  if (hl == 0 || hl >= hpcap) die("bad URL");
  memcpy(hostport, h, hl);
  hostport[hl] = 0;
  snprintf(path, pathcap, "%s", slash ? slash : "/");
  char ip[64] = {0};
  const char *colon = strrchr(hostport, ':');
  size_t il = colon ? (size_t)(colon - hostport) : hl;
  if (il >= sizeof ip) die("bad URL");
  memcpy(ip, hostport, il);
  long port = colon ? atol(colon + 1) : 80;
  if (port <= 0 || port > 65535) die("bad port");
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  /* The literal address 127.0.0.1 only: no name lookup, no other host, not even 127.0.0.2. */
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1 || addr.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
    die("refusing: only http://127.0.0.1:PORT/ is allowed");
}

int main(int argc, char **argv) {
  const char *url = NULL, *host = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--realtime")) {
      realtime = 1;
      continue;
    }
    if (!v) usage();
    if (!strcmp(a, "--url")) url = v;
    else if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--duration")) duration_s = atof(v);
    else if (!strcmp(a, "--warmup")) warmup_s = atof(v);
    else if (!strcmp(a, "--connections")) cap = atol(v);
    else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
    else if (!strcmp(a, "--spin-us")) spin_ns = atol(v) * 1000;
    else if (!strcmp(a, "--samples")) samples_file = v;
    else usage();
    i++;
  }
  if (!url || rate <= 0 || rate > 1e6 || duration_s <= 0 || warmup_s < 0 || cap < 1 || cap > 10000 || timeout_s <= 0 || spin_ns < 0 || (realtime && spin_ns)) usage();
  char path[1024], hostport[256];
  parse_url(url, path, sizeof path, hostport, sizeof hostport);
  int n = snprintf(req_buf, sizeof req_buf, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: legate-bench-openloop\r\n\r\n", path, host ? host : hostport);
  if (n <= 0 || (size_t)n >= sizeof req_buf) die("request too long");
  req_len = (size_t)n;

  warm = (long)(warmup_s * rate + 0.5);
  rec = (long)(duration_s * rate + 0.5);
  total = warm + rec;
  if (rec < 1 || rec > MAX_SAMPLES) die("duration x rate must give 1 to 20,000,000 recorded requests");
  lat = malloc(sizeof *lat * (size_t)rec);
  lag = malloc(sizeof *lag * (size_t)rec);
  waited_flag = calloc((size_t)rec, 1);
  conns = calloc((size_t)cap, sizeof *conns);
  idle = calloc((size_t)cap, sizeof *idle);
  if (!lat || !lag || !waited_flag || !conns || !idle) die("out of memory");
  for (long i = 0; i < rec; i++) lat[i] = lag[i] = -1;

  signal(SIGPIPE, SIG_IGN);
  /* Timer slack: a non-real-time thread's timed waits may fire up to 50 µs late by default
   * (the kernel batches wake-ups); that would be send lag of our own. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct sched_param sp = {.sched_priority = 1};
  int rt = realtime && sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
  ep = epoll_create1(EPOLL_CLOEXEC);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep < 0 || tfd < 0) die("epoll/timerfd failed");
  struct epoll_event te = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);

  t0 = now_ns() + 10000000; /* 10 ms from now */
  ns_t armed = -1, last_check = 0;
  ns_t end_by = sched(total - 1) + (ns_t)(timeout_s * 1e9) + 1000000000;
  struct epoll_event evs[256];
  for (;;) {
    ns_t now = now_ns();
    dispatch(now);
    if (now - last_check > 10000000) {
      check_timeouts(now);
      last_check = now;
    }
    long busy = open_now - nidle - connecting;
    if (next >= total && busy <= 0 && connecting <= 0) break;
    if (now > end_by) break;
    /* Wait until the next due time: by the timer, or busy-polling its last spin_ns. (A request
     * that is due already waits for a connection: that connection's event wakes us.) */
    int timeout_ms = 100; /* at most: the timeout checks must run */
    if (next < total && sched(next) > now) {
      ns_t due = sched(next);
      if (due - now <= spin_ns) timeout_ms = 0;
      else if (armed != due - spin_ns) {
        armed = due - spin_ns;
        struct itimerspec its = {.it_value = {.tv_sec = armed / 1000000000, .tv_nsec = armed % 1000000000}};
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
      }
    }
    int k = epoll_wait(ep, evs, 256, timeout_ms);
    for (int j = 0; j < k; j++) {
      if (!evs[j].data.ptr) { /* the timer */
        uint64_t x;
        if (read(tfd, &x, sizeof x) < 0) {}
        continue;
      }
      /* An earlier event of this round may have closed this connection: skip stale ones. (No
       * connection is opened while events are handled, so a freed address is not reused.) */
      struct conn *c = evs[j].data.ptr;
      int live = 0;
      for (long s = 0; s < cap && !live; s++) live = conns[s] == c;
      if (live) on_event(c, evs[j].events);
    }
  }
  /* Whatever is still in flight after the deadline did not complete. */
  for (long s = 0; s < cap; s++)
    if (conns[s] && conns[s]->st == C_BUSY) {
      fail_request(conns[s]->req, E_TIMEOUT);
      close_conn(conns[s]);
    }
  for (; next < total; next++) fail_request(next, E_UNSENT); /* connects kept failing */

  if (samples_file) { /* per recorded request: scheduled offset, latency, send lag (ms); -1 = failed */
    FILE *f = fopen(samples_file, "w");
    if (!f) die("cannot write --samples file");
    /* The wall-clock time of the first recorded request's schedule, to line the samples up
     * with another process's log (a proxy's GC trace, say). */
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    double rt_ms = (double)rt.tv_sec * 1e3 + (double)rt.tv_nsec / 1e6 - (double)(now_ns() - sched(warm)) / 1e6;
    fprintf(f, "# first recorded request scheduled at %.3f ms since the epoch (CLOCK_REALTIME)\n", rt_ms);
    fprintf(f, "sched_ms latency_ms send_lag_ms waited\n");
    for (long i = 0; i < rec; i++)
      fprintf(f, "%.3f %.4f %.4f %d\n", (double)(sched(warm + i) - sched(warm)) / 1e6, lat[i] < 0 ? -1.0 : (double)lat[i] / 1e6, (double)lag[i] / 1e6, waited_flag[i]);
    fclose(f);
  }
  long m = 0, ml = 0;
  double sum = 0;
  for (long i = 0; i < rec; i++) {
    if (lat[i] >= 0) sum += (double)(lat[m++] = lat[i]);
    if (lag[i] >= 0 && !waited_flag[i]) lag[ml++] = lag[i]; /* own lag: not the wait for a connection */
  }
  qsort(lat, (size_t)m, sizeof *lat, cmp_ns);
  qsort(lag, (size_t)ml, sizeof *lag, cmp_ns);
  printf("{\"generator\":\"openloop.c\",\"realtime\":%s,\"rate\":%g,\"durationS\":%g,\"warmupS\":%g,\"connectionsCap\":%ld,"
         "\"sent\":%ld,\"completed\":%ld,\"ok\":%ld,\"non2xx\":%ld,\"errors\":%ld,\"timeouts\":%ld,\"broken\":%ld,\"malformed\":%ld,\"unsent\":%ld,"
         "\"waited\":%ld,\"connectionsOpened\":%ld,\"maxConnections\":%ld,\"connectFailed\":%ld,\"peerClosed\":%ld,"
         "\"p50Ms\":%.4f,\"p90Ms\":%.4f,\"p99Ms\":%.4f,\"p999Ms\":%.4f,\"maxMs\":%.4f,\"meanMs\":%.4f,"
         "\"sendLagP50Ms\":%.4f,\"sendLagP99Ms\":%.4f,\"sendLagP999Ms\":%.4f,\"sendLagMaxMs\":%.4f}\n",
         rt ? "true" : "false", rate, duration_s, warmup_s, cap, sent, completed, ok2xx, non2xx, errors, why_count[E_TIMEOUT], why_count[E_BROKEN], why_count[E_MALFORMED], why_count[E_UNSENT], waited, opened, max_open, connect_failed, peer_closed,
         pct(lat, m, 50), pct(lat, m, 90), pct(lat, m, 99), pct(lat, m, 99.9), pct(lat, m, 100), m ? sum / (double)m / 1e6 : -1,
         pct(lag, ml, 50), pct(lag, ml, 99), pct(lag, ml, 99.9), pct(lag, ml, 100));
  return 0;
}
