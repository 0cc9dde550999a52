import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  displayLots,
  displayPrice,
  displaySize,
  formatRatio,
  lotsNumber,
  type MarketUnits,
  parsePrice,
  parseSize,
  priceNumber,
} from '../src/lib/market-units.ts'

// pulse (6 decimals) quoted in usd (6 decimals), lot and tick of one base unit: the e2e market.
const unit: MarketUnits = { lotSize: 1n, tickSize: 1n, baseDecimals: 6, quoteDecimals: 6 }
// 0.01 BTC-like lots (8 decimals) quoted in a 2-decimal asset, tick of 5 quote units per lot.
const coarse: MarketUnits = { lotSize: 1_000_000n, tickSize: 5n, baseDecimals: 8, quoteDecimals: 2 }

test('formatRatio: exact where it terminates, rounded half up otherwise', () => {
  assert.equal(formatRatio(3n, 2n, 4), '1.5')
  assert.equal(formatRatio(1n, 3n, 4), '0.3333')
  assert.equal(formatRatio(2n, 3n, 2), '0.67')
  assert.equal(formatRatio(1234567n, 1n, 0), '1,234,567')
  assert.equal(formatRatio(1234567n, 1n, 0, false), '1234567')
})

test('display: price per whole base token in quote tokens, sizes in base tokens', () => {
  // 100 usd base units per pulse base unit = 100 usd per pulse.
  assert.equal(displayPrice('100', unit), '100')
  assert.equal(displayLots('10', unit), '0.00001')
  assert.equal(displaySize(2_500_000n, unit), '2.5')
  // 5 cents per 0.01 BTC lot = 5 per BTC.
  assert.equal(displayPrice(5n, coarse), '5')
  assert.equal(displayLots(3n, coarse), '0.03')
  assert.equal(priceNumber('123', coarse), 123)
  assert.equal(lotsNumber('250', coarse), 2.5)
})

test('parse: display units to chain units, exact, round trips', () => {
  assert.equal(parsePrice('100', unit), 100n)
  assert.equal(parseSize('2.5', unit), 2_500_000n)
  assert.equal(parsePrice('1,000', coarse), 1000n)
  assert.equal(parseSize('0.02', coarse), 2_000_000n)
  for (const p of ['5', '105', '12345'])
    assert.equal(parsePrice(displayPrice(p, coarse), coarse).toString(), p)
})

test('parse: too many decimals, off-lot and off-tick inputs are refused with the valid step', () => {
  assert.throws(() => parsePrice('1.0000001', unit), /at most 6 decimal places/)
  assert.throws(() => parseSize('0.0000001', unit), /at most 6 decimal places/)
  assert.throws(() => parsePrice('0.5', unit), /multiple of 1 /) // half a quote unit per base unit
  assert.throws(() => parsePrice('3', coarse), /multiple of the tick, 5/)
  assert.throws(() => parseSize('0.015', coarse), /multiple of the lot, 0.01/)
  assert.throws(
    () => parsePrice('abc', unit),
    (e: Error & { code?: string }) => e.code === 'INVALID_PRICE',
  )
  assert.throws(
    () => parseSize('-1', unit),
    (e: Error & { code?: string }) => e.code === 'INVALID_SIZE',
  )
  assert.throws(() => parsePrice('0', unit), /greater than zero/)
})
