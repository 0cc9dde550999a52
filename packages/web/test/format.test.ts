import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  classifySearch,
  cumulativeDepth,
  formatUnits,
  InputError,
  meanInterval,
  parseInteger,
  parseUnits,
  shortHash,
  timeAgo,
  txRate,
} from '../src/lib/format.ts'

test('formatUnits: decimals, separators, trailing zeros, negatives', () => {
  assert.equal(formatUnits(1_500_000n, 6), '1.5')
  assert.equal(formatUnits('1000000000000000', 6), '1,000,000,000')
  assert.equal(formatUnits(1n, 6), '0.000001')
  assert.equal(formatUnits(0n, 6), '0')
  assert.equal(formatUnits(-2_500_000n, 6), '-2.5')
  assert.equal(formatUnits(123n, 0), '123')
  assert.equal(formatUnits(1_234_567n, 6, 2), '1.23')
})

test('parseUnits is exact and rejects what is not an amount', () => {
  assert.equal(parseUnits('1.5', 6), 1_500_000n)
  assert.equal(parseUnits(' 1,000 ', 6), 1_000_000_000n)
  assert.equal(parseUnits('0.000001', 6), 1n)
  assert.equal(parseUnits('7', 0), 7n)
  for (const bad of ['', 'abc', '-1', '1e3', '0', '0.0', '1.0000001', '1.2.3', '١'])
    assert.throws(
      () => parseUnits(bad, 6),
      (e: unknown) => e instanceof InputError && e.code === 'INVALID_AMOUNT',
      bad,
    )
  // Round trip.
  for (const v of [1n, 10n ** 18n, 123_456_789n]) assert.equal(parseUnits(formatUnits(v, 6), 6), v)
})

test('parseInteger accepts whole numbers only', () => {
  assert.equal(parseInteger('42', 'price'), 42n)
  for (const bad of ['4.2', '-1', '', 'x', '1'.repeat(31)])
    assert.throws(() => parseInteger(bad, 'price'), InputError)
})

test('classifySearch: heights, hashes (with 0x, any case), addresses, junk', () => {
  assert.deepEqual(classifySearch(' 42 ', 'pm'), { kind: 'height', height: '42' })
  const h = 'AB'.repeat(32)
  assert.deepEqual(classifySearch(`0x${h}`, 'pm'), { kind: 'hash', hash: h.toLowerCase() })
  assert.deepEqual(classifySearch('pm1qvfr3957m9jep4kc', 'pm'), {
    kind: 'address',
    address: 'pm1qvfr3957m9jep4kc',
  })
  assert.equal(classifySearch('emo1abc', 'pm').kind, 'invalid')
  assert.equal(classifySearch('ab'.repeat(31), 'pm').kind, 'invalid')
  assert.equal(classifySearch('', 'pm').kind, 'invalid')
  assert.equal(classifySearch('<script>', 'pm').kind, 'invalid')
})

test('txRate and meanInterval over BFT times', () => {
  const blocks = [0, 1000, 2000, 3000].map((timeMs, i) => ({ timeMs, txCount: i * 2 }))
  // Blocks after the first in the window: 2 + 4 + 6 txs over 3 s.
  assert.equal(txRate(blocks, 10_000), 4)
  // Window of 1 s: only the last block's 6 txs over 1 s.
  assert.equal(txRate(blocks, 1000), 6)
  assert.equal(txRate([], 1000), 0)
  assert.equal(txRate([{ timeMs: 5, txCount: 9 }], 1000), 0)
  assert.equal(meanInterval(blocks), 1000)
  assert.ok(Number.isNaN(meanInterval([{ timeMs: 1 }])))
})

test('cumulativeDepth, shortHash, timeAgo', () => {
  assert.deepEqual(
    cumulativeDepth([
      { price: '10', lots: '2' },
      { price: '9', lots: '3' },
    ]),
    [
      { price: 10, total: 2 },
      { price: 9, total: 5 },
    ],
  )
  assert.equal(shortHash('a'.repeat(64), 4), 'aaaa…aaaa')
  assert.equal(shortHash('abc'), 'abc')
  assert.equal(timeAgo(0, 5_000), '5 s ago')
  assert.equal(timeAgo(0, 120_000), '2 min ago')
  assert.equal(timeAgo(10_000, 0), '0 s ago')
})
