/**
 * The standard `process_*` families (as Prometheus client libraries and Linkerd's proxy name
 * them), so a sidecar's own CPU and memory are scraped with its traffic. Sampled once per
 * scrape, never on the request path.
 * @module
 */
import type { ProcessStats } from '../platform.ts'
import type { MetricsRegistry } from './metrics.ts'

/** Registers the families; call the returned function before each render to take a new sample. */
export function registerProcessMetrics(registry: MetricsRegistry, stats: () => ProcessStats): () => void {
  let s: ProcessStats | undefined
  registry.reading('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', () => s?.cpuSeconds)
  registry.reading('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => s?.residentBytes)
  registry.reading('process_heap_bytes', 'JavaScript heap in use, in bytes.', 'gauge', () => s?.heapBytes)
  registry.reading('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', () => s?.startTimeSeconds)
  registry.reading('process_open_fds', 'Number of open file descriptors.', 'gauge', () => s?.openFds)
  registry.reading('process_max_fds', 'Maximum number of open file descriptors.', 'gauge', () => s?.maxFds)
  return () => {
    s = stats()
  }
}
