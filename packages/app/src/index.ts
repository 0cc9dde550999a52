export * from './accounts.ts'
export * from './errors.ts'
export * from './executor.ts'
export * from './genesis.ts'
export type * from './module.ts'
export * from './modules/bank/index.ts'
export * as exchange from './modules/exchange/index.ts'
export {
  createExchangeModule,
  EXCHANGE_KIND,
  EXCHANGE_PREFIX,
  ExchangeError,
  exchangeModule,
  type ExchangeModuleOptions,
} from './modules/exchange/index.ts'
export * from './modules/staking/index.ts'
export * from './modules/emotion/index.ts'
export * from './state/kv.ts'
export * from './validators.ts'
export * as mesh from './modules/mesh/index.ts'
export { createMeshModule, MESH_KIND, MESH_PREFIX, MeshError, meshModule } from './modules/mesh/index.ts'
