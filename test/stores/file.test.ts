import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileStore } from '../../control/stores/file.ts'
import { fakeJws, freshMesh, metaFor, testConfigStore } from './suite.ts'

const dir = await mkdtemp(join(tmpdir(), 'legate-file-store-'))

testConfigStore({
  name: 'file',
  open: async () => fileStore({ dir }),
  openPeer: async () => fileStore({ dir }),
  teardown: () => rm(dir, { recursive: true, force: true }),
})

test('file store: leaves no temp or lock files behind', async () => {
  const own = await mkdtemp(join(tmpdir(), 'legate-file-store-'))
  try {
    const store = fileStore({ dir: own })
    const mesh = freshMesh()
    await Promise.all([3, 1, 2].map((v) => store.putIfNewer(mesh, v, fakeJws(v), metaFor(v, fakeJws(v)))))
    const names = [...(await readdir(join(own, 'meshes', mesh))), ...(await readdir(join(own, 'meshes', mesh, 'versions')))]
    assert.deepEqual(names.filter((n) => n.endsWith('.tmp') || n.startsWith('lock')), [])
    await store.close()
  } finally {
    await rm(own, { recursive: true, force: true })
  }
})
