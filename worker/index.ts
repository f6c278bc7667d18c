/**
 * The legate ambassador: the portable core (`createAmbassador` and what a platform must
 * supply), and the pieces an embedder or another runtime's entry needs. Runtime entries live
 * in `entry/` (Node: `entry/node.ts`, Deno: `entry/deno.ts`, workerd: `entry/workerd.ts`).
 * @module
 */
export { createAmbassador, GATEWAY_ADMIN_PREFIX } from './app.ts'
export type { Ambassador, AmbassadorOptions } from './app.ts'
export type { Platform, ProcessStats, StateStore, Timer, UpstreamForward, UpstreamRequest, UpstreamResult } from './platform.ts'
export { createFetchForward } from './upstream/forward.ts'
export type { FetchForwardOptions } from './upstream/forward.ts'
export { createConfigHolder } from './config/holder.ts'
export type { ConfigHolder, ConfigError, ConfigSummary, Readiness, OfferResult } from './config/holder.ts'
export { createControlSource } from './config/control-source.ts'
export type { ConfigSource, ControlSourceOptions } from './config/control-source.ts'
export type { Snapshot } from './config/snapshot.ts'
export { createChain, SOURCE_HEADER } from './filters/chain.ts'
export type { Chain, ChainStages, Stage, StageFactory } from './filters/chain.ts'
export type { Direction, Exchange } from './exchange.ts'
export { createLegateMetrics } from './observe/legate-metrics.ts'
export { registerProcessMetrics } from './observe/process-metrics.ts'
export type { LegateMetrics } from './observe/legate-metrics.ts'
export { createRegistry, PROMETHEUS_CONTENT_TYPE, DURATION_BUCKETS } from './observe/metrics.ts'
export type { MetricsRegistry, Counter, Gauge, Histogram } from './observe/metrics.ts'
export { createLogger, isLogLevel, LOG_LEVELS } from './observe/access-log.ts'
export type { Logger, LogLevel, AccessRecord } from './observe/access-log.ts'
export { localReply, LOCAL_REPLY_STATUS } from './local-reply.ts'
