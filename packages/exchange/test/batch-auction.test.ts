import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isPulseError } from '@pulsemesh/core/errors.ts'
import { type AuctionOrder, clearBatch } from '../src/batch-auction.ts'

const b = (id: number, price: number | undefined, size: number): AuctionOrder => ({
  id: BigInt(id),
  side: 'buy',
  ...(price === undefined ? {} : { price: BigInt(price) }),
  size: BigInt(size),
})
const s = (id: number, price: number | undefined, size: number): AuctionOrder => ({
  ...b(id, price, size),
  side: 'sell',
})
const fillMap = (r: ReturnType<typeof clearBatch>): Record<string, number> =>
  Object.fromEntries(r.fills.map((f) => [String(f.id), Number(f.size)]))

test('maximum volume price; long side served by price then time', () => {
  const r = clearBatch([b(1, 100, 10), b(2, 105, 10), s(3, 95, 5), s(4, 100, 10)])
  assert.equal(r.price, 100n)
  assert.equal(r.volume, 15n)
  assert.deepEqual(fillMap(r), { '1': 5, '2': 10, '3': 5, '4': 10 })
})

test('tie on volume: smallest surplus wins', () => {
  // V(100)=V(101)=10; surplus at 100 is |20-10|=10, at 101 |10-10|=0
  const r = clearBatch([b(1, 101, 10), b(2, 100, 10), s(3, 99, 10), s(4, 102, 10)])
  assert.equal(r.price, 101n)
})

test('tie on volume and surplus: market pressure, then reference price, then lower median', () => {
  // buy pressure at every tied candidate -> highest price
  // V = 10 and surplus 15 at both 100 and 110, demand exceeds supply at both
  const buyPressure = clearBatch([b(1, 110, 5), b(2, undefined, 20), s(3, 100, 10)])
  assert.equal(buyPressure.price, 110n)
  // same surplus on both sides of the tie: reference decides, else the lower median
  const orders = [b(1, 110, 10), s(2, 100, 10)]
  assert.equal(clearBatch(orders, { referencePrice: 108n }).price, 110n)
  assert.equal(clearBatch(orders, { referencePrice: 101n }).price, 100n)
  assert.equal(clearBatch(orders).price, 100n)
})

test('pro-rata at the margin: floor shares, leftover lots one each in batch order', () => {
  // supply 10 at 100; demand: three buys of 5, 5, 10 at 100 -> 10 lots over 20
  const orders = [s(9, 100, 10), b(1, 100, 5), b(2, 100, 5), b(3, 100, 10)]
  // floor: 2, 2, 5 = 9; the leftover lot goes to the first in batch order
  assert.deepEqual(fillMap(clearBatch(orders, { allocation: 'pro-rata' })), {
    '9': 10,
    '1': 3,
    '2': 2,
    '3': 5,
  })
  assert.deepEqual(fillMap(clearBatch(orders, { allocation: 'time' })), { '9': 10, '1': 5, '2': 5 })
})

test('no cross and market-only batches', () => {
  assert.equal(clearBatch([b(1, 90, 10), s(2, 100, 10)]).price, null)
  assert.equal(clearBatch([b(1, undefined, 10), s(2, undefined, 4)]).price, null)
  const withRef = clearBatch([b(1, undefined, 10), s(2, undefined, 4)], { referencePrice: 50n })
  assert.deepEqual([withRef.price, withRef.volume], [50n, 4n])
  assert.equal(clearBatch([]).price, null)
})

test('bad batches are typed errors', () => {
  const bad = (orders: unknown[]) =>
    assert.throws(
      () => clearBatch(orders as AuctionOrder[]),
      (e: unknown) => isPulseError(e) && e.code === 'AUCTION_BAD_INPUT',
    )
  bad([b(1, 100, 1), s(1, 100, 1)])
  bad([b(1, 100, 0)])
  bad([b(1, -1, 1)])
  bad([{ ...b(1, 100, 1), side: 'hold' }])
})

test('property: max volume over all candidates, both sides allocate exactly the volume, limits respected', () => {
  const arbOrder = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    price: fc.option(fc.bigInt(95n, 105n), { nil: undefined, freq: 8 }),
    size: fc.bigInt(1n, 30n),
  })
  fc.assert(
    fc.property(
      fc.array(arbOrder, { maxLength: 25 }),
      fc.constantFrom('time' as const, 'pro-rata' as const),
      (raw, allocation) => {
        const orders: AuctionOrder[] = raw.map((o, i) => ({
          id: BigInt(i),
          side: o.side,
          size: o.size,
          ...(o.price === undefined ? {} : { price: o.price }),
        }))
        const r = clearBatch(orders, { allocation })
        let best = 0n
        for (let p = 95n; p <= 105n; p++) {
          if (!orders.some((o) => o.price === p)) continue
          let d = 0n
          let sup = 0n
          for (const o of orders) {
            if (o.side === 'buy' && (o.price === undefined || o.price >= p)) d += o.size
            if (o.side === 'sell' && (o.price === undefined || o.price <= p)) sup += o.size
          }
          const v = d < sup ? d : sup
          if (v > best) best = v
        }
        assert.equal(r.volume, best)
        if (best === 0n) {
          assert.equal(r.price, null)
          return
        }
        let buys = 0n
        let sells = 0n
        for (const f of r.fills) {
          const o = orders[Number(f.id)]!
          assert.ok(f.size > 0n && f.size <= o.size)
          if (o.side === 'buy') {
            assert.ok(o.price === undefined || o.price >= r.price!)
            buys += f.size
          } else {
            assert.ok(o.price === undefined || o.price <= r.price!)
            sells += f.size
          }
        }
        assert.equal(buys, r.volume)
        assert.equal(sells, r.volume)
      },
    ),
    { numRuns: 300, seed: 5 },
  )
})
