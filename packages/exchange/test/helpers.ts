/** Small helpers shared by the order book tests. */
import type { OrderBook } from '../src/order-book.ts'
import type { EngineEvent, FillEvent, OrderType, Side, StpMode } from '../src/types.ts'

export function place(
  book: OrderBook,
  id: number,
  owner: string,
  side: Side,
  type: OrderType,
  price: number | undefined,
  size: number,
  stp?: StpMode,
): EngineEvent[] {
  return book.execute({
    kind: 'place',
    id: BigInt(id),
    owner,
    side,
    type,
    ...(price === undefined ? {} : { price: BigInt(price) }),
    size: BigInt(size),
    ...(stp === undefined ? {} : { stp }),
  })
}

export const fills = (events: EngineEvent[]): FillEvent[] =>
  events.filter((e): e is FillEvent => e.type === 'fill')

/** Compact "maker@price:size" list of a command's fills. */
export const fillText = (events: EngineEvent[]): string[] =>
  fills(events).map((f) => `${f.makerId}@${f.price}:${f.size}`)

export function done(events: EngineEvent[]): { filled: bigint; resting: bigint } {
  const d = events[events.length - 1]!
  if (d.type !== 'done') throw new Error(`last event is ${d.type}, not done`)
  return { filled: d.filled, resting: d.resting }
}

export function rejectCode(events: EngineEvent[]): string | undefined {
  const e = events[0]
  return e?.type === 'rejected' ? e.code : undefined
}

/** Aggregated depth as "price:size" strings, best first. */
export function depthText(book: OrderBook): { bids: string[]; asks: string[] } {
  const d = book.depth(1000)
  return { bids: d.bids.map((l) => `${l.price}:${l.size}`), asks: d.asks.map((l) => `${l.price}:${l.size}`) }
}
