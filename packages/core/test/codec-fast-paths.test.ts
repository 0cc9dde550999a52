/**
 * The hand-written codecs of codec/fast-paths.ts against the SSZ schemas they stand in for: same
 * bytes out, same values in, and never a value where the generic path would refuse the bytes.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { decodeCanonical } from '../src/codec/canonical.ts'
import {
  decodeSignedTxFast,
  decodeTransferFast,
  encodeTransferFast,
  encodeTxResultFast,
  encodeTxResultsFast,
} from '../src/codec/fast-paths.ts'
import { AssetIdSSZ, Bytes20, ContainerType, SignedTxSSZ, TxResultSSZ, Uint128 } from '../src/codec/schema.ts'
import { LIMITS } from '../src/limits.ts'
import { encodeTxResult, encodeTxResults } from '../src/codec/index.ts'

const TransferSSZ = new ContainerType({ to: Bytes20, asset: AssetIdSSZ, amount: Uint128 })

const bytes = (max: number) => fc.uint8Array({ maxLength: max })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })
const signedTx = fc.record({
  body: fc.record({
    networkId: bytes(LIMITS.networkIdBytesMax),
    sender: fc.record({ scheme: fc.integer({ min: 0, max: 255 }), bytes: bytes(LIMITS.publicKeyBytesMax) }),
    nonce: u64,
    fee: u128,
    expiresAt: u64,
    kind: fc.integer({ min: 0, max: 0xffff }),
    payload: bytes(300),
    memo: bytes(LIMITS.txMemoBytesMax),
  }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
})

/** What the generic path says about `b`: its value, or that it throws. */
function generic<T>(type: Parameters<typeof decodeCanonical<T>>[0], b: Uint8Array, max: number) {
  try {
    return { ok: true as const, value: decodeCanonical(type, b, max, 'x') }
  } catch {
    return { ok: false as const }
  }
}

/** Mutations that keep the length or shift bytes around: offsets, lengths, trailing data. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), to: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('grow' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
)
function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const out = new Uint8Array(b)
  if (m.kind === 'flip') out[m.at % out.length] ^= 1 << m.bit
  else if (m.kind === 'set') out[m.at % out.length] = m.to
  else if (m.kind === 'cut') return out.slice(0, Math.max(0, out.length - m.n))
  else return new Uint8Array([...out, ...m.tail])
  return out
}
type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; to: number }
  | { kind: 'cut'; n: number }
  | { kind: 'grow'; tail: Uint8Array }

describe('decodeSignedTxFast', () => {
  test('decodes every canonical encoding to the schema value', () => {
    fc.assert(
      fc.property(signedTx, (v) => {
        const b = SignedTxSSZ.serialize(v)
        assert.deepEqual(decodeSignedTxFast(b), decodeCanonical(SignedTxSSZ, b, LIMITS.txBytesMax, 'tx'))
      }),
      { numRuns: 300 },
    )
  })
  test('never accepts what the generic path refuses, and agrees on what both accept', () => {
    fc.assert(
      fc.property(signedTx, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
        let b = SignedTxSSZ.serialize(v)
        for (const m of ms) b = mutate(b, m as Mutation)
        const fast = decodeSignedTxFast(b)
        if (fast === undefined) return
        const g = generic(SignedTxSSZ, b, LIMITS.txBytesMax)
        assert.equal(g.ok, true)
        if (g.ok) assert.deepEqual(fast, g.value)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('transfer payload', () => {
  const transfer = fc.record({
    to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    asset: bytes(LIMITS.assetIdBytesMax),
    amount: u128,
  })
  test('encode gives the schema bytes; decode gives the schema value', () => {
    fc.assert(
      fc.property(transfer, (v) => {
        const b = TransferSSZ.serialize(v)
        assert.deepEqual(encodeTransferFast(v), b)
        assert.deepEqual(decodeTransferFast(b), TransferSSZ.deserialize(b))
      }),
      { numRuns: 300 },
    )
  })
  test('mutated bytes: a fast value only where the schema decodes and re-encodes identically', () => {
    fc.assert(
      fc.property(transfer, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
        let b = TransferSSZ.serialize(v)
        for (const m of ms) b = mutate(b, m as Mutation)
        const fast = decodeTransferFast(b)
        if (fast === undefined) return
        const g = generic(TransferSSZ, b, 1024)
        assert.equal(g.ok, true)
        if (g.ok) assert.deepEqual(fast, g.value)
      }),
      { numRuns: 1000 },
    )
  })
  test('out-of-range values are left to the schema', () => {
    const to = new Uint8Array(20)
    assert.equal(encodeTransferFast({ to, asset: new Uint8Array(1), amount: -1n }), undefined)
    assert.equal(encodeTransferFast({ to, asset: new Uint8Array(1), amount: 1n << 128n }), undefined)
    assert.equal(
      encodeTransferFast({ to: new Uint8Array(19), asset: new Uint8Array(1), amount: 1n }),
      undefined,
    )
    assert.equal(encodeTransferFast({ to, asset: new Uint8Array(65), amount: 1n }), undefined)
  })
})

describe('encodeTxResultFast', () => {
  const result = fc.record({
    error: bytes(LIMITS.errorCodeBytesMax),
    events: fc.array(
      fc.record({
        type: bytes(LIMITS.eventKeyBytesMax),
        attributes: fc.array(
          fc.record({ key: bytes(LIMITS.eventKeyBytesMax), value: bytes(LIMITS.eventValueBytesMax) }),
          { maxLength: 6 },
        ),
      }),
      { maxLength: 5 },
    ),
  })
  test('gives the schema bytes', () => {
    fc.assert(
      fc.property(result, (v) => {
        assert.deepEqual(encodeTxResultFast(v), TxResultSSZ.serialize(v))
      }),
      { numRuns: 500 },
    )
  })
  test('many in one buffer: each view is the schema bytes', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 6 }), (vs) => {
        const out = encodeTxResultsFast(vs)
        assert.equal(out.length, vs.length)
        for (let i = 0; i < vs.length; i++) assert.deepEqual(out[i]?.slice(), TxResultSSZ.serialize(vs[i]))
      }),
      { numRuns: 200 },
    )
  })
  test('over a limit: left to the schema', () => {
    assert.equal(encodeTxResultFast({ error: new Uint8Array(65), events: [] }), undefined)
    const attr = { key: new Uint8Array(1), value: new Uint8Array(513) }
    assert.equal(
      encodeTxResultFast({
        error: new Uint8Array(),
        events: [{ type: new Uint8Array(), attributes: [attr] }],
      }),
      undefined,
    )
  })
})

describe('encodeTxResults (text straight into one buffer)', () => {
  const text = (max: number) =>
    fc.oneof(fc.string({ maxLength: max }), fc.string({ unit: 'grapheme', maxLength: Math.floor(max / 4) }))
  const result = fc.record({
    error: text(LIMITS.errorCodeBytesMax),
    events: fc.array(
      fc.record({
        type: text(LIMITS.eventKeyBytesMax),
        attributes: fc.array(
          fc.record({ key: text(LIMITS.eventKeyBytesMax), value: text(LIMITS.eventValueBytesMax) }),
          { maxLength: 5 },
        ),
      }),
      { maxLength: 4 },
    ),
  })
  test('each result is encodeTxResult byte for byte (ASCII and not)', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 6 }), (rs) => {
        const out = encodeTxResults(rs)
        for (let i = 0; i < rs.length; i++) assert.deepEqual(out[i].slice(), encodeTxResult(rs[i]))
      }),
      { numRuns: 300 },
    )
  })
})
