// NeuroSky ThinkGear serial packets, per "ThinkGear Communications Protocol" (NeuroSky developer
// docs): [AA AA PLENGTH payload CHKSUM], CHKSUM = ~(sum of payload) & 0xFF, DataRows with
// single-byte codes < 0x80 and [CODE VLENGTH value] codes >= 0x80.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { concatBytes } from '@pulsemesh/core/bytes.ts'
import {
  ThinkGearStreamParser,
  decodeThinkGearPacket,
  decodeThinkGearPayload,
  encodeThinkGearPacket,
  rawRow,
  thinkGearChecksum,
} from '../src/decode/thinkgear.ts'
import { decodeReason, onlyDecodeErrors } from './fuzz-helpers.ts'

// The protocol document's "Example Packet": POOR_SIGNAL 0x20, BATTERY (0x01) 0x7E, ATTENTION 0x12,
// MEDITATION 0x60, checksum 0xE3.
const DOC_EXAMPLE = Uint8Array.of(0xaa, 0xaa, 0x08, 0x02, 0x20, 0x01, 0x7e, 0x04, 0x12, 0x05, 0x60, 0xe3)
// RAW wave 0xFFF0 = -16: checksum ~(0x80 + 0x02 + 0xFF + 0xF0) & 0xFF = ~0x71 = 0x8E
const RAW_PACKET = Uint8Array.of(0xaa, 0xaa, 0x04, 0x80, 0x02, 0xff, 0xf0, 0x8e)

test('decodes the protocol document example packet', () => {
  const p = decodeThinkGearPacket(DOC_EXAMPLE)
  assert.equal(p.poorSignal, 32)
  assert.equal(p.attention, 18)
  assert.equal(p.meditation, 96)
  assert.equal(p.skippedRows, 1) // battery level is not used
  assert.equal(thinkGearChecksum(DOC_EXAMPLE.subarray(3, 11)), 0xe3)
})

test('raw wave is big-endian signed; ASIC_EEG_POWER is 8 × 3-byte big-endian unsigned', () => {
  assert.deepEqual(decodeThinkGearPacket(RAW_PACKET).raw, [-16])
  assert.deepEqual(encodeThinkGearPacket([rawRow(-16)]), RAW_PACKET)
  const asic = new Uint8Array(24)
  asic.set([0x18, 0xd4, 0x8b, 0x13, 0xd1, 0x69], 0) // delta 0x18D48B, theta 0x13D169
  asic.set([0xff, 0xff, 0xff], 21) // mid gamma 0xFFFFFF
  const p = decodeThinkGearPacket(encodeThinkGearPacket([{ code: 0x83, value: asic }]))
  assert.deepEqual(p.asicEegPower, [0x18d48b, 0x13d169, 0, 0, 0, 0, 0, 0xffffff])
  // a row behind an EXCODE (0x55) byte is an extended code: skipped, not misread
  assert.equal(decodeThinkGearPayload(Uint8Array.of(0x55, 0x04, 0x10, 0x04, 0x11)).attention, 0x11)
})

test('malformed packets give typed errors with precise reasons', () => {
  const r = (b: Uint8Array) => decodeReason(() => decodeThinkGearPacket(b)).reason
  assert.equal(r(Uint8Array.of(0xaa, 0xaa, 0x01)), 'TG_TRUNCATED')
  assert.equal(r(Uint8Array.of(0xab, 0xaa, 0x00, 0xff)), 'TG_NO_SYNC')
  assert.equal(r(Uint8Array.of(0xaa, 0xaa, 0xab, 0x00)), 'TG_BAD_LENGTH')
  const bad = RAW_PACKET.slice()
  bad[7] ^= 1
  assert.equal(r(bad), 'TG_CHECKSUM')
  assert.equal(r(concatBytes(RAW_PACKET, Uint8Array.of(0))), 'TG_TRAILING_BYTES')
  assert.equal(decodeReason(() => decodeThinkGearPacket(new Uint8Array(174))).code, 'DECODE_TOO_LARGE')
  const p = (payload: number[]) => decodeReason(() => decodeThinkGearPayload(Uint8Array.from(payload))).reason
  assert.equal(p([0x80, 0x03, 1, 2, 3]), 'TG_BAD_ROW_LENGTH')
  assert.equal(p([0x83, 0x02, 1, 2]), 'TG_BAD_ROW_LENGTH')
  assert.equal(p([0x80, 0x02, 1]), 'TG_ROW_TRUNCATED')
  assert.equal(p([0x80]), 'TG_ROW_TRUNCATED')
  assert.equal(p([0x55, 0x55]), 'TG_ROW_TRUNCATED')
  assert.equal(p([0x02]), 'TG_ROW_TRUNCATED')
})

test('stream parser resynchronises after garbage, false syncs and corrupted packets', () => {
  const falseSync = Uint8Array.of(0xaa, 0xaa, 0x05, 0x01, 0x02) // claims 5 bytes, then a real packet starts
  const corrupted = RAW_PACKET.slice()
  corrupted[6] = 0x00
  const stream = concatBytes(
    Uint8Array.of(0x00, 0x13, 0xaa, 0x37), // garbage with a lone SYNC
    DOC_EXAMPLE,
    falseSync,
    RAW_PACKET,
    corrupted,
    Uint8Array.of(0xaa, 0xaa, 0xaa, 0xaa), // extra SYNC bytes are allowed before PLENGTH
    RAW_PACKET.subarray(2),
    Uint8Array.of(0xaa, 0xaa, 0xf0), // PLENGTH > 169: invalid
    RAW_PACKET,
  )
  const parser = new ThinkGearStreamParser()
  const got = parser.push(stream)
  assert.deepEqual(
    got.map((p) => (p.raw.length > 0 ? p.raw[0] : p.attention)),
    [18, -16, -16, -16],
  )
  assert.equal(parser.stats.checksumErrors >= 2, true)
  assert.equal(parser.stats.badLengths, 1)
  assert.equal(parser.pendingBytes, 0)
})

test('stream parser: packets split anywhere across chunks decode identically; pending is bounded', () => {
  const packets = [DOC_EXAMPLE, RAW_PACKET, encodeThinkGearPacket([rawRow(12345), rawRow(-32768)])]
  const stream = concatBytes(...packets, ...packets)
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 10 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b)
      const parser = new ThinkGearStreamParser()
      const out = []
      let prev = 0
      for (const c of [...points, stream.length]) {
        out.push(...parser.push(stream.subarray(prev, c)))
        prev = c
        assert.ok(parser.pendingBytes <= 173)
      }
      assert.equal(out.length, 6)
      assert.deepEqual(out[2].raw, [12345, -32768])
    }),
    { numRuns: 300 },
  )
  assert.equal(
    decodeReason(() => new ThinkGearStreamParser().push(new Uint8Array((1 << 20) + 1))).code,
    'DECODE_TOO_LARGE',
  )
})

test('fuzz: random bytes never throw from the stream parser; single-packet decode only DecodeErrors', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
      const parser = new ThinkGearStreamParser()
      for (const c of chunks) parser.push(c)
      assert.ok(parser.pendingBytes <= 173)
    }),
    { numRuns: 1000 },
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      onlyDecodeErrors(() => decodeThinkGearPacket(b))
      onlyDecodeErrors(() => decodeThinkGearPayload(b))
    }),
    { numRuns: 2000 },
  )
})
