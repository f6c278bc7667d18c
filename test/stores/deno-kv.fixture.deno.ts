/**
 * Runs in a real Deno child process: opens Deno KV at the path given and serves the store
 * over test/stores/rpc.ts; prints `listening <port>` when ready.
 *   deno run --unstable-kv -A test/stores/deno-kv.fixture.deno.ts <kv-path>
 */
import { denoKvStore } from '../../control/stores/deno-kv.ts'
import { storeRpc } from './rpc.ts'

const kv = await Deno.openKv(Deno.args[0])
const handler = storeRpc(denoKvStore({ kv }))
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`listening ${port}`) }, handler)
