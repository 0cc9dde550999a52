/**
 * Exchange read side: positions (open orders + locks per account), trades, candles, the
 * `exchange_book` event, and the oracle's validator set following staking at each height.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { toHex } from '@pulsemesh/core'
import { exchange, MemoryStore, stakingModule } from '../src/index.ts'
import { consAddress, putActiveSet } from '../src/modules/staking/state.ts'
import { alice, bob, carol, chain, codec, idOf, K, validator } from './exchange-fixture.ts'

type Positions = {
  owner: string
  orders: { id: string; market: string; side: string; locked: string; resting: string }[]
  locked: Record<string, string>
}

describe('exchange: positions', () => {
  test('open orders and their locks per account; fills and cancels remove them', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 5n, 10n)
    const r = c.block([
      c.place(alice, 'sell', 100n, 30n),
      c.place(alice, 'buy', 50n, 20n),
      c.place(bob, 'buy', 40n, 10n),
    ])
    assert.deepEqual(r.errors, ['', '', ''])
    const pa = c.q('positions', { owner: alice.address }) as Positions
    assert.equal(pa.owner, alice.address)
    assert.equal(pa.orders.length, 2)
    // sell 3 lots locks 30 gold; buy 2 lots at 50 locks 100 pulse
    assert.deepEqual(pa.locked, { gold: '30', pulse: '100' })
    assert.ok(pa.orders.every((o) => o.market === 'gold:pulse' && o.resting !== '0'))
    assert.deepEqual((c.q('positions', { owner: carol.address }) as Positions).orders, [])
    // bob takes alice's whole ask: her sell leaves her positions, his buy never rests
    assert.deepEqual(c.block([c.place(bob, 'buy', 100n, 30n, 'ioc')]).errors, [''])
    const pa2 = c.q('positions', { owner: alice.address }) as Positions
    assert.deepEqual(
      pa2.orders.map((o) => o.side),
      ['buy'],
    )
    assert.deepEqual(pa2.locked, { pulse: '100' })
    const bid = pa2.orders[0]!.id
    c.block([c.tx(alice, K.cancel, codec.cancel.encode({ orderId: BigInt(bid) }))])
    assert.deepEqual(c.q('positions', { owner: alice.address }), {
      owner: alice.address,
      orders: [],
      locked: {},
    })
  })

  test('bad owner is a typed error', () => {
    const c = chain()
    assert.throws(() => c.q('positions', { owner: 'pm1notanaddress' }), /INVALID_ADDRESS|invalid address/)
    assert.throws(() => c.q('positions', {}), /owner is required/)
  })
})

describe('exchange: trades, candles, book events', () => {
  test('trades newest first, candles per interval, one exchange_book event per touched market', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 5n, 10n)
    c.block([c.place(alice, 'sell', 100n, 20n), c.place(alice, 'sell', 105n, 20n)])
    const r1 = c.block([c.place(bob, 'buy', 100n, 10n, 'ioc')])
    const r2 = c.block([c.place(bob, 'buy', 105n, 30n, 'ioc')])
    for (const r of [r1, r2]) {
      const book = r.exec.endEvents.filter((e) => e.type === 'exchange_book')
      assert.equal(book.length, 1)
      assert.equal(book[0]!.attributes.find((a) => a.key === 'market')!.value, 'gold:pulse')
    }
    const last = r2.exec.endEvents.find((e) => e.type === 'exchange_book')!
    assert.equal(last.attributes.find((a) => a.key === 'asks')!.value, '')
    assert.equal(last.attributes.find((a) => a.key === 'last_price')!.value, '105')
    const t = c.q('trades', { market: 'gold:pulse' }) as {
      trades: { price: string; lots: string; takerSide: string; venue: string; quote: string }[]
    }
    assert.deepEqual(
      t.trades.map((x) => [x.price, x.lots, x.takerSide, x.venue, x.quote]),
      [
        ['105', '2', 'buy', 'book', '210'],
        ['100', '1', 'buy', 'book', '100'],
        ['100', '1', 'buy', 'book', '100'],
      ],
    )
    assert.equal(
      (c.q('trades', { market: 'gold:pulse', limit: '1' }) as { trades: unknown[] }).trades.length,
      1,
    )
    // block times are 1 s apart in the fixture: both fills fall in one 1m candle
    const cd = c.q('candles', { market: 'gold:pulse', interval: '1m' }) as {
      candles: {
        open: string
        high: string
        low: string
        close: string
        volumeLots: string
        trades: number
      }[]
    }
    assert.deepEqual(cd.candles.length, 1)
    assert.deepEqual(cd.candles[0], {
      ...cd.candles[0],
      open: '100',
      high: '105',
      low: '100',
      close: '105',
      volumeLots: '4',
      trades: 3,
    })
    assert.equal(
      (c.q('candles', { market: 'gold:pulse', interval: '1d' }) as { candles: unknown[] }).candles.length,
      1,
    )
  })

  test('unknown market, bad interval, bad limit: typed errors', () => {
    const c = chain()
    c.createMarket()
    assert.throws(() => c.q('trades', { market: 'nope:pulse' }), /unknown market/)
    assert.throws(() => c.q('candles', { market: 'nope:pulse' }), /unknown market/)
    assert.throws(() => c.q('candles', { market: 'gold:pulse', interval: '7m' }), /interval must be/)
    assert.throws(() => c.q('trades', { market: 'gold:pulse', limit: '-1' }), /limit must be/)
    assert.throws(() => c.q('book', { market: 'nope:pulse' }), /unknown market/)
    assert.deepEqual(c.q('trades', { market: 'gold:pulse' }), { market: 'gold:pulse', trades: [] })
  })
})

describe('exchange: oracle set follows staking', () => {
  test('the active set at the height decides who reports and with what weight', () => {
    const c = chain([alice, bob, carol], 1_000_000_000n, exchange.exchangeModule, [stakingModule])
    const submit = (k: typeof alice, price: bigint) =>
      c.tx(k, K.oracleSubmit, codec.oracleSubmit.encode({ symbol: 'gold:pulse', price }))
    const v0 = c.q('oracleValidators') as { address: string; power: string }[]
    assert.deepEqual(
      v0.map((v) => [v.address, v.power]),
      [[validator.address, '10']],
    )
    assert.deepEqual(c.block([submit(validator, 1000n), submit(bob, 1n)]).errors, [
      '',
      'NOT_ORACLE_VALIDATOR',
    ])
    assert.equal((c.q('price', { symbol: 'gold:pulse' }) as { price: string }).price, '1000')
    // the set changes (as staking's end block would write it): bob's key in, the validator out
    putActiveSet(c.store, new Map([[toHex(bob.publicKey.bytes), 7n]]))
    const v1 = c.q('oracleValidators') as { address: string; power: string }[]
    assert.deepEqual(
      v1.map((v) => [v.address, v.power]),
      [[bob.address, '7']],
    )
    assert.equal(toHex(consAddress(bob.publicKey.bytes)), toHex(idOf(bob)))
    const r = c.block([submit(validator, 1100n), submit(bob, 1100n)])
    assert.deepEqual(r.errors, ['NOT_ORACLE_VALIDATOR', ''])
    assert.equal((c.q('price', { symbol: 'gold:pulse' }) as { price: string }).price, '1100')
  })
})

describe('exchange: SSZ records', () => {
  test('every record decodes only from its one canonical encoding; corruption is a typed error', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 5n, 10n)
    const r = c.block([c.place(alice, 'sell', 100n, 30n)])
    const id = exchange.orderIdOf(toHex(r.exec.included[0]!.hash))
    const k = exchange.KEYS.order(id)
    const good = c.store.get(k)!
    assert.deepEqual(exchange.OrderRecordSSZ.serialize(exchange.OrderRecordSSZ.deserialize(good)), good)
    const badOffset = good.slice()
    badOffset[0] ^= 0xff // the offset of the variable-size market id
    c.store.set(k, badOffset)
    assert.throws(
      () => exchange.getOrder(c.store, id),
      (e: { code?: string }) => e.code === 'DECODE_ERROR' || e.code === 'DECODE_NON_CANONICAL',
    )
    c.store.set(k, good.subarray(0, 10))
    assert.throws(
      () => exchange.getOrder(c.store, id),
      (e: { code?: string }) => e.code?.startsWith('DECODE_') === true,
    )
    c.store.set(k, good)
    const book = c.store.get(exchange.KEYS.book('gold:pulse'))!
    const big = new Uint8Array(exchange.BookSSZ.maxSize + 1)
    assert.throws(
      () => exchange.decodeRecord(exchange.BookSSZ, big, 'book'),
      (e: { code?: string }) => e.code === 'DECODE_TOO_LARGE',
    )
    assert.deepEqual(exchange.BookSSZ.serialize(exchange.decodeRecord(exchange.BookSSZ, book, 'book')), book)
  })
})

describe('exchange: hand-written record codecs', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
  const ascii = (max: number) =>
    fc.uint8Array({ minLength: 0, maxLength: max }).map((b) => b.map((x) => x & 0x7f))
  test('produce exactly the SSZ schema bytes and decode them back', () => {
    fc.assert(
      fc.property(
        fc.record({
          market: ascii(129),
          owner: bytes(20),
          side: fc.integer({ min: 0, max: 1 }),
          type: fc.integer({ min: 0, max: 4 }),
          price: u64,
          lots: u64,
          stp: fc.integer({ min: 0, max: 4 }),
          locked: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
          pending: fc.integer({ min: 0, max: 1 }),
          txHash: bytes(32),
        }),
        fc.record({
          op: fc.integer({ min: 0, max: 2 }),
          market: ascii(129),
          id: u64,
          txHash: bytes(32),
          owner: bytes(20),
          price: u64,
          lots: u64,
          extra: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
          asset: ascii(64),
        }),
        fc.array(
          fc.record({ id: u64, owner: bytes(20), price: u64, lots: u64 }).map((e) => ({ ...e })),
          { maxLength: 20 },
        ),
        fc.nat(20),
        (o0, p0, entries, cut) => {
          const o = { ...o0 }
          const p = { ...p0 }
          const ob = exchange.encodeOrderRecord(o)
          assert.deepEqual(ob, exchange.OrderRecordSSZ.serialize(o))
          assert.deepEqual(exchange.decodeOrderRecord(ob), o)
          const pb = exchange.encodePending(p)
          assert.deepEqual(pb, exchange.PendingSSZ.serialize(p))
          assert.deepEqual(exchange.decodePendingEntry(pb), p)
          const book = { bids: entries.slice(0, cut), asks: entries.slice(cut) }
          const bb = exchange.encodeBook(book)
          assert.deepEqual(bb, exchange.BookSSZ.serialize(book))
          assert.deepEqual(exchange.decodeBook(bb), book)
          const top = { bestBid: o.price, bestAsk: o.lots, lastPrice: p.id }
          assert.deepEqual(exchange.encodeTop(top), exchange.TopSSZ.serialize(top))
          assert.deepEqual(exchange.decodeTop(exchange.encodeTop(top)), top)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('malformed bytes are typed decode errors', () => {
    const isDecode = (e: { code?: string }) => e.code?.startsWith('DECODE_') === true
    const o = exchange.encodeOrderRecord({
      market: new Uint8Array([103]),
      owner: new Uint8Array(20),
      side: 0,
      type: 0,
      price: 1n,
      lots: 1n,
      stp: 0,
      locked: 1n,
      pending: 0,
      txHash: new Uint8Array(32),
    })
    assert.throws(() => exchange.decodeOrderRecord(o.subarray(0, 50)), isDecode)
    assert.throws(() => exchange.decodeOrderRecord(new Uint8Array(400)), isDecode)
    const badEnum = o.slice()
    badEnum[24] = 2 // side
    assert.throws(() => exchange.decodeOrderRecord(badEnum), isDecode)
    assert.throws(() => exchange.decodeTop(new Uint8Array(23)), isDecode)
    const book = exchange.encodeBook({ bids: [], asks: [] })
    assert.throws(() => exchange.decodeBook(new Uint8Array([...book, 1])), isDecode)
    const badOffset = book.slice()
    badOffset[0] = 9
    assert.throws(() => exchange.decodeBook(badOffset), isDecode)
    assert.throws(() => exchange.decodePendingEntry(new Uint8Array(101)), isDecode)
  })
})

describe('exchange: per-account order index', () => {
  test('at most MAX_OPEN_ORDERS_PER_ACCOUNT live orders; the index stays sorted', () => {
    const store = new MemoryStore()
    const owner = 'ab'.repeat(20)
    const n = exchange.MAX_OPEN_ORDERS_PER_ACCOUNT
    for (let i = n; i >= 1; i--) exchange.addOwnerOrder(store, owner, BigInt(i * 7))
    const ids = exchange.listOwnerOrders(store, owner)
    assert.equal(ids.length, n)
    assert.ok(ids.every((id, i) => i === 0 || ids[i - 1]! < id))
    assert.throws(
      () => exchange.addOwnerOrder(store, owner, 1n),
      (e: { code?: string }) => e.code === 'TOO_MANY_OPEN_ORDERS',
    )
  })
})
