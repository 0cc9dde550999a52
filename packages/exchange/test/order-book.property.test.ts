/**
 * Property tests (fast-check) of the order book on random command streams:
 * - differential: the optimized engine and the naive reference (test/reference-book.ts) emit the
 *   same events and reach the same snapshot after every command;
 * - the book is never crossed, no order id appears twice, level sizes are the sum of their orders;
 * - conservation: for every order, resting = original - filled - cancelled; in every command the
 *   taker's filled size equals the sum of its fill events (both sides of each fill are one event);
 * - a rejected command leaves the snapshot unchanged;
 * - determinism: two engines fed the same stream give identical events and snapshots.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { OrderBook, canonicalText } from '../src/order-book.ts'
import type { BookSnapshot, Command, EngineEvent, MarketConfig, OrderType, StpMode } from '../src/types.ts'
import { ReferenceBook } from './reference-book.ts'

const CONFIG: MarketConfig = { tickSize: 5n, lotSize: 2n, maxSize: 200n, maxOpenOrders: 25 }
/** A tiny capacity so streams also hit BOOK_FULL. */
const SMALL: MarketConfig = { ...CONFIG, maxOpenOrders: 6 }
const OWNERS = ['alice', 'bob', 'carol']
const TYPES: OrderType[] = ['limit', 'limit', 'limit', 'market', 'ioc', 'fok', 'post-only']
const STPS: (StpMode | undefined)[] = [
  undefined,
  'cancel-newest',
  'cancel-oldest',
  'cancel-both',
  'decrement',
  'none',
]

/** Small id/price/size spaces so streams hit duplicates, unknown ids, STP and every reject path. */
const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        id: fc.bigInt(0n, 30n),
        owner: fc.constantFrom(...OWNERS),
        side: fc.constantFrom('buy' as const, 'sell' as const),
        type: fc.constantFrom(...TYPES),
        price: fc.oneof(
          { weight: 9, arbitrary: fc.bigInt(18n, 22n).map((p) => p * 5n) },
          fc.bigInt(-1n, 120n),
        ),
        size: fc.oneof({ weight: 9, arbitrary: fc.bigInt(1n, 20n).map((s) => s * 2n) }, fc.bigInt(-1n, 250n)),
        stp: fc.constantFrom(...STPS),
      })
      .map(({ id, owner, side, type, price, size, stp }) => {
        const cmd: Command = { kind: 'place', id, owner, side, type, size }
        if (type !== 'market') cmd.price = price
        if (stp !== undefined) cmd.stp = stp
        return cmd
      }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      id: fc.bigInt(0n, 30n),
      owner: fc.constantFrom(...OWNERS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      id: fc.bigInt(0n, 30n),
      owner: fc.constantFrom(...OWNERS),
      price: fc.bigInt(18n, 22n).map((p) => p * 5n),
      size: fc.bigInt(1n, 20n).map((s) => s * 2n),
    }),
  },
)

interface Ledger {
  original: bigint
  filled: bigint
  cancelled: bigint
}

function checkInvariants(snap: BookSnapshot): void {
  const bestBid = snap.bids[0]?.price
  const bestAsk = snap.asks[0]?.price
  if (bestBid !== undefined && bestAsk !== undefined) assert.ok(bestBid < bestAsk, 'book crossed')
  const ids = new Set<bigint>()
  for (const side of [snap.bids, snap.asks]) {
    for (let i = 0; i < side.length; i++) {
      const level = side[i]!
      if (i > 0) {
        const prev = side[i - 1]!.price
        assert.ok(side === snap.bids ? prev > level.price : prev < level.price, 'levels out of order')
      }
      assert.ok(level.orders.length > 0, 'empty level kept')
      let sum = 0n
      for (const o of level.orders) {
        assert.ok(!ids.has(o.id), `order ${o.id} appears twice`)
        assert.ok(o.size > 0n, 'resting order with size 0')
        ids.add(o.id)
        sum += o.size
      }
      assert.equal(level.size, sum, 'level size != sum of orders')
    }
  }
}

/** Apply the conservation ledger to one command's events; checks taker fill totals. */
function applyLedger(ledger: Map<bigint, Ledger>, cmd: Command, events: EngineEvent[]): void {
  let takerFilled = 0n
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.type === 'accepted') {
      const prev = events[i - 1]
      const reentered = prev?.type === 'cancelled' && prev.reason === 'REPLACED'
      if (cmd.kind !== 'cancel' && (cmd.kind === 'place' || reentered)) {
        ledger.set(e.orderId, { original: cmd.size, filled: 0n, cancelled: 0n })
      }
    } else if (e.type === 'fill') {
      assert.ok(e.size > 0n)
      assert.notEqual(e.makerId, e.takerId)
      ledger.get(e.makerId)!.filled += e.size
      ledger.get(e.takerId)!.filled += e.size
      takerFilled += e.size
    } else if (e.type === 'cancelled') {
      if (e.reason !== 'REPLACED') ledger.get(e.orderId)!.cancelled += e.size
    } else if (e.type === 'done') {
      assert.equal(e.filled, takerFilled, 'done.filled != sum of fills')
      const l = ledger.get(e.orderId)
      if (l !== undefined) assert.equal(l.original - l.filled - l.cancelled, e.resting, 'conservation (done)')
    }
  }
}

test('optimized engine agrees with the naive reference; invariants hold after every command', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(CONFIG, SMALL),
      fc.array(arbCommand, { minLength: 1, maxLength: 150, size: 'max' }),
      (config, cmds) => {
        const book = new OrderBook(config)
        const ref = new ReferenceBook(config)
        const ledger = new Map<bigint, Ledger>()
        for (const cmd of cmds) {
          const before = canonicalText(book.snapshot())
          const events = book.execute(cmd)
          assert.deepEqual(events, ref.execute(cmd), `events differ on ${canonicalText(cmd)}`)
          const snap = book.snapshot()
          assert.deepEqual(snap, ref.snapshot())
          if (events[0]!.type === 'rejected') {
            assert.equal(events.length, 1)
            assert.equal(canonicalText(snap), before, 'rejected command changed the book')
          } else assert.equal(events[events.length - 1]!.type, 'done')
          checkInvariants(snap)
          applyLedger(ledger, cmd, events)
          for (const side of [snap.bids, snap.asks]) {
            for (const level of side) {
              for (const o of level.orders) {
                const l = ledger.get(o.id)!
                assert.equal(l.original - l.filled - l.cancelled, o.size, `conservation of order ${o.id}`)
              }
            }
          }
        }
      },
    ),
    { numRuns: 150, seed: 20261120 },
  )
})

test('determinism: two engines fed the same stream give identical events and snapshots', () => {
  fc.assert(
    fc.property(fc.array(arbCommand, { minLength: 1, maxLength: 200, size: 'max' }), (cmds) => {
      const a = new OrderBook(CONFIG)
      const b = new OrderBook(CONFIG)
      const ea = cmds.map((c) => a.execute(c))
      const eb = cmds.map((c) => b.execute(c))
      assert.equal(canonicalText(ea), canonicalText(eb))
      assert.equal(canonicalText(a.snapshot()), canonicalText(b.snapshot()))
    }),
    { numRuns: 50, seed: 7 },
  )
})
