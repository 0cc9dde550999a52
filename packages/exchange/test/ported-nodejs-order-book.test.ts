/**
 * Scenario tests ported from nodejs-order-book by Andrea Fassina (fasenderos), MIT License,
 * https://github.com/fasenderos/nodejs-order-book — files test/orderbook.test.ts ("test limit",
 * "test limit FOK and IOC", "test market", "test modify", "test priceCalculation") and
 * test/stp.test.ts (Scenarios A–G, I–L). Only the scenarios (inputs and expected outcomes) are
 * ported; the assertions are restated in this engine's API. Name mapping:
 *   limit/market/IOC/FOK/postOnly  -> type limit/market/ioc/fok/post-only
 *   done[] (filled makers + taker)  -> fill events (+ the taker's done event)
 *   quantityLeft of a taker         -> cancelled{reason UNFILLED|STP} size
 *   ErrOrderExists / ErrInvalidQuantity / ErrLimitFOKNotFillable
 *                                   -> DUPLICATE_ORDER_ID / SIZE_NOT_POSITIVE / FOK_NOT_FILLABLE
 *   STP EXPIRE_TAKER / EXPIRE_MAKER / EXPIRE_BOTH / NONE
 *                                   -> cancel-newest / cancel-oldest / cancel-both / none
 * The upstream ids are strings ("sell-100"); here ids are integers, listed next to each scenario.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { OrderBook } from '../src/order-book.ts'
import type { EngineEvent } from '../src/types.ts'
import { depthText, done, fillText, fills, place, rejectCode } from './helpers.ts'

const market = (): OrderBook => new OrderBook({ tickSize: 1n, lotSize: 1n })

/** Upstream addDepth: buys at 50..90 (ids 1050..1090), sells at 100..140 (ids 2100..2140). */
function addDepth(book: OrderBook, prefix: number, qty: number, owner = 'mm'): void {
  for (let p = 50; p < 100; p += 10) place(book, prefix + 1000 + p, owner, 'buy', 'limit', p, qty)
  for (let p = 100; p < 150; p += 10) place(book, prefix + 2000 + p, owner, 'sell', 'limit', p, qty)
}

const cancelledSize = (events: EngineEvent[], reason: string): bigint =>
  events.reduce((s, e) => (e.type === 'cancelled' && e.reason === reason ? s + e.size : s), 0n)

describe('nodejs-order-book test/orderbook.test.ts', () => {
  test('addDepth / test limit place: five levels of 2 per side, best first', () => {
    const book = market()
    addDepth(book, 0, 2)
    assert.deepEqual(depthText(book), {
      bids: ['90:2', '80:2', '70:2', '60:2', '50:2'],
      asks: ['100:2', '110:2', '120:2', '130:2', '140:2'],
    })
    assert.equal(book.order(99n), undefined)
    assert.equal(book.order(2100n)?.size, 2n)
  })

  test('test limit', () => {
    const book = market()
    addDepth(book, 0, 2)
    // order-b100: buy 1 @100 fills against sell-100, which stays with 1
    const p1 = place(book, 1, 'taker', 'buy', 'limit', 100, 1)
    assert.deepEqual(fillText(p1), ['2100@100:1'])
    assert.deepEqual(done(p1), { filled: 1n, resting: 0n })
    assert.equal(book.order(2100n)?.size, 1n)
    // order-b150: buy 10 @150 takes all five ask levels (9), rests 1 at 150
    const p2 = place(book, 2, 'taker', 'buy', 'limit', 150, 10)
    assert.deepEqual(fillText(p2), ['2100@100:1', '2110@110:2', '2120@120:2', '2130@130:2', '2140@140:2'])
    assert.deepEqual(done(p2), { filled: 9n, resting: 1n })
    // id of a live order again -> ErrOrderExists
    assert.equal(rejectCode(place(book, 1070, 'x', 'sell', 'limit', 40, 11)), 'DUPLICATE_ORDER_ID')
    // size 0 -> ErrInvalidQuantity
    assert.equal(rejectCode(place(book, 3, 'x', 'sell', 'limit', 40, 0)), 'SIZE_NOT_POSITIVE')
    // cancelling the filled order-b100 finds nothing
    assert.equal(rejectCode(book.execute({ kind: 'cancel', id: 1n, owner: 'taker' })), 'UNKNOWN_ORDER')
    // order-s40: sell 11 @40 takes order-b150 (1) and all bids (10): six makers, nothing left
    const p6 = place(book, 4, 'x', 'sell', 'limit', 40, 11)
    assert.deepEqual(fillText(p6), [
      '2@150:1',
      '1090@90:2',
      '1080@80:2',
      '1070@70:2',
      '1060@60:2',
      '1050@50:2',
    ])
    assert.deepEqual(done(p6), { filled: 11n, resting: 0n })
    // missing price -> ErrInvalidPrice (here: a malformed command)
    assert.equal(rejectCode(place(book, 5, 'x', 'sell', 'limit', undefined, 10)), 'INVALID_COMMAND')
    assert.deepEqual(depthText(book), { bids: [], asks: [] })
  })

  test('test limit FOK and IOC', () => {
    const book = market()
    addDepth(book, 0, 2)
    assert.equal(rejectCode(place(book, 1, 't', 'buy', 'fok', 100, 3)), 'FOK_NOT_FILLABLE')
    assert.equal(rejectCode(place(book, 2, 't', 'sell', 'fok', 90, 3)), 'FOK_NOT_FILLABLE')
    assert.equal(rejectCode(place(book, 3, 't', 'buy', 'fok', 100, 30)), 'FOK_NOT_FILLABLE')
    assert.equal(rejectCode(place(book, 4, 't', 'sell', 'fok', 90, 30)), 'FOK_NOT_FILLABLE')
    // order-ioc-b100: 2 fill, 1 cancelled, never on the book
    const ioc1 = place(book, 5, 't', 'buy', 'ioc', 100, 3)
    assert.deepEqual(fillText(ioc1), ['2100@100:2'])
    assert.equal(cancelledSize(ioc1, 'UNFILLED'), 1n)
    assert.equal(book.order(5n), undefined)
    const ioc2 = place(book, 6, 't', 'sell', 'ioc', 90, 3)
    assert.deepEqual(fillText(ioc2), ['1090@90:2'])
    assert.equal(cancelledSize(ioc2, 'UNFILLED'), 1n)
    assert.equal(book.order(6n), undefined)
    // order-fok-b110: buy 2 up to 120 fills at 110
    const fokBuy = place(book, 7, 't', 'buy', 'fok', 120, 2)
    assert.deepEqual(fillText(fokBuy), ['2110@110:2'])
    assert.deepEqual(done(fokBuy), { filled: 2n, resting: 0n })
    // order-fok-sell-4-70: sell 4 down to 70 fills 80 and 70
    const fokSell = place(book, 8, 't', 'sell', 'fok', 70, 4)
    assert.deepEqual(fillText(fokSell), ['1080@80:2', '1070@70:2'])
    assert.deepEqual(done(fokSell), { filled: 4n, resting: 0n })
  })

  test('test market', () => {
    const book = market()
    addDepth(book, 0, 2)
    const m1 = place(book, 1, 't', 'buy', 'market', undefined, 3)
    assert.deepEqual(fillText(m1), ['2100@100:2', '2110@110:1'])
    assert.equal(cancelledSize(m1, 'UNFILLED'), 0n)
    assert.equal(book.order(2110n)?.size, 1n) // partialQuantityProcessed 1
    // sell 12 into 10 of bids: five makers, 2 left over
    const m2 = place(book, 2, 't', 'sell', 'market', undefined, 12)
    assert.equal(fills(m2).length, 5)
    assert.equal(cancelledSize(m2, 'UNFILLED'), 2n)
    assert.deepEqual(done(m2), { filled: 10n, resting: 0n })
    assert.equal(rejectCode(place(book, 3, 't', 'sell', 'market', undefined, 0)), 'SIZE_NOT_POSITIVE')
    // the bid side is now empty: upstream returns an error for a market sell, so do we
    assert.equal(rejectCode(place(book, 4, 't', 'sell', 'market', undefined, 5)), 'MARKET_NO_LIQUIDITY')
  })

  test('test modify', () => {
    const book = market()
    addDepth(book, 0, 2)
    place(book, 1, 'u', 'buy', 'limit', 52, 1000) // first-order
    place(book, 2, 'u', 'sell', 'limit', 200, 1000) // second-order
    const r1 = book.execute({ kind: 'replace', id: 1n, owner: 'u', price: 52n, size: 990n })
    assert.deepEqual(done(r1), { filled: 0n, resting: 990n })
    assert.equal(book.order(1n)?.size, 990n)
    const r3 = book.execute({ kind: 'replace', id: 2n, owner: 'u', price: 200n, size: 990n })
    assert.equal(done(r3).resting, 990n)
    const r4 = book.execute({ kind: 'replace', id: 2n, owner: 'u', price: 250n, size: 990n })
    assert.equal(done(r4).resting, 990n)
    assert.equal(book.order(2n)?.price, 250n)
    assert.equal(
      rejectCode(book.execute({ kind: 'replace', id: 77n, owner: 'u', price: 82n, size: 990n })),
      'UNKNOWN_ORDER',
    )
  })

  test('test priceCalculation: cost of 115 lots against three addDepth(10)', () => {
    // upstream calculateMarketPrice(BUY, 115) = 13150 and (SELL, 115) = 8700; here we execute
    // the market orders and add up price * size of the fills.
    for (const [side, expected] of [
      ['buy', 13150n],
      ['sell', 8700n],
    ] as const) {
      const book = market()
      addDepth(book, 5000, 10)
      addDepth(book, 10000, 10)
      addDepth(book, 15000, 10)
      const ev = place(book, 1, 't', side, 'market', undefined, 115)
      assert.equal(
        fills(ev).reduce((s, f) => s + f.price * f.size, 0n),
        expected,
      )
    }
    // and 200 lots exceed one side (150): upstream ErrInsufficientQuantity, here FOK rejects
    const book = market()
    addDepth(book, 5000, 10)
    addDepth(book, 10000, 10)
    addDepth(book, 15000, 10)
    assert.equal(rejectCode(place(book, 2, 't', 'buy', 'fok', 1_000_000, 200)), 'FOK_NOT_FILLABLE')
  })
})

describe('nodejs-order-book test/stp.test.ts', () => {
  test('A: EXPIRE_MAKER (cancel-oldest): makers expire, taker rests', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    place(book, 2, 'alice', 'buy', 'limit', 90, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 3, 'cancel-oldest')
    const expired = t
      .filter((e) => e.type === 'cancelled' && e.reason === 'STP')
      .map((e) => (e as { orderId: bigint }).orderId)
    assert.deepEqual(expired, [1n, 2n])
    assert.deepEqual(done(t), { filled: 0n, resting: 3n })
    assert.equal(book.order(1n), undefined)
    assert.equal(book.order(2n), undefined)
  })

  test('B: EXPIRE_TAKER (cancel-newest): taker expires, maker stays', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 3, 'cancel-newest')
    assert.equal(fills(t).length, 0)
    assert.deepEqual(
      t.filter((e) => e.type === 'cancelled'),
      [{ type: 'cancelled', orderId: 3n, size: 3n, reason: 'STP' }],
    )
    assert.equal(book.order(1n)?.size, 5n)
  })

  test('C: EXPIRE_BOTH (cancel-both)', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 3, 'cancel-both')
    assert.deepEqual(
      t.filter((e) => e.type === 'cancelled'),
      [
        { type: 'cancelled', orderId: 1n, size: 5n, reason: 'STP' },
        { type: 'cancelled', orderId: 3n, size: 3n, reason: 'STP' },
      ],
    )
    assert.equal(book.order(1n), undefined)
    assert.equal(book.openOrders, 0)
  })

  test("D: the taker's mode decides, not the maker's", () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5, 'cancel-oldest')
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 3, 'cancel-newest')
    assert.equal(cancelledSize(t, 'STP'), 3n)
    assert.equal(book.order(1n)?.size, 5n)
  })

  test('E: market order with EXPIRE_MAKER: maker expires, nothing left to fill', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'market', undefined, 3, 'cancel-oldest')
    assert.equal(cancelledSize(t, 'STP'), 5n) // the maker
    assert.equal(cancelledSize(t, 'UNFILLED'), 3n) // quantityLeft 3
    assert.equal(fills(t).length, 0)
  })

  test('F: market order with EXPIRE_TAKER', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'market', undefined, 3, 'cancel-newest')
    assert.deepEqual(
      t.filter((e) => e.type === 'cancelled'),
      [{ type: 'cancelled', orderId: 3n, size: 3n, reason: 'STP' }],
    )
    assert.equal(book.order(1n)?.size, 5n)
  })

  test('G: different owners match normally', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'bob', 'sell', 'limit', 90, 3, 'cancel-oldest')
    assert.deepEqual(fillText(t), ['1@100:3'])
    assert.equal(book.order(1n)?.size, 2n)
  })

  test('I: mixed owners at one level: own maker expires, the other fills, rest rests', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    place(book, 2, 'bob', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 8, 'cancel-oldest')
    assert.equal(cancelledSize(t, 'STP'), 5n)
    assert.deepEqual(fillText(t), ['2@100:5'])
    assert.deepEqual(done(t), { filled: 5n, resting: 3n })
    assert.equal(book.order(3n)?.size, 3n)
    assert.equal(book.order(1n), undefined)
  })

  test('J: own makers on several levels all expire', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 90, 5)
    place(book, 2, 'alice', 'buy', 'limit', 80, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 80, 3, 'cancel-oldest')
    assert.equal(t.filter((e) => e.type === 'cancelled' && e.reason === 'STP').length, 2)
    assert.deepEqual(done(t), { filled: 0n, resting: 3n })
  })

  test('K: market order with EXPIRE_BOTH', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'market', undefined, 3, 'cancel-both')
    assert.equal(cancelledSize(t, 'STP'), 8n)
    assert.equal(book.order(1n), undefined)
  })

  test('L: mode none allows the self-trade', () => {
    const book = market()
    place(book, 1, 'alice', 'buy', 'limit', 100, 5)
    const t = place(book, 3, 'alice', 'sell', 'limit', 90, 3, 'none')
    assert.deepEqual(fillText(t), ['1@100:3'])
  })
})
