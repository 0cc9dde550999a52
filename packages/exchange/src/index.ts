export type * from './types.ts'
export { OrderBook, canonicalText } from './order-book.ts'
