/**
 * Property tests of the on-chain exchange over random blocks of random orders (every order type,
 * STP mode, cancels, replaces, market orders through the pool, both market modes):
 *  - every asset is conserved (the sum of all balances never changes; no mint outside LP shares),
 *  - ESCROW holds exactly the sum of the locks of live orders (so nobody's funds go negative),
 *  - the book is never crossed after a batch,
 *  - pool reserves equal the pool account's balances; LP supply = shares - locked minimum,
 *  - the result does not depend on the book cache (rebuilding from state gives the same writes).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toHex } from '@pulsemesh/core'
import fc from 'fast-check'
import { exchange, getSupply } from '../src/index.ts'
import {
  alice,
  bob,
  carol,
  chain,
  codec,
  K,
  lockedByAsset,
  totalsByAsset,
  validator,
} from './exchange-fixture.ts'

const users = [alice, bob, carol, validator]
const TYPES = ['limit', 'limit', 'limit', 'market', 'ioc', 'fok', 'post-only'] as const
const STPS = ['cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement', 'none'] as const

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('place' as const),
      user: fc.nat(3),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      type: fc.constantFrom(...TYPES),
      tick: fc.integer({ min: 15, max: 25 }),
      lots: fc.integer({ min: 1, max: 8 }),
      stp: fc.constantFrom(...STPS),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat(50) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('replace' as const),
      pick: fc.nat(50),
      tick: fc.integer({ min: 15, max: 25 }),
      lots: fc.integer({ min: 1, max: 8 }),
    }),
  },
)
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never

function run(mode: 'continuous' | 'auction', withPool: boolean, blocks: Op[][], dropCache: boolean) {
  const c = chain(users, 10_000_000n)
  c.createMarket('gold', 'pulse', mode)
  if (withPool)
    // two fee tiers at slightly different prices: market orders pick one of them per order
    c.block([
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 30, base: 100_000n, quote: 1_000_000n }),
      ),
      c.tx(
        alice,
        K.poolCreate,
        codec.poolCreate.encode({ market: 'gold:pulse', feeBps: 5, base: 50_000n, quote: 520_000n }),
      ),
    ])
  const start = totalsByAsset(c.store)
  const ids: { id: bigint; user: number }[] = []
  const trace: string[] = []
  for (const ops of blocks) {
    const txs = ops.map((o) => {
      if (o.op === 'place') {
        const market = o.type === 'market'
        const price = market && o.side === 'sell' && o.tick % 2 === 0 ? 0n : BigInt(o.tick) * 5n
        return c.place(users[o.user]!, o.side, price, BigInt(o.lots) * 10n, o.type, 'gold:pulse', o.stp)
      }
      const target = ids[o.pick % Math.max(ids.length, 1)]
      const id = target?.id ?? 1n
      const who = users[target?.user ?? 0]!
      if (o.op === 'cancel') return c.tx(who, K.cancel, codec.cancel.encode({ orderId: id }))
      return c.tx(
        who,
        K.replace,
        codec.replace.encode({ orderId: id, price: BigInt(o.tick) * 5n, size: BigInt(o.lots) * 10n }),
      )
    })
    if (dropCache) exchange.clearBookCache()
    const r = c.block(txs)
    trace.push(JSON.stringify(r.writes.map(([k, v]) => [k, v && toHex(v)])))
    r.exec.included.forEach((d, i) => {
      const o = ops[txs.indexOf(d)]
      if (o?.op === 'place' && r.exec.results[i]!.error === '')
        ids.push({ id: exchange.orderIdOf(d.hashHex), user: o.user })
    })
    // conservation of every asset
    const now = totalsByAsset(c.store)
    for (const asset of ['gold', 'pulse'])
      assert.equal(now.get(asset), start.get(asset), `${asset} conserved`)
    // escrow == Σ locks
    const locked = lockedByAsset(c.store)
    for (const asset of ['gold', 'pulse'])
      assert.equal(c.bal(exchange.ESCROW, asset), locked.get(asset) ?? 0n, `escrow ${asset}`)
    // uncrossed book
    const top = exchange.getTop(c.store, 'gold:pulse')
    if (top.bestBid !== null && top.bestAsk !== null) assert.ok(top.bestBid < top.bestAsk, 'book crossed')
    // pools
    for (const pool of exchange.marketPools(c.store, 'gold:pulse')) {
      const acct = exchange.poolAccount(pool.id)
      assert.equal(c.bal(acct, 'gold'), pool.reserveBase)
      assert.equal(c.bal(acct, 'pulse'), pool.reserveQuote)
      assert.equal(getSupply(c.store, pool.lpAsset), pool.totalShares - exchange.MINIMUM_LIQUIDITY)
    }
    // nothing pending after a batch
    assert.equal(exchange.pendingCount(c.store), 0)
  }
  return trace
}

describe('exchange properties', () => {
  for (const mode of ['continuous', 'auction'] as const) {
    test(`${mode}: conservation, escrow = locks, uncrossed book, cache-independent`, () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.array(fc.array(opArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
          (withPool, blocks) => {
            const a = run(mode, withPool, blocks, false)
            const b = run(mode, withPool, blocks, true)
            assert.deepEqual(a, b)
          },
        ),
        { numRuns: 25, seed: mode === 'auction' ? 7 : 11 },
      )
    })
  }
})
