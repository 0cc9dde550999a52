export * from './client.ts'
export * from './tx.ts'
export * from './verify.ts'
