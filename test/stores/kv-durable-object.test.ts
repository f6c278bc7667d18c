import { fileURLToPath } from 'node:url'
import { remoteStore } from './rpc.ts'
import { testConfigStore } from './suite.ts'
import { startWorkerd, type Workerd } from './workerd.ts'

let workerd: Workerd | undefined

testConfigStore({
  name: 'kv-durable-object (workerd via miniflare)',
  open: async () => {
    workerd = await startWorkerd(fileURLToPath(new URL('./kv-durable-object.worker.ts', import.meta.url)))
    return remoteStore(workerd.url, 'kv-durable-object')
  },
  // A second isolate's view: the same objects and KV through another client.
  openPeer: async () => remoteStore(workerd!.url, 'kv-durable-object'),
  teardown: async () => workerd?.stop(),
})
