/**
 * `legate ambassador` on Bun: its socket forward (worker/platforms/bun/socket-forward.ts), in
 * the shared suite of socket-forward-suite.ts.
 */
import { skipWithoutBun, startBunAmbassador } from './bun-ambassador.ts'
import { socketForwardSuite } from './socket-forward-suite.ts'

socketForwardSuite('Bun socket forward', startBunAmbassador, skipWithoutBun)
