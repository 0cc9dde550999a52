import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isPulseError } from '@pulsemesh/core/errors.ts'
import { maxBig, minBig } from '../src/bigint-math.ts'
import { aggregatePrice, type OracleParams, type PriceReport } from '../src/oracle.ts'

const rep = (validator: string, price: bigint, stake: bigint, timestamp = 1000n): PriceReport => ({
  validator,
  price,
  stake,
  timestamp,
})
const params: OracleParams = { now: 1000n, maxAge: 60n, maxDeviationBps: 500n, totalStake: 100n }
const code = (c: string) => (e: unknown) => isPulseError(e) && e.code === c

test('stake-weighted (lower) median, not the count median', () => {
  const r = aggregatePrice(
    [rep('a', 100n, 10n), rep('b', 101n, 10n), rep('c', 200n, 60n), rep('d', 99n, 10n)],
    params,
  )
  // sorted 99(10) 100(10) 101(10) 200(60): half of 90 is reached at 200
  assert.equal(r.price, 200n)
  assert.deepEqual(r.used, ['a', 'b', 'c', 'd'])
  assert.deepEqual(r.outliers, ['a', 'b', 'd'])
  // exactly half: the lower median
  const half = aggregatePrice([rep('a', 100n, 40n), rep('b', 110n, 40n)], { ...params, totalStake: 80n })
  assert.equal(half.price, 100n)
})

test('stale and future reports are dropped; quorum needs more than 2/3 of total stake', () => {
  const reports = [
    rep('a', 100n, 40n, 1000n),
    rep('b', 102n, 30n, 990n),
    rep('c', 500n, 30n, 900n),
    rep('d', 1n, 1n, 1001n),
  ]
  const r = aggregatePrice(reports, { ...params, totalStake: 101n })
  assert.deepEqual(r.stale, ['c', 'd'])
  assert.equal(r.freshStake, 70n)
  assert.equal(r.price, 100n)
  // 70 of 105: exactly 2/3 is not enough
  assert.throws(() => aggregatePrice(reports, { ...params, totalStake: 105n }), code('ORACLE_NO_QUORUM'))
})

test('deviation guard against the previous price', () => {
  const reports = [rep('a', 106n, 50n), rep('b', 106n, 50n)]
  assert.equal(aggregatePrice(reports, { ...params, previousPrice: 101n }).price, 106n) // 4.95%
  assert.throws(
    () => aggregatePrice(reports, { ...params, previousPrice: 100n, maxDeviationBps: 599n }),
    code('ORACLE_DEVIATION_TOO_LARGE'),
  )
  assert.equal(aggregatePrice(reports, { ...params, previousPrice: 100n, maxDeviationBps: 600n }).price, 106n)
})

test('bad input is a typed error', () => {
  assert.throws(
    () => aggregatePrice([rep('a', 1n, 50n), rep('a', 2n, 50n)], params),
    code('ORACLE_DUPLICATE_VALIDATOR'),
  )
  assert.throws(() => aggregatePrice([rep('a', 0n, 80n)], params), code('ORACLE_BAD_INPUT'))
  assert.throws(() => aggregatePrice([rep('a', 1n, 0n)], params), code('ORACLE_BAD_INPUT'))
  assert.throws(() => aggregatePrice([rep('a', 1n, 200n)], params), code('ORACLE_BAD_INPUT'))
  assert.throws(() => aggregatePrice([], { ...params, totalStake: 0n }), code('ORACLE_BAD_INPUT'))
  assert.throws(() => aggregatePrice([], params), code('ORACLE_NO_QUORUM'))
})

test('property: the median is a reported price, order-independent, and < 1/2 of fresh stake cannot move it out of the honest range', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ price: fc.bigInt(90n, 110n), stake: fc.bigInt(1n, 100n) }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.array(fc.record({ price: fc.bigInt(1n, 10_000n), stake: fc.bigInt(1n, 100n) }), { maxLength: 12 }),
      (honest, attackers) => {
        const hs = honest.reduce((s, h) => s + h.stake, 0n)
        let as = 0n
        const att = attackers.filter((a) => {
          if (as + a.stake >= hs) return false // attackers keep strictly less than half of the fresh stake
          as += a.stake
          return true
        })
        const reports = [
          ...honest.map((h, i) => rep(`h${String(i).padStart(2, '0')}`, h.price, h.stake)),
          ...att.map((a, i) => rep(`x${String(i).padStart(2, '0')}`, a.price, a.stake)),
        ]
        const p = { ...params, maxDeviationBps: 10_000n, totalStake: hs + as }
        const r = aggregatePrice(reports, p)
        assert.ok(reports.some((x) => x.price === r.price))
        assert.equal(aggregatePrice([...reports].reverse(), p).price, r.price)
        const lo = honest.reduce((m, h) => minBig(m, h.price), honest[0]!.price)
        const hi = honest.reduce((m, h) => maxBig(m, h.price), honest[0]!.price)
        assert.ok(r.price >= lo && r.price <= hi, `median ${r.price} outside honest [${lo}, ${hi}]`)
      },
    ),
    { numRuns: 300, seed: 11 },
  )
})
