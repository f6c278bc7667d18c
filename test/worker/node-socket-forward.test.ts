/**
 * The Node ambassador's socket forward (worker/platforms/node/socket-forward.ts), in the shared
 * suite of socket-forward-suite.ts, in process.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSigner, startAmbassador, tempDir, until } from './helpers.ts'
import { socketForwardSuite } from './socket-forward-suite.ts'

socketForwardSuite('Node socket forward', async (config) => {
  const signer = await createSigner()
  const file = join(tempDir(), 'config.jws')
  writeFileSync(file, await signer.sign(config, 1))
  const running = await startAmbassador({ trust: signer.trust, mesh: String(config.mesh), configFile: file })
  await until(() => running.ambassador.holder.current !== undefined)
  return { outbound: running.ports.outbound, close: () => running.close() }
})
