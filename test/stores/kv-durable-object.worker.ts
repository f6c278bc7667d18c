/**
 * Test worker (bundled by esbuild, run by miniflare): serves the KV + Durable Object store
 * over test/stores/rpc.ts so the shared suite can drive it from Node.
 */
import { kvDurableObjectStore, type DurableObjectNamespaceLike } from '../../control/stores/kv-durable-object.ts'
import { storeRpc } from './rpc.ts'

export { ControlMesh } from '../../control/stores/kv-durable-object.ts'

export default {
  fetch(request: Request, env: { CONTROL_MESH: DurableObjectNamespaceLike }) {
    return storeRpc(kvDurableObjectStore({ namespace: env.CONTROL_MESH }))(request)
  },
}
