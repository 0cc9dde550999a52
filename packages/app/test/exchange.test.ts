import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sha256, toHex, utf8 } from '@pulsemesh/core'
import { exchange } from '../src/index.ts'
import {
  alice,
  bob,
  type Chain,
  carol,
  chain,
  codec,
  idOf,
  K,
  lockedByAsset,
  totalsByAsset,
  validator,
} from './exchange-fixture.ts'

const ESCROW = exchange.ESCROW

/** Exchange state + non-fee balances, to show a failed tx changed nothing but its fee/nonce. */
function exchangeState(c: Chain): string {
  const rows: string[] = []
  for (const [k, v] of c.store.map) {
    const isExchange = k.charCodeAt(0) === 0x06
    const isGold = k.charCodeAt(0) === 0x01 && k.charCodeAt(1) === 0x01 && k.endsWith('gold')
    if (isExchange || isGold) rows.push(`${toHex(utf8(k))}=${toHex(v)}`)
  }
  return rows.sort().join('\n')
}

function escrowMatchesLocks(c: Chain) {
  const locked = lockedByAsset(c.store)
  for (const asset of ['gold', 'pulse']) assert.equal(c.bal(ESCROW, asset), locked.get(asset) ?? 0n, asset)
}

describe('exchange: markets', () => {
  test('create, list, errors', () => {
    const c = chain()
    assert.deepEqual(c.createMarket().errors, [''])
    const again = c.createMarket()
    assert.deepEqual(again.errors, ['MARKET_EXISTS'])
    const bad = c.block([
      c.tx(
        alice,
        K.createMarket,
        codec.createMarket.encode({
          base: 'nope',
          quote: 'pulse',
          tickSize: 1n,
          lotSize: 1n,
          mode: 'continuous',
          maxPrice: 0n,
          maxLots: 0n,
        }),
      ),
      c.tx(
        alice,
        K.createMarket,
        codec.createMarket.encode({
          base: 'gold',
          quote: 'gold',
          tickSize: 1n,
          lotSize: 1n,
          mode: 'continuous',
          maxPrice: 0n,
          maxLots: 0n,
        }),
      ),
      c.tx(
        alice,
        K.createMarket,
        codec.createMarket.encode({
          base: 'pulse',
          quote: 'gold',
          tickSize: 0n,
          lotSize: 1n,
          mode: 'continuous',
          maxPrice: 0n,
          maxLots: 0n,
        }),
      ),
    ])
    assert.deepEqual(bad.errors, ['UNKNOWN_ASSET', 'INVALID_MARKET', 'INVALID_MARKET'])
    const list = c.q('markets') as { id: string; mode: string }[]
    assert.deepEqual(
      list.map((m) => [m.id, m.mode]),
      [['gold:pulse', 'continuous']],
    )
  })
})

describe('exchange: continuous book', () => {
  test('limit orders match at the maker price, funds settle, taker refunded the improvement', () => {
    const c = chain()
    c.createMarket()
    const a0 = c.bal(alice, 'pulse')
    const b0 = c.bal(bob, 'pulse')
    // alice sells 10 lots (100 gold) at 100 pulse per lot
    const r1 = c.block([c.place(alice, 'sell', 100n, 100n)])
    assert.deepEqual(r1.errors, [''])
    assert.equal(c.bal(ESCROW, 'gold'), 100n)
    // bob buys 4 lots at 105: fills at 100
    const r2 = c.block([c.place(bob, 'buy', 105n, 40n)])
    assert.deepEqual(r2.errors, [''])
    assert.equal(c.bal(bob, 'gold'), 1_000_000_000n + 40n)
    assert.equal(c.bal(bob, 'pulse'), b0 - 400n - 10n) // 4 lots × 100, fee 10
    assert.equal(c.bal(alice, 'pulse'), a0 + 400n - 10n) // a0 was read after the market tx's fee
    assert.equal(c.bal(ESCROW, 'pulse'), 0n) // bob's improvement (4 × 5) refunded
    assert.equal(c.bal(ESCROW, 'gold'), 60n)
    const book = c.q('book', { market: 'gold:pulse' }) as { asks: { price: string; lots: string }[] }
    assert.deepEqual(book.asks, [{ price: '100', lots: '6' }])
    const market = c.q('market', { market: 'gold:pulse' }) as { lastPrice: string; bestAsk: string }
    assert.equal(market.lastPrice, '100')
    assert.equal(market.bestAsk, '100')
    escrowMatchesLocks(c)
  })

  test('bad input: reason codes and no state change', () => {
    const c = chain()
    c.createMarket()
    c.block([c.place(alice, 'sell', 100n, 100n)])
    const aliceOrder = exchange.orderIdOf(
      c.block([c.place(alice, 'sell', 110n, 10n)]).exec.included[0]!.hashHex,
    )
    const before = exchangeState(c)
    const cases: [string, ReturnType<Chain['tx']>][] = [
      ['PRICE_NOT_POSITIVE', c.place(bob, 'buy', 0n, 10n)],
      ['PRICE_OFF_TICK', c.place(bob, 'buy', 101n, 10n)],
      ['SIZE_NOT_POSITIVE', c.place(bob, 'buy', 100n, 0n)],
      ['SIZE_OFF_LOT', c.place(bob, 'buy', 100n, 15n)],
      ['INSUFFICIENT_FUNDS', c.place(bob, 'sell', 100n, 10_000_000_000n)],
      ['UNKNOWN_MARKET', c.place(bob, 'buy', 100n, 10n, 'limit', 'pulse:gold')],
      ['POST_ONLY_WOULD_CROSS', c.place(bob, 'buy', 100n, 10n, 'post-only')],
      ['MARKET_BUY_NEEDS_PRICE_LIMIT', c.place(bob, 'buy', 0n, 10n, 'market')],
      ['NOT_ORDER_OWNER', c.tx(bob, K.cancel, codec.cancel.encode({ orderId: aliceOrder }))],
      ['UNKNOWN_ORDER', c.tx(bob, K.cancel, codec.cancel.encode({ orderId: 12345n }))],
      [
        'NOT_ORDER_OWNER',
        c.tx(bob, K.replace, codec.replace.encode({ orderId: aliceOrder, price: 100n, size: 10n })),
      ],
    ]
    for (const [code, tx] of cases) {
      const r = c.block([tx])
      assert.deepEqual(r.errors, [code], code)
      assert.equal(exchangeState(c), before, `${code} changed state`)
    }
  })

  test('cancel releases the lock; replace re-prices and locks the difference', () => {
    const c = chain()
    c.createMarket()
    const b0 = c.bal(bob, 'pulse')
    const placed = c.block([c.place(bob, 'buy', 100n, 50n)])
    const id = exchange.orderIdOf(placed.exec.included[0]!.hashHex)
    assert.equal(c.bal(ESCROW, 'pulse'), 500n)
    // replace to 5 lots at 120: 600 locked, 500 released
    assert.deepEqual(
      c.block([c.tx(bob, K.replace, codec.replace.encode({ orderId: id, price: 120n, size: 50n }))]).errors,
      [''],
    )
    assert.equal(c.bal(ESCROW, 'pulse'), 600n)
    escrowMatchesLocks(c)
    const o = c.q('order', { id: id.toString() }) as { price: string; resting: string }
    assert.equal(o.price, '120')
    assert.equal(o.resting, '5')
    // reduce in place (same price, smaller): keeps priority, releases 2 lots
    c.block([c.tx(bob, K.replace, codec.replace.encode({ orderId: id, price: 120n, size: 30n }))])
    assert.equal(c.bal(ESCROW, 'pulse'), 360n)
    assert.deepEqual(c.block([c.tx(bob, K.cancel, codec.cancel.encode({ orderId: id }))]).errors, [''])
    assert.equal(c.bal(ESCROW, 'pulse'), 0n)
    assert.equal(c.bal(bob, 'pulse'), b0 - 40n) // only the four fees
    assert.throws(() => c.q('order', { id: id.toString() }), { code: 'UNKNOWN_ORDER' })
  })

  test('IOC, FOK, market and self-trade prevention', () => {
    const c = chain()
    c.createMarket()
    c.block([c.place(alice, 'sell', 100n, 30n), c.place(alice, 'sell', 110n, 30n)])
    // FOK for 7 lots cannot fill (6 available): rejected at the batch, lock refunded
    const p0 = c.bal(bob, 'pulse')
    const fok = c.block([c.place(bob, 'buy', 110n, 70n, 'fok')])
    assert.equal(
      fok.exec.endEvents.find((e) => e.type === 'exchange_order_rejected')?.attributes[2]?.value,
      'FOK_NOT_FILLABLE',
    )
    assert.equal(c.bal(bob, 'pulse'), p0 - 10n)
    // IOC at 100 for 5 lots: takes 3, rest cancelled
    c.block([c.place(bob, 'buy', 100n, 50n, 'ioc')])
    assert.equal(c.bal(bob, 'gold'), 1_000_000_000n + 30n)
    assert.equal(c.bal(ESCROW, 'pulse'), 0n)
    // self-trade: alice buying into her own ask is cancelled (cancel-newest), nothing trades
    const g0 = c.bal(alice, 'gold')
    c.block([c.place(alice, 'buy', 110n, 10n)])
    assert.equal(c.bal(alice, 'gold'), g0)
    assert.equal(c.bal(ESCROW, 'pulse'), 0n)
    // market buy with a worst price of 110: takes the 110 level
    c.block([c.place(carol, 'buy', 110n, 20n, 'market')])
    assert.equal(c.bal(carol, 'gold'), 1_000_000_000n + 20n)
    escrowMatchesLocks(c)
  })

  test('the book survives a cache loss: rebuilt from state, same results', () => {
    const run = (dropCache: boolean) => {
      const c = chain()
      c.createMarket()
      const out: string[] = []
      const blocks = [
        [c.place(alice, 'sell', 100n, 30n), c.place(carol, 'sell', 105n, 20n, 'post-only')],
        [c.place(bob, 'buy', 95n, 20n), c.place(alice, 'sell', 100n, 10n)],
        [c.place(bob, 'buy', 105n, 50n), c.place(carol, 'buy', 90n, 10n)],
      ]
      for (const txs of blocks) {
        if (dropCache) exchange.clearBookCache()
        out.push(JSON.stringify(c.block(txs).writes.map(([k, v]) => [toHex(utf8(k)), v && toHex(v)])))
      }
      return out
    }
    assert.deepEqual(run(true), run(false))
  })
})

describe('exchange: large books', () => {
  test('a book over the 64 KiB state value limit is stored in pieces and rebuilt exactly', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 1n, 1n)
    // 1500 resting orders x 44 bytes of SSZ each: over the 60 KB piece size
    const txs = Array.from({ length: 1500 }, (_, i) => c.place(alice, 'sell', BigInt(1000 + (i % 400)), 1n))
    assert.ok(c.block(txs).errors.every((e) => e === ''))
    const raw = c.store.get(exchange.KEYS.book('gold:pulse'))!
    assert.equal(raw[0], 0) // a piece header
    assert.equal(raw.length, 5)
    const depth = () => JSON.stringify(c.q('book', { market: 'gold:pulse', levels: '1000' }))
    const before = depth()
    exchange.clearBookCache()
    assert.equal(depth(), before)
    // a taker sweeps the first levels; then the book shrinks back into one value
    assert.deepEqual(c.block([c.place(bob, 'buy', 1399n, 1500n, 'ioc')]).errors, [''])
    assert.equal(c.store.get(exchange.KEYS.book('gold:pulse')), undefined)
    assert.equal([...c.store.map.keys()].filter((k) => k.startsWith(String.fromCharCode(6, 2))).length, 0)
    escrowMatchesLocks(c)
  })
})

describe('exchange: batch ordering (MEV)', () => {
  for (const mode of ['continuous', 'auction'] as const) {
    test(`${mode}: a proposer reordering the txs of a block cannot change the result`, () => {
      const build = () => {
        const c = chain()
        c.createMarket('gold', 'pulse', mode)
        c.block([c.place(alice, 'sell', 100n, 50n), c.place(alice, 'sell', 105n, 50n)])
        return c
      }
      const a = build()
      const b = build()
      const txs = (c: Chain) => [
        c.place(bob, 'buy', 105n, 60n),
        c.place(carol, 'buy', 110n, 30n),
        c.place(validator, 'buy', 100n, 20n),
      ]
      const ta = txs(a)
      const tb = txs(b)
      assert.deepEqual(
        ta.map((t) => t.hashHex),
        tb.map((t) => t.hashHex),
      )
      const ra = a.block(ta)
      const rb = b.block([tb[2]!, tb[0]!, tb[1]!])
      assert.deepEqual(ra.writes, rb.writes)
      assert.ok(ra.exec.endEvents.some((e) => e.type === 'exchange_fill'))
    })
  }

  test('auction: every fill of a batch is at one clearing price', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'auction')
    c.block([c.place(alice, 'sell', 100n, 30n), c.place(carol, 'sell', 95n, 30n)])
    const r = c.block([c.place(bob, 'buy', 110n, 40n), c.place(validator, 'buy', 105n, 20n)])
    const fills = r.exec.endEvents.filter((e) => e.type === 'exchange_fill')
    assert.ok(fills.length >= 2)
    const prices = new Set(fills.map((f) => f.attributes.find((a) => a.key === 'price')!.value))
    assert.equal(prices.size, 1)
    escrowMatchesLocks(c)
    const m = c.q('market', { market: 'gold:pulse' }) as { bestBid: string | null; bestAsk: string | null }
    if (m.bestBid !== null && m.bestAsk !== null) assert.ok(BigInt(m.bestBid) < BigInt(m.bestAsk))
  })

  test('auction: FOK and post-only are refused', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'auction')
    assert.deepEqual(c.block([c.place(bob, 'buy', 100n, 10n, 'fok')]).errors, ['ORDER_TYPE_UNSUPPORTED'])
  })
})

describe('exchange: AMM pools and routing', () => {
  test('create, add, swap, remove; LP shares are a bank asset', () => {
    const c = chain()
    c.createMarket()
    const create = c.block([
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 30, base: 100_000n, quote: 1_000_000n }),
      ),
    ])
    assert.deepEqual(create.errors, [''])
    const pool = c.q('pool', { market: 'gold:pulse' }) as { lpAsset: string; totalShares: string }
    assert.equal(pool.lpAsset, 'lp/gold.pulse.30')
    const shares = c.bal(alice, 'lp/gold.pulse.30')
    assert.equal(shares + 1000n, BigInt(pool.totalShares))
    const acct = exchange.poolAccount('gold:pulse@30')
    assert.equal(c.bal(acct, 'gold'), 100_000n)
    const swap = c.block([
      c.tx(
        bob,
        K.poolSwap,
        codec.poolSwap.encode({
          market: 'gold:pulse',
          direction: 'buy-base',
          amountIn: 10_000n,
          minOut: 900n,
        }),
      ),
      c.tx(
        bob,
        K.poolSwap,
        codec.poolSwap.encode({
          market: 'gold:pulse',
          direction: 'buy-base',
          amountIn: 10_000n,
          minOut: 10_000n,
        }),
      ),
      c.tx(
        bob,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 30, base: 1000n, quote: 1000n }),
      ),
      c.tx(
        bob,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 7, base: 1000n, quote: 1000n }),
      ),
    ])
    assert.deepEqual(swap.errors, ['', 'AMM_SLIPPAGE', 'POOL_EXISTS', 'POOL_ERROR'])
    const rm = c.block([
      c.tx(
        alice,
        K.poolRemove,
        codec.poolRemove.encode({ market: 'gold:pulse', shares, minBase: 0n, minQuote: 0n }),
      ),
    ])
    assert.deepEqual(rm.errors, [''])
    assert.equal(c.bal(alice, 'lp/gold.pulse.30'), 0n)
    assert.equal(exchange.getPool(c.store, 'gold:pulse')!.totalShares, 1000n)
  })

  test('a market order is split between book and pool for the better price', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 1n, 10n)
    // pool price ~100 per lot (10 gold = 100 pulse); book ask at 101 for 5 lots
    c.block([
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 5, base: 100_000n, quote: 1_000_000n }),
      ),
      c.place(carol, 'sell', 101n, 50n),
    ])
    const g0 = c.bal(bob, 'gold')
    const r = c.block([c.place(bob, 'buy', 120n, 200n, 'market')])
    assert.deepEqual(r.errors, [''])
    assert.equal(c.bal(bob, 'gold'), g0 + 200n)
    const types = r.exec.endEvents.map((e) => e.type)
    assert.ok(types.includes('exchange_pool_fill'))
    assert.ok(types.includes('exchange_fill'))
    escrowMatchesLocks(c)
    const totals = totalsByAsset(c.store)
    assert.equal(
      totals.get('gold'),
      c.bal(alice, 'gold') +
        c.bal(bob, 'gold') +
        c.bal(carol, 'gold') +
        c.bal(validator, 'gold') +
        c.bal(ESCROW, 'gold') +
        c.bal(exchange.poolAccount('gold:pulse@5'), 'gold'),
    )
  })

  test('fee tiers: several pools per pair; the router takes the one that fills cheapest', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 1n, 10n)
    const create = (feeBps: number, quote: bigint) =>
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps, base: 100_000n, quote }),
      )
    // the 5 bps pool is dearer (12 pulse per gold) than the 100 bps pool (10 pulse per gold)
    assert.deepEqual(c.block([create(5, 1_200_000n), create(100, 1_000_000n), create(5, 1_000n)]).errors, [
      '',
      '',
      'POOL_EXISTS',
    ])
    const pools = c.q('pools', { market: 'gold:pulse' }) as { pools: { id: string; lpAsset: string }[] }
    assert.deepEqual(
      pools.pools.map((p) => [p.id, p.lpAsset]),
      [
        ['gold:pulse@5', 'lp/gold.pulse.5'],
        ['gold:pulse@100', 'lp/gold.pulse.100'],
      ],
    )
    assert.equal(
      (c.q('market', { market: 'gold:pulse' }) as { poolFeeTiers: string[] }).poolFeeTiers.join(),
      '5,100',
    )
    assert.throws(() => c.q('pool', { market: 'gold:pulse' }), /POOL_AMBIGUOUS|pools at 5, 100/)
    const swapBare = c.block([
      c.tx(
        bob,
        K.poolSwap,
        codec.poolSwap.encode({ market: 'gold:pulse', direction: 'buy-base', amountIn: 1000n, minOut: 1n }),
      ),
    ])
    assert.deepEqual(swapBare.errors, ['POOL_AMBIGUOUS'])
    const before5 = exchange.getPool(c.store, 'gold:pulse@5')!
    const g0 = c.bal(bob, 'gold')
    const r = c.block([c.place(bob, 'buy', 200n, 100n, 'market')])
    assert.deepEqual(r.errors, [''])
    assert.equal(c.bal(bob, 'gold'), g0 + 100n)
    const fill = r.exec.endEvents.find((e) => e.type === 'exchange_pool_fill')!
    assert.equal(fill.attributes.find((a) => a.key === 'pool')!.value, 'gold:pulse@100')
    assert.deepEqual(exchange.getPool(c.store, 'gold:pulse@5'), before5)
    assert.equal(exchange.getPool(c.store, 'gold:pulse@100')!.reserveBase, 100_000n - 100n)
    assert.equal(c.bal(exchange.poolAccount('gold:pulse@100'), 'gold'), 100_000n - 100n)
    // a named tier can be traded directly
    assert.deepEqual(
      c.block([
        c.tx(
          bob,
          K.poolSwap,
          codec.poolSwap.encode({
            market: 'gold:pulse@5',
            direction: 'buy-base',
            amountIn: 1200n,
            minOut: 1n,
          }),
        ),
      ]).errors,
      [''],
    )
    escrowMatchesLocks(c)
  })
})

describe('exchange: routing across fee tiers', () => {
  test('a large market order is split over both pools at one marginal price', () => {
    const c = chain()
    c.createMarket('gold', 'pulse', 'continuous', 1n, 10n)
    const create = (feeBps: number) =>
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps, base: 100_000n, quote: 1_000_000n }),
      )
    assert.deepEqual(c.block([create(5), create(30)]).errors, ['', ''])
    const r = c.block([c.place(bob, 'buy', 1000n, 20_000n, 'market')])
    assert.deepEqual(r.errors, [''])
    const legs = r.exec.endEvents
      .filter((e) => e.type === 'exchange_pool_fill')
      .map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])))
    assert.deepEqual(legs.map((l) => l.pool).sort(), ['gold:pulse@30', 'gold:pulse@5'])
    const lots = (id: string) => BigInt(legs.find((l) => l.pool === id)!.lots!)
    assert.equal(lots('gold:pulse@5') + lots('gold:pulse@30'), 2_000n)
    assert.ok(lots('gold:pulse@5') > lots('gold:pulse@30'), 'the cheaper tier takes more')
    for (const id of ['gold:pulse@5', 'gold:pulse@30']) {
      const p = exchange.getPool(c.store, id)!
      assert.equal(c.bal(exchange.poolAccount(id), 'gold'), p.reserveBase)
    }
    escrowMatchesLocks(c)
  })
})

describe('exchange: oracle', () => {
  test('validators submit, the block aggregates; others are refused', () => {
    const c = chain()
    const r = c.block([
      c.tx(validator, K.oracleSubmit, codec.oracleSubmit.encode({ symbol: 'gold:pulse', price: 1234n })),
      c.tx(bob, K.oracleSubmit, codec.oracleSubmit.encode({ symbol: 'gold:pulse', price: 1n })),
    ])
    assert.deepEqual(r.errors, ['', 'NOT_ORACLE_VALIDATOR'])
    const p = c.q('price', { symbol: 'gold:pulse' }) as { price: string; height: string }
    assert.equal(p.price, '1234')
    // a jump beyond the deviation guard keeps the old price
    const jump = c.block([
      c.tx(validator, K.oracleSubmit, codec.oracleSubmit.encode({ symbol: 'gold:pulse', price: 9999n })),
    ])
    assert.equal(
      jump.exec.endEvents.find((e) => e.type === 'oracle_refused')?.attributes[1]?.value,
      'ORACLE_DEVIATION_TOO_LARGE',
    )
    assert.equal((c.q('price', { symbol: 'gold:pulse' }) as { price: string }).price, '1234')
    const vals = c.q('oracleValidators') as { address: string }[]
    assert.equal(vals.length, 1)
  })

  test('swapped validator source: quorum over 2/3 of the power, stale reports stop counting', () => {
    const src: exchange.OracleValidatorSource = () => [
      { account: toHex(idOf(bob)), power: 1n },
      { account: toHex(idOf(carol)), power: 1n },
    ]
    const c = chain(undefined, undefined, exchange.createExchangeModule({ oracleValidators: src }))
    const submit = (k: typeof bob, price: bigint) =>
      c.tx(k, K.oracleSubmit, codec.oracleSubmit.encode({ symbol: 'gold:pulse', price }))
    const refused = (r: ReturnType<Chain['block']>) =>
      r.exec.endEvents.find((e) => e.type === 'oracle_refused')?.attributes[1]?.value
    // the genesis validator is not in the swapped set
    assert.deepEqual(c.block([submit(validator, 100n)]).errors, ['NOT_ORACLE_VALIDATOR'])
    assert.equal(refused(c.block([submit(bob, 100n)])), 'ORACLE_NO_QUORUM') // half the power
    c.block([submit(carol, 102n)])
    assert.equal((c.q('price', { symbol: 'gold:pulse' }) as { price: string }).price, '100') // lower median
    for (let i = 0; i < 61; i++) c.block() // blocks are 1 s apart: bob's report goes stale
    assert.equal(refused(c.block([submit(carol, 104n)])), 'ORACLE_NO_QUORUM')
    assert.equal((c.q('price', { symbol: 'gold:pulse' }) as { price: string }).price, '100')
  })
})

describe('exchange: HTLC swaps', () => {
  const secret = utf8('the secret preimage')
  const lock = (c: Chain, timeout: bigint) =>
    c.tx(
      alice,
      K.htlcLock,
      codec.htlcLock.encode({
        recipient: idOf(bob),
        asset: 'gold',
        amount: 500n,
        hashlock: sha256(secret),
        timeoutHeight: timeout,
      }),
    )

  test('claim with the preimage pays the recipient; wrong preimage and expiry are refused', () => {
    const c = chain()
    const locked = c.block([lock(c, 5n)])
    assert.deepEqual(locked.errors, [''])
    const swapId = locked.exec.included[0]!.hash
    assert.equal(c.bal(exchange.HTLC_ESCROW, 'gold'), 500n)
    const wrong = c.block([
      c.tx(bob, K.htlcClaim, codec.htlcClaim.encode({ swapId, preimage: utf8('nope') })),
    ])
    assert.deepEqual(wrong.errors, ['WRONG_PREIMAGE'])
    const early = c.block([c.tx(alice, K.htlcRefund, codec.htlcRefund.encode({ swapId }))])
    assert.deepEqual(early.errors, ['SWAP_NOT_EXPIRED'])
    const byOther = c.block([
      c.tx(carol, K.htlcClaim, codec.htlcClaim.encode({ swapId, preimage: secret })),
      c.tx(carol, K.htlcRefund, codec.htlcRefund.encode({ swapId })),
    ])
    assert.deepEqual(byOther.errors, ['NOT_SWAP_PARTY', 'NOT_SWAP_PARTY'])
    assert.equal(c.bal(exchange.HTLC_ESCROW, 'gold'), 500n)
    const g0 = c.bal(bob, 'gold')
    const ok = c.block([c.tx(bob, K.htlcClaim, codec.htlcClaim.encode({ swapId, preimage: secret }))])
    assert.deepEqual(ok.errors, [''])
    assert.equal(c.bal(bob, 'gold'), g0 + 500n)
    assert.equal(c.bal(exchange.HTLC_ESCROW, 'gold'), 0n)
    const twice = c.block([c.tx(bob, K.htlcClaim, codec.htlcClaim.encode({ swapId, preimage: secret }))])
    assert.deepEqual(twice.errors, ['UNKNOWN_SWAP'])
  })

  test('after the timeout a claim is refused and the sender refunds', () => {
    const c = chain()
    const a0 = c.bal(alice, 'gold')
    const locked = c.block([lock(c, 2n)])
    const swapId = locked.exec.included[0]!.hash
    c.block()
    const late = c.block([c.tx(bob, K.htlcClaim, codec.htlcClaim.encode({ swapId, preimage: secret }))])
    assert.deepEqual(late.errors, ['SWAP_EXPIRED'])
    assert.deepEqual(c.block([c.tx(bob, K.htlcRefund, codec.htlcRefund.encode({ swapId }))]).errors, [
      'NOT_SWAP_PARTY',
    ])
    assert.deepEqual(c.block([c.tx(alice, K.htlcRefund, codec.htlcRefund.encode({ swapId }))]).errors, [''])
    assert.equal(c.bal(alice, 'gold'), a0)
    const bad = c.block([
      c.tx(
        alice,
        K.htlcLock,
        codec.htlcLock.encode({
          recipient: idOf(bob),
          asset: 'gold',
          amount: 5n,
          hashlock: sha256(secret),
          timeoutHeight: 1n,
        }),
      ),
    ])
    assert.deepEqual(bad.errors, ['INVALID_SWAP'])
  })
})
