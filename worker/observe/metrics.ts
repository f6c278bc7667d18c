/**
 * A small portable metrics registry rendering Prometheus text format 0.0.4 (prom-client is
 * Node-only). Series are keyed by their label values, which callers must keep bounded:
 * route and service names come from the config, never from raw paths or hosts.
 * Every family is rendered from the start, with its HELP and TYPE even before a sample.
 * @module
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** Seconds. Finer than Prometheus' defaults at the low end: a proxy hop is sub-millisecond. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const SEP = '\u0001'

interface Family {
  render(out: string[]): void
}

export interface Counter {
  inc(labels: readonly string[], n?: number): void
  get(labels: readonly string[]): number
  /** One series resolved once (labels checked and joined now), for a hot path that reuses it. */
  series(labels: readonly string[]): CounterSeries
}

export interface CounterSeries {
  inc(n?: number): void
}

export interface HistogramSeries {
  observe(value: number): void
}

export interface Gauge {
  set(labels: readonly string[], value: number): void
  get(labels: readonly string[]): number | undefined
  /** Forgets every series (a gauge whose label set follows the config). */
  clear(): void
}

export interface Histogram {
  observe(labels: readonly string[], value: number): void
  count(labels: readonly string[]): number
  /** One series resolved once, as `Counter.series`. It appears in the output at its first observation. */
  series(labels: readonly string[]): HistogramSeries
}

export interface MetricsRegistry {
  counter(name: string, help: string, labelNames: readonly string[]): Counter
  gauge(name: string, help: string, labelNames: readonly string[]): Gauge
  histogram(name: string, help: string, labelNames: readonly string[], buckets?: readonly number[]): Histogram
  /**
   * A family of one unlabelled series whose value is read when the registry renders (a
   * process's CPU time or memory, which something else keeps); no sample while `read` gives
   * undefined.
   */
  reading(name: string, help: string, type: 'counter' | 'gauge', read: () => number | undefined): void
  /** The whole registry as Prometheus text. */
  render(): string
}

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const formatNumber = (n: number) => (Number.isNaN(n) ? 'NaN' : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : String(n))

function labelText(names: readonly string[], key: string, extra?: string): string {
  if (names.length === 0) return extra ? `{${extra}}` : ''
  const values = key.split(SEP)
  const parts = names.map((n, i) => `${n}="${escapeValue(values[i] ?? '')}"`)
  if (extra) parts.push(extra)
  return `{${parts.join(',')}}`
}

function checkLabels(name: string, names: readonly string[], labels: readonly string[]) {
  if (labels.length !== names.length) throw new TypeError(`${name} takes labels (${names.join(', ')}), got ${labels.length} values`)
}

export function createRegistry(): MetricsRegistry {
  const families = new Map<string, Family>()
  const register = (name: string, family: Family) => {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new TypeError(`bad metric name ${name}`)
    if (families.has(name)) throw new TypeError(`metric ${name} registered twice`)
    families.set(name, family)
  }

  return {
    counter(name, help, labelNames) {
      // One cell per series: a resolved series (the per-request path) adds to its cell, no map lookups.
      const series = new Map<string, { v: number }>()
      const cellOf = (key: string) => {
        let cell = series.get(key)
        if (!cell) series.set(key, (cell = { v: 0 }))
        return cell
      }
      register(name, {
        render(out) {
          out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} counter`)
          for (const [key, cell] of series) out.push(`${name}${labelText(labelNames, key)} ${formatNumber(cell.v)}`)
        },
      })
      return {
        inc(labels, n = 1) {
          checkLabels(name, labelNames, labels)
          cellOf(labels.join(SEP)).v += n
        },
        get: (labels) => series.get(labels.join(SEP))?.v ?? 0,
        series(labels) {
          checkLabels(name, labelNames, labels)
          const key = labels.join(SEP)
          // Made at the first increment, as `inc` would: a series appears once it has counted.
          let cell: { v: number } | undefined
          return {
            inc(n = 1) {
              ;(cell ??= cellOf(key)).v += n
            },
          }
        },
      }
    },

    gauge(name, help, labelNames) {
      const series = new Map<string, number>()
      register(name, {
        render(out) {
          out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`)
          for (const [key, v] of series) out.push(`${name}${labelText(labelNames, key)} ${formatNumber(v)}`)
        },
      })
      return {
        set(labels, value) {
          checkLabels(name, labelNames, labels)
          series.set(labels.join(SEP), value)
        },
        get: (labels) => series.get(labels.join(SEP)),
        clear: () => series.clear(),
      }
    },

    histogram(name, help, labelNames, buckets = DURATION_BUCKETS) {
      const bounds = [...buckets].sort((a, b) => a - b)
      if (labelNames.includes('le')) throw new TypeError('"le" is reserved for histogram buckets')
      // counts[i] is the number of observations in bucket i alone; rendering accumulates.
      const series = new Map<string, { counts: Float64Array; sum: number; count: number }>()
      register(name, {
        render(out) {
          out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`)
          for (const [key, s] of series) {
            let acc = 0
            for (let i = 0; i < bounds.length; i++) {
              acc += s.counts[i]!
              out.push(`${name}_bucket${labelText(labelNames, key, `le="${formatNumber(bounds[i]!)}"`)} ${acc}`)
            }
            out.push(`${name}_bucket${labelText(labelNames, key, 'le="+Inf"')} ${s.count}`)
            out.push(`${name}_sum${labelText(labelNames, key)} ${formatNumber(s.sum)}`)
            out.push(`${name}_count${labelText(labelNames, key)} ${s.count}`)
          }
        },
      })
      type Series = { counts: Float64Array; sum: number; count: number }
      const add = (s: Series, value: number) => {
        let i = 0
        while (i < bounds.length && value > bounds[i]!) i++
        if (i < bounds.length) s.counts[i]!++
        s.sum += value
        s.count++
      }
      const seriesOf = (key: string): Series => {
        let s = series.get(key)
        if (!s) series.set(key, (s = { counts: new Float64Array(bounds.length), sum: 0, count: 0 }))
        return s
      }
      return {
        observe(labels, value) {
          checkLabels(name, labelNames, labels)
          add(seriesOf(labels.join(SEP)), value)
        },
        count: (labels) => series.get(labels.join(SEP))?.count ?? 0,
        series(labels) {
          checkLabels(name, labelNames, labels)
          const key = labels.join(SEP)
          let s: Series | undefined
          return {
            observe(value) {
              add((s ??= seriesOf(key)), value)
            },
          }
        },
      }
    },

    reading(name, help, type, read) {
      register(name, {
        render(out) {
          out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
          const v = read()
          if (v !== undefined) out.push(`${name} ${formatNumber(v)}`)
        },
      })
    },

    render() {
      const out: string[] = []
      for (const family of families.values()) family.render(out)
      return out.join('\n') + '\n'
    },
  }
}
