import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isPulseError } from '@pulsemesh/core/errors.ts'
import { OrderBook, canonicalText } from '../src/order-book.ts'
import type { Command } from '../src/types.ts'
import { depthText, done, fillText, place, rejectCode } from './helpers.ts'

const newBook = (): OrderBook =>
  new OrderBook({ tickSize: 5n, lotSize: 10n, maxSize: 1000n, maxOpenOrders: 4 })

test('price-time priority: better price first, then arrival order; fills at the maker price', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'm1', 'sell', 'limit', 101, 5)
  place(b, 2, 'm2', 'sell', 'limit', 100, 5)
  place(b, 3, 'm3', 'sell', 'limit', 100, 5)
  place(b, 4, 'm4', 'sell', 'limit', 102, 5)
  const ev = place(b, 5, 't', 'buy', 'limit', 101, 12)
  assert.deepEqual(fillText(ev), ['2@100:5', '3@100:5', '1@101:2'])
  assert.deepEqual(done(ev), { filled: 12n, resting: 0n })
  assert.deepEqual(depthText(b), { bids: [], asks: ['101:3', '102:5'] })
  assert.equal(b.bestAsk(), 101n)
  assert.equal(b.bestBid(), undefined)
})

test('every reject code, and a rejected command changes nothing', () => {
  const b = newBook()
  place(b, 1, 'a', 'sell', 'limit', 100, 10)
  place(b, 2, 'a', 'buy', 'limit', 90, 10)
  const before = canonicalText(b.snapshot())
  const cases: [Command, string][] = [
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 0n, size: 10n },
      'PRICE_NOT_POSITIVE',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: -5n, size: 10n },
      'PRICE_NOT_POSITIVE',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 92n, size: 10n },
      'PRICE_OFF_TICK',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 2n ** 60n, size: 10n },
      'PRICE_TOO_HIGH',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 0n },
      'SIZE_NOT_POSITIVE',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 15n },
      'SIZE_OFF_LOT',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 1010n },
      'SIZE_TOO_LARGE',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 2n ** 64n },
      'SIZE_TOO_LARGE',
    ],
    [
      { kind: 'place', id: 1n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 10n },
      'DUPLICATE_ORDER_ID',
    ],
    [
      { kind: 'place', id: -1n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 10n },
      'ORDER_ID_INVALID',
    ],
    [
      { kind: 'place', id: 2n ** 53n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 10n },
      'ORDER_ID_INVALID',
    ],
    [
      { kind: 'place', id: 3n, owner: '', side: 'buy', type: 'limit', price: 95n, size: 10n },
      'OWNER_INVALID',
    ],
    [
      { kind: 'place', id: 3n, owner: 'x'.repeat(257), side: 'buy', type: 'limit', price: 95n, size: 10n },
      'OWNER_INVALID',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'post-only', price: 100n, size: 10n },
      'POST_ONLY_WOULD_CROSS',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'sell', type: 'post-only', price: 90n, size: 10n },
      'POST_ONLY_WOULD_CROSS',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'fok', price: 100n, size: 20n },
      'FOK_NOT_FILLABLE',
    ],
    [
      { kind: 'place', id: 3n, owner: 'b', side: 'buy', type: 'fok', price: 95n, size: 10n },
      'FOK_NOT_FILLABLE',
    ],
    [{ kind: 'cancel', id: 9n, owner: 'a' }, 'UNKNOWN_ORDER'],
    [{ kind: 'cancel', id: 1n, owner: 'b' }, 'NOT_ORDER_OWNER'],
    [{ kind: 'replace', id: 1n, owner: 'b', price: 100n, size: 10n }, 'NOT_ORDER_OWNER'],
    [{ kind: 'replace', id: 9n, owner: 'a', price: 100n, size: 10n }, 'UNKNOWN_ORDER'],
    [{ kind: 'replace', id: 1n, owner: 'a', price: 101n, size: 10n }, 'PRICE_OFF_TICK'],
    [{ kind: 'replace', id: 1n, owner: 'a', price: 100n, size: 11n }, 'SIZE_OFF_LOT'],
  ]
  for (const [cmd, code] of cases) {
    const ev = b.execute(cmd)
    assert.equal(rejectCode(ev), code, canonicalText(cmd))
    assert.equal(ev.length, 1)
    assert.equal(canonicalText(b.snapshot()), before)
  }
})

test('malformed commands are rejected as INVALID_COMMAND, never thrown', () => {
  const b = newBook()
  place(b, 1, 'a', 'sell', 'limit', 100, 10)
  const before = canonicalText(b.snapshot())
  const bad: unknown[] = [
    null,
    {},
    { kind: 'nope', id: 1n },
    { kind: 'place', id: 2, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 10n },
    { kind: 'place', id: 2n, owner: 7, side: 'buy', type: 'limit', price: 95n, size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'up', type: 'limit', price: 95n, size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'stop', price: 95n, size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'limit', price: 95, size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'limit', size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'market', price: 95n, size: 10n },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: '10' },
    { kind: 'place', id: 2n, owner: 'b', side: 'buy', type: 'limit', price: 95n, size: 10n, stp: 'toString' },
  ]
  for (const cmd of bad) {
    assert.equal(rejectCode(b.execute(cmd as Command)), 'INVALID_COMMAND', String(canonicalText(cmd)))
  }
  assert.equal(canonicalText(b.snapshot()), before)
})

test('BOOK_FULL bounds live orders; takers that do not rest still trade', () => {
  const b = newBook()
  for (let i = 1; i <= 4; i++) place(b, i, 'a', 'sell', 'limit', 100 + 5 * i, 10)
  assert.equal(rejectCode(place(b, 5, 'b', 'sell', 'limit', 200, 10)), 'BOOK_FULL')
  assert.equal(rejectCode(place(b, 5, 'b', 'buy', 'post-only', 50, 10)), 'BOOK_FULL')
  assert.deepEqual(fillText(place(b, 6, 'b', 'buy', 'ioc', 105, 10)), ['1@105:10'])
  assert.equal(done(place(b, 7, 'b', 'buy', 'limit', 50, 10)).resting, 10n)
})

test('market: walks levels, cancels the unfilled rest; MARKET_NO_LIQUIDITY on an empty side', () => {
  const b = newBook()
  assert.equal(rejectCode(place(b, 1, 't', 'buy', 'market', undefined, 10)), 'MARKET_NO_LIQUIDITY')
  place(b, 2, 'm', 'sell', 'limit', 100, 10)
  place(b, 3, 'm', 'sell', 'limit', 1000, 10)
  const ev = place(b, 4, 't', 'buy', 'market', undefined, 30)
  assert.deepEqual(fillText(ev), ['2@100:10', '3@1000:10'])
  assert.deepEqual(ev.at(-2), { type: 'cancelled', orderId: 4n, size: 10n, reason: 'UNFILLED' })
  assert.deepEqual(done(ev), { filled: 20n, resting: 0n })
})

test('IOC with nothing crossing is accepted and cancelled whole', () => {
  const b = newBook()
  place(b, 1, 'm', 'sell', 'limit', 100, 10)
  const ev = place(b, 2, 't', 'buy', 'ioc', 95, 10)
  assert.deepEqual(
    ev.map((e) => e.type),
    ['accepted', 'cancelled', 'done'],
  )
})

test('post-only rests when it does not cross', () => {
  const b = newBook()
  place(b, 1, 'm', 'sell', 'limit', 100, 10)
  assert.deepEqual(done(place(b, 2, 't', 'buy', 'post-only', 95, 10)), { filled: 0n, resting: 10n })
})

test('FOK counts only what would trade: own orders stop it under cancel-newest, are skipped under cancel-oldest', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'me', 'sell', 'limit', 100, 5)
  place(b, 2, 'other', 'sell', 'limit', 100, 5)
  assert.equal(rejectCode(place(b, 3, 'me', 'buy', 'fok', 100, 5)), 'FOK_NOT_FILLABLE')
  assert.equal(rejectCode(place(b, 3, 'me', 'buy', 'fok', 100, 6, 'cancel-oldest')), 'FOK_NOT_FILLABLE')
  const ok = place(b, 3, 'me', 'buy', 'fok', 100, 5, 'cancel-oldest')
  assert.deepEqual(fillText(ok), ['2@100:5'])
  assert.equal(b.openOrders, 0)
})

test('STP decrement reduces both sides without a trade', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'me', 'sell', 'limit', 100, 5)
  place(b, 2, 'x', 'sell', 'limit', 100, 5)
  const ev = place(b, 3, 'me', 'buy', 'limit', 100, 7, 'decrement')
  assert.deepEqual(
    ev.filter((e) => e.type === 'cancelled'),
    [
      { type: 'cancelled', orderId: 1n, size: 5n, reason: 'STP' },
      { type: 'cancelled', orderId: 3n, size: 5n, reason: 'STP' },
    ],
  )
  assert.deepEqual(fillText(ev), ['2@100:2'])
  assert.deepEqual(done(ev), { filled: 2n, resting: 0n })
  assert.equal(b.order(2n)?.size, 3n)
})

test('cancel removes the order and an emptied level; others keep their place', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'a', 'buy', 'limit', 99, 1)
  place(b, 2, 'b', 'buy', 'limit', 99, 2)
  place(b, 3, 'c', 'buy', 'limit', 99, 3)
  place(b, 4, 'd', 'buy', 'limit', 98, 4)
  assert.deepEqual(b.execute({ kind: 'cancel', id: 2n, owner: 'b' }), [
    { type: 'cancelled', orderId: 2n, size: 2n, reason: 'USER' },
    { type: 'done', orderId: 2n, filled: 0n, resting: 0n },
  ])
  assert.deepEqual(
    b.snapshot().bids[0]!.orders.map((o) => o.id),
    [1n, 3n],
  )
  b.execute({ kind: 'cancel', id: 1n, owner: 'a' })
  b.execute({ kind: 'cancel', id: 3n, owner: 'c' })
  assert.equal(b.bestBid(), 98n)
  assert.deepEqual(depthText(b).bids, ['98:4'])
})

test('replace: a size decrease at the same price keeps priority; anything else goes to the back', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'a', 'sell', 'limit', 100, 10)
  place(b, 2, 'b', 'sell', 'limit', 100, 10)
  const keep = b.execute({ kind: 'replace', id: 1n, owner: 'a', price: 100n, size: 4n })
  assert.deepEqual(keep, [
    { type: 'accepted', orderId: 1n },
    { type: 'cancelled', orderId: 1n, size: 6n, reason: 'REDUCED' },
    { type: 'done', orderId: 1n, filled: 0n, resting: 4n },
  ])
  assert.deepEqual(
    b.snapshot().asks[0]!.orders.map((o) => o.id),
    [1n, 2n],
  )
  // increase: loses priority
  b.execute({ kind: 'replace', id: 1n, owner: 'a', price: 100n, size: 5n })
  assert.deepEqual(
    b.snapshot().asks[0]!.orders.map((o) => o.id),
    [2n, 1n],
  )
  // a price change that crosses trades as a taker, at the maker's price
  place(b, 3, 'c', 'buy', 'limit', 95, 3)
  const cross = b.execute({ kind: 'replace', id: 3n, owner: 'c', price: 100n, size: 12n })
  assert.deepEqual(fillText(cross), ['2@100:10', '1@100:2'])
  assert.deepEqual(done(cross), { filled: 12n, resting: 0n })
})

test('replace of a post-only order may not cross', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 1, 'a', 'sell', 'limit', 100, 10)
  place(b, 2, 'b', 'buy', 'post-only', 95, 10)
  assert.equal(
    rejectCode(b.execute({ kind: 'replace', id: 2n, owner: 'b', price: 100n, size: 10n })),
    'POST_ONLY_WOULD_CROSS',
  )
  assert.equal(b.order(2n)?.price, 95n)
})

test('bad market configs throw typed errors', () => {
  const bad = [
    { tickSize: 0n, lotSize: 1n },
    { tickSize: 1n, lotSize: -1n },
    { tickSize: 1n, lotSize: 1n, maxPrice: 2n ** 53n },
    { tickSize: 1n, lotSize: 1n, maxSize: 2n ** 40n },
    { tickSize: 1n, lotSize: 1n, maxOpenOrders: 0 },
  ]
  for (const c of bad) {
    assert.throws(
      () => new OrderBook(c),
      (e: unknown) => isPulseError(e) && e.code === 'EXCHANGE_BAD_CONFIG',
    )
  }
})

test('depth and snapshot are canonical and best-first', () => {
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  place(b, 3, 'z', 'buy', 'limit', 90, 1)
  place(b, 1, 'y', 'buy', 'limit', 91, 2)
  place(b, 2, 'x', 'sell', 'limit', 95, 3)
  assert.deepEqual(b.snapshot(), {
    bids: [
      { price: 91n, size: 2n, orders: [{ id: 1n, owner: 'y', size: 2n }] },
      { price: 90n, size: 1n, orders: [{ id: 3n, owner: 'z', size: 1n }] },
    ],
    asks: [{ price: 95n, size: 3n, orders: [{ id: 2n, owner: 'x', size: 3n }] }],
  })
  assert.deepEqual(b.depth(1), { bids: [{ price: 91n, size: 2n }], asks: [{ price: 95n, size: 3n }] })
  assert.deepEqual(b.order(2n), { id: 2n, owner: 'x', side: 'sell', price: 95n, size: 3n })
})

test('bounds: 2^53-1 is accepted for ids and prices, 2^53 and beyond are not, and huge negatives are not positive', () => {
  const top = 2n ** 53n - 1n
  const b = new OrderBook({ tickSize: 1n, lotSize: 1n })
  assert.equal(
    done(b.execute({ kind: 'place', id: top, owner: 'a', side: 'sell', type: 'limit', price: top, size: 1n }))
      .resting,
    1n,
  )
  assert.deepEqual(b.order(top), { id: top, owner: 'a', side: 'sell', price: top, size: 1n })
  const base = { kind: 'place', owner: 'a', side: 'buy', type: 'limit', size: 1n } as const
  assert.equal(rejectCode(b.execute({ ...base, id: top + 1n, price: 5n })), 'ORDER_ID_INVALID')
  assert.equal(rejectCode(b.execute({ ...base, id: 1n, price: top + 1n })), 'PRICE_TOO_HIGH')
  assert.equal(rejectCode(b.execute({ ...base, id: 1n, price: -(2n ** 80n) })), 'PRICE_NOT_POSITIVE')
  assert.equal(rejectCode(b.execute({ ...base, id: 1n, price: 5n, size: -(2n ** 80n) })), 'SIZE_NOT_POSITIVE')
  assert.equal(rejectCode(b.execute({ ...base, id: -(2n ** 80n), price: 5n })), 'ORDER_ID_INVALID')
})
