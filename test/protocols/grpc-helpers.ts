/** gRPC test servers: a proto from its text, and a server bound to a free port on 127.0.0.1. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { tempDir } from '../worker/helpers.ts'

export function loadProto(text: string): grpc.GrpcObject {
  const file = join(tempDir(), 'echo.proto')
  writeFileSync(file, text)
  return grpc.loadPackageDefinition(protoLoader.loadSync(file))
}

export function bindGrpc(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))))
}
