/**
 * @pulsemesh/core: isomorphic primitives (no I/O, no node: imports). See README.md.
 */
export * from './bytes.ts'
export * from './errors.ts'
export * from './limits.ts'
export * from './types.ts'
export * from './crypto/index.ts'
export * from './codec/index.ts'
export * from './address.ts'
export * from './merkle/index.ts'
