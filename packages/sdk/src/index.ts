// First: browsers need a Buffer before @pulsemesh/core's codec loads (see browser-globals.ts).
import './browser-globals.ts'

export * from './client.ts'
export * from './tx.ts'
export * from './verify.ts'
export * from './stream.ts'
export * from './webhooks.ts'
export * from './exchange.ts'
export * from './mesh.ts'
export * from './metrics.ts'
export * from './keys.ts'
export * from './light.ts'
