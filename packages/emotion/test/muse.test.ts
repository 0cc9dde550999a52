// Muse EEG notification: 2-byte big-endian sequence + 12 × 12-bit samples packed big-endian
// (interaxon Muse communication protocol; as decoded by muse-js decodeUnsigned12BitData), offset 2048,
// 0.48828125 µV per count.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  MUSE_UV_PER_COUNT,
  assembleMuseChannel,
  decodeMuseEegPacket,
  encodeMuseEegPacket,
} from '../src/decode/muse.ts'
import { decodeReason, onlyDecodeErrors } from './fuzz-helpers.ts'

// raw samples 0x800, 0xFFF, 0x000, 0x123, 0xABC, 0x456, then 0x800 × 6
const SAMPLE = Uint8Array.of(
  0x12,
  0x34, // sequence 0x1234
  0x80,
  0x0f,
  0xff, // 0x800 | 0xFFF
  0x00,
  0x01,
  0x23, // 0x000 | 0x123
  0xab,
  0xc4,
  0x56, // 0xABC | 0x456
  0x80,
  0x08,
  0x00,
  0x80,
  0x08,
  0x00,
  0x80,
  0x08,
  0x00,
)

test('decodes a hand-packed packet into centered counts', () => {
  const p = decodeMuseEegPacket(SAMPLE)
  assert.equal(p.sequence, 0x1234)
  assert.deepEqual(
    [...p.samples],
    [0, 2047, -2048, 0x123 - 2048, 0xabc - 2048, 0x456 - 2048, 0, 0, 0, 0, 0, 0],
  )
  assert.deepEqual(encodeMuseEegPacket(0x1234, p.samples), SAMPLE)
  // 2047 counts = 2047 · 0.48828125 µV = 999.51171875 µV, exactly 2047 · 125 / 256
  assert.equal((2047 * MUSE_UV_PER_COUNT.num) / MUSE_UV_PER_COUNT.den, 2047 * 0.48828125)
})

test('length errors are typed', () => {
  assert.deepEqual(
    decodeReason(() => decodeMuseEegPacket(SAMPLE.subarray(0, 19))),
    { code: 'DECODE_ERROR', reason: 'MUSE_TRUNCATED' },
  )
  assert.deepEqual(
    decodeReason(() => decodeMuseEegPacket(new Uint8Array(21))),
    { code: 'DECODE_TOO_LARGE', reason: 'MUSE_TOO_LARGE' },
  )
})

test('assembling a channel fills sequence gaps, drops duplicates, wraps at 65536, bounds length', () => {
  const pk = (seq: number, v: number) => decodeMuseEegPacket(encodeMuseEegPacket(seq, new Array(12).fill(v)))
  const s = assembleMuseChannel([pk(65534, 1), pk(65535, 2), pk(1, 3), pk(1, 9), pk(0, 9)], 1000)
  assert.equal(s.samples.length, 48) // 65534, 65535, (0 missing), 1
  assert.equal(s.missing, 12)
  assert.equal(s.dropped, 2)
  assert.deepEqual([...s.samples.subarray(24, 36)], new Array(12).fill(2)) // held value
  assert.equal(
    decodeReason(() => assembleMuseChannel([pk(0, 0), pk(1000, 0)], 100_000)).reason,
    'MUSE_GAP_TOO_LONG',
  )
  assert.deepEqual(
    decodeReason(() => assembleMuseChannel([pk(0, 0), pk(1, 0)], 20)),
    { code: 'DECODE_TOO_LARGE', reason: 'MUSE_TOO_MANY_SAMPLES' },
  )
})

test('fuzz: arbitrary bytes and round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => onlyDecodeErrors(() => decodeMuseEegPacket(b))),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.array(fc.integer({ min: -2048, max: 2047 }), { minLength: 12, maxLength: 12 }),
      (seq, xs) => {
        const p = decodeMuseEegPacket(encodeMuseEegPacket(seq, xs))
        assert.equal(p.sequence, seq)
        assert.deepEqual([...p.samples], xs)
      },
    ),
    { numRuns: 500 },
  )
})
