// QuantizedFeatures encoding, window commitments, canonical window bytes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { toHex } from '@pulsemesh/core/bytes.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'
import { sha256 } from '@pulsemesh/core/crypto/index.ts'
import { commitToWindow, verifyWindowCommitment } from '../src/commit.ts'
import {
  QF_BYTES,
  QF_FIELDS,
  decodeQuantizedFeatures,
  emptyQuantizedFeatures,
  encodeQuantizedFeatures,
} from '../src/quantized.ts'
import type { QuantizedFeatures } from '../src/quantized.ts'
import { type RawWindow, encodeRawWindow, encodeWindowBundle } from '../src/window.ts'
import { decodeReason, onlyDecodeErrors } from './fuzz-helpers.ts'

const arbQ = fc.record(
  Object.fromEntries(QF_FIELDS.map(([name, lo, hi]) => [name, fc.integer({ min: lo, max: hi })])),
) as unknown as fc.Arbitrary<QuantizedFeatures>

test('QuantizedFeatures round-trips through its fixed 112-byte encoding', () => {
  assert.equal(QF_BYTES, 112)
  fc.assert(
    fc.property(arbQ, (q) => {
      const b = encodeQuantizedFeatures(q)
      assert.equal(b.length, QF_BYTES)
      assert.deepEqual(decodeQuantizedFeatures(b), { ...q })
    }),
    { numRuns: 300 },
  )
  const q = emptyQuantizedFeatures(60_000)
  q.faaMilliNp = -1
  const b = encodeQuantizedFeatures(q)
  assert.equal(toHex(b.subarray(4 * 25, 4 * 26)), 'ffffffff') // faa is two's complement
})

test('out-of-range fields are rejected on encode (PulseError) and decode (DecodeError)', () => {
  const q = emptyQuantizedFeatures(60_000)
  q.rrQuality = 101
  assert.throws(
    () => encodeQuantizedFeatures(q),
    (e: unknown) => e instanceof PulseError && e.code === 'EMOTION_QF_RANGE',
  )
  const good = encodeQuantizedFeatures(emptyQuantizedFeatures(60_000))
  const bad = good.slice()
  bad[3] = 2 // version 2
  assert.equal(decodeReason(() => decodeQuantizedFeatures(bad)).reason, 'QF_FIELD_RANGE')
  assert.equal(decodeReason(() => decodeQuantizedFeatures(good.subarray(0, 108))).reason, 'QF_TRUNCATED')
  assert.equal(decodeReason(() => decodeQuantizedFeatures(new Uint8Array(113))).code, 'DECODE_TOO_LARGE')
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 108, maxLength: 116 }), (b) =>
      onlyDecodeErrors(() => decodeQuantizedFeatures(b)),
    ),
    { numRuns: 500 },
  )
})

const win: RawWindow = {
  deviceId: 'hrm-1',
  kind: 'ble-hrm',
  tier: 'consumer',
  startMs: 1_700_000_000_000,
  windowMs: 60_000,
  chunks: [{ tag: '2a37', bytes: Uint8Array.of(0x16, 0x48, 0x00, 0x04) }],
}

test('raw window bytes are canonical; commitment = SHA-256(u32 len tag || tag || u32 len salt || salt || u32 len raw || raw)', () => {
  const raw = encodeRawWindow(win)
  assert.equal(
    toHex(raw),
    '504d525701' +
      '0005' +
      toHex(new TextEncoder().encode('hrm-1')) +
      '0007' +
      toHex(new TextEncoder().encode('ble-hrm')) +
      '0008' +
      toHex(new TextEncoder().encode('consumer')) +
      '0000018bcfe56800' +
      '0000ea60' +
      '00000001' +
      '0004' +
      toHex(new TextEncoder().encode('2a37')) +
      '00000004' +
      '16480004',
  )
  const salt = new Uint8Array(16).fill(7)
  const c = commitToWindow(raw, salt)
  const tag = new TextEncoder().encode('pulsemesh/emotion/window/v1')
  const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  const manual = sha256(
    new Uint8Array([...u32(tag.length), ...tag, ...u32(16), ...salt, ...u32(raw.length), ...raw]),
  )
  assert.deepEqual(c, manual)
  assert.ok(verifyWindowCommitment(c, raw, salt))
  assert.ok(!verifyWindowCommitment(c, raw, new Uint8Array(16).fill(8)))
  assert.notDeepEqual(commitToWindow(raw, new Uint8Array(16).fill(8)), c)
  assert.throws(
    () => commitToWindow(raw, new Uint8Array(15)),
    (e: unknown) => e instanceof PulseError && e.code === 'EMOTION_BAD_SALT',
  )
  // bundle order does not depend on read order
  const other = { ...win, deviceId: 'a-e4', kind: 'e4' as const, chunks: [] }
  assert.deepEqual(encodeWindowBundle([win, other]), encodeWindowBundle([other, win]))
  assert.equal(decodeReason(() => encodeWindowBundle([win, win])).reason, 'WINDOW_DUPLICATE_DEVICE')
})

test('window limits are enforced with typed errors', () => {
  const r = (w: unknown) => decodeReason(() => encodeRawWindow(w as RawWindow)).reason
  assert.equal(r({ ...win, windowMs: 5_000 }), 'WINDOW_BAD_LENGTH')
  assert.equal(r({ ...win, deviceId: '' }), 'WINDOW_BAD_DEVICE_ID')
  assert.equal(r({ ...win, kind: 'radio' }), 'WINDOW_BAD_KIND')
  assert.equal(r({ ...win, tier: 'gold' }), 'WINDOW_BAD_TIER')
  assert.equal(r({ ...win, chunks: [{ tag: 'x'.repeat(17), bytes: new Uint8Array(0) }] }), 'WINDOW_BAD_TAG')
  assert.equal(
    r({ ...win, chunks: [{ tag: 'a', bytes: new Uint8Array(16 * 1024 * 1024 + 1) }] }),
    'WINDOW_TOO_LARGE',
  )
  assert.equal(r(null), 'WINDOW_INVALID')
})
