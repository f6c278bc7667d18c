// Preloaded (`node --import`) by bench/alloc.ts into the process it measures: SIGUSR2 starts
// V8's sampling heap profiler (objects later collected by minor and major GC included, so
// short-lived per-request garbage counts), the next SIGUSR2 stops it and writes the profile
// to $LEGATE_ALLOC_OUT. In-process, so the measured process needs no inspector port.
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'

const out = process.env.LEGATE_ALLOC_OUT
if (out) {
  const session = new Session()
  session.connect()
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))))
  let running = false
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true
      void post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    } else {
      running = false
      void post('HeapProfiler.stopSampling').then((r) => writeFileSync(out, JSON.stringify(r.profile)))
    }
  })
}
