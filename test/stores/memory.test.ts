import { memoryStore } from '../../control/stores/memory.ts'
import { testConfigStore } from './suite.ts'

testConfigStore({ name: 'memory', open: async () => memoryStore() })
