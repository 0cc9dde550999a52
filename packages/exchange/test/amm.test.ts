import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isPulseError } from '@pulsemesh/core/errors.ts'
import {
  addLiquidity,
  createPool,
  MINIMUM_LIQUIDITY,
  type Pool,
  quoteExactIn,
  quoteExactOut,
  removeLiquidity,
  swapExactIn,
  swapExactOut,
} from '../src/amm.ts'

const code = (c: string) => (e: unknown) => isPulseError(e) && e.code === c

function seeded(base = 1_000_000n, quote = 4_000_000n, fee = 30n): Pool {
  return addLiquidity(createPool(fee), base, quote).pool
}

test('first deposit mints isqrt(base*quote) and locks MINIMUM_LIQUIDITY', () => {
  const r = addLiquidity(createPool(30n), 1_000_000n, 4_000_000n)
  assert.equal(r.pool.totalShares, 2_000_000n)
  assert.equal(r.shares, 2_000_000n - MINIMUM_LIQUIDITY)
  assert.throws(() => addLiquidity(createPool(30n), 10n, 10n), code('AMM_INITIAL_LIQUIDITY_TOO_LOW'))
  assert.throws(() => createPool(25n), code('AMM_BAD_FEE'))
})

test('later deposits are proportional, rounded for the pool, the excess not taken', () => {
  const p = seeded()
  const r = addLiquidity(p, 1000n, 9999n)
  assert.equal(r.shares, 2000n) // limited by base: 1000 * 2e6 / 1e6
  assert.equal(r.base, 1000n)
  assert.equal(r.quote, 4000n)
  assert.throws(() => addLiquidity(p, 1000n, 9999n, 2001n), code('AMM_SLIPPAGE'))
  assert.throws(() => addLiquidity(p, 1n, 1n), code('AMM_ZERO_SHARES'))
  assert.throws(() => addLiquidity(p, 0n, 1n), code('AMM_BAD_AMOUNT'))
})

test('swap exact in / exact out on the Uniswap v2 formulas with a 0.3% fee', () => {
  const p = seeded(1_000_000n, 1_000_000n)
  // out = floor(1000*9970*1e6 / (1e6*1e4 + 1000*9970)) = 996
  assert.equal(quoteExactIn(p, 'sell-base', 1000n), 996n)
  // in = ceil(1e6*996*1e4 / ((1e6-996)*9970)) = 1000
  assert.equal(quoteExactOut(p, 'buy-base', 996n), 1000n)
  const s = swapExactIn(p, 'sell-base', 1000n, 996n)
  assert.deepEqual([s.pool.reserveBase, s.pool.reserveQuote], [1_001_000n, 999_004n])
  assert.throws(() => swapExactIn(p, 'sell-base', 1000n, 997n), code('AMM_SLIPPAGE'))
  assert.throws(() => swapExactOut(p, 'buy-base', 996n, 999n), code('AMM_SLIPPAGE'))
  assert.throws(() => quoteExactOut(p, 'buy-base', 1_000_000n), code('AMM_INSUFFICIENT_LIQUIDITY'))
  assert.throws(() => swapExactIn(p, 'sell-base', 1n), code('AMM_ZERO_OUTPUT'))
  assert.throws(() => quoteExactIn(createPool(30n), 'sell-base', 1n), code('AMM_EMPTY_POOL'))
})

test('remove liquidity rounds down and cannot touch the locked minimum', () => {
  const r = addLiquidity(createPool(5n), 1_000_000n, 4_000_000n)
  const out = removeLiquidity(r.pool, r.shares)
  assert.equal(out.pool.totalShares, MINIMUM_LIQUIDITY)
  assert.ok(out.pool.reserveBase >= 500n && out.pool.reserveQuote >= 2000n)
  assert.throws(() => removeLiquidity(r.pool, r.shares + 1n), code('AMM_INSUFFICIENT_SHARES'))
  assert.throws(() => removeLiquidity(r.pool, r.shares, 10n ** 9n), code('AMM_SLIPPAGE'))
})

/** k per share squared, compared without division: Rb*Rq*T'^2 vs Rb'*Rq'*T^2. */
const kPerShareNotDown = (a: Pool, b: Pool): boolean =>
  b.reserveBase * b.reserveQuote * a.totalShares * a.totalShares >=
  a.reserveBase * a.reserveQuote * b.totalShares * b.totalShares

test('property: any sequence of operations never lowers k per share; exact-out is the minimal input', () => {
  const op = fc.oneof(
    fc.record({
      t: fc.constant('in' as const),
      dir: fc.constantFrom('sell-base' as const, 'buy-base' as const),
      x: fc.bigInt(1n, 10n ** 7n),
    }),
    fc.record({
      t: fc.constant('out' as const),
      dir: fc.constantFrom('sell-base' as const, 'buy-base' as const),
      x: fc.bigInt(1n, 10n ** 6n),
    }),
    fc.record({ t: fc.constant('add' as const), a: fc.bigInt(1n, 10n ** 7n), b: fc.bigInt(1n, 10n ** 7n) }),
    fc.record({ t: fc.constant('remove' as const), frac: fc.bigInt(1n, 100n) }),
  )
  fc.assert(
    fc.property(
      fc.bigInt(10n ** 4n, 10n ** 9n),
      fc.bigInt(10n ** 4n, 10n ** 9n),
      fc.constantFrom(1n, 5n, 30n, 100n),
      fc.array(op, { maxLength: 30 }),
      (b0, q0, fee, ops) => {
        let pool = addLiquidity(createPool(fee), b0, q0).pool
        for (const o of ops) {
          const before = pool
          try {
            if (o.t === 'in') pool = swapExactIn(pool, o.dir, o.x).pool
            else if (o.t === 'out') {
              const need = quoteExactOut(pool, o.dir, o.x)
              assert.ok(quoteExactIn(pool, o.dir, need) >= o.x)
              if (need > 1n) assert.ok(quoteExactIn(pool, o.dir, need - 1n) < o.x, 'exact-out not minimal')
              pool = swapExactOut(pool, o.dir, o.x).pool
            } else if (o.t === 'add') pool = addLiquidity(pool, o.a, o.b).pool
            else {
              const free = pool.totalShares - MINIMUM_LIQUIDITY
              const s = (free * o.frac) / 100n
              if (s > 0n) pool = removeLiquidity(pool, s).pool
            }
          } catch (e) {
            if (!isPulseError(e)) throw e
            assert.equal(pool, before, 'failed operation changed the pool')
          }
          assert.ok(kPerShareNotDown(before, pool), 'k per share decreased')
          assert.ok(pool.reserveBase > 0n && pool.reserveQuote > 0n)
        }
      },
    ),
    { numRuns: 200, seed: 42 },
  )
})

test('property: add then remove never returns more than was put in', () => {
  fc.assert(
    fc.property(
      fc.bigInt(10n ** 4n, 10n ** 9n),
      fc.bigInt(10n ** 4n, 10n ** 9n),
      fc.bigInt(1n, 10n ** 8n),
      fc.bigInt(1n, 10n ** 8n),
      (b0, q0, a, b) => {
        const pool = addLiquidity(createPool(30n), b0, q0).pool
        let dep: ReturnType<typeof addLiquidity>
        try {
          dep = addLiquidity(pool, a, b)
        } catch (e) {
          if (isPulseError(e) && e.code === 'AMM_ZERO_SHARES') return
          throw e
        }
        const w = removeLiquidity(dep.pool, dep.shares)
        assert.ok(w.base <= dep.base && w.quote <= dep.quote)
      },
    ),
    { numRuns: 200, seed: 43 },
  )
})
