// Heart Rate Measurement (0x2A37) samples built byte by byte from the GATT characteristic
// definition org.bluetooth.characteristic.heart_rate_measurement (Heart Rate Service 1.0 §3.1):
// flags bit0 = uint16 HR, bits1-2 = sensor contact, bit3 = Energy Expended (uint16 LE, kJ),
// bit4 = RR-Intervals (uint16 LE, 1/1024 s, oldest first).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  HRM_MAX_BYTES,
  decodeHeartRateMeasurement,
  encodeHeartRateMeasurement,
  rr1024ToUs,
} from '../src/decode/ble-hrm.ts'
import { decodeReason, onlyDecodeErrors } from './fuzz-helpers.ts'

test('uint8 HR, contact detected, one RR of exactly 1 s', () => {
  // flags 0x16 = 0b0001_0110: uint8 HR, contact bits 0b11 (supported, detected), RR present
  const m = decodeHeartRateMeasurement(Uint8Array.of(0x16, 0x48, 0x00, 0x04))
  assert.equal(m.heartRateBpm, 72)
  assert.equal(m.sensorContact, 'detected')
  assert.equal(m.energyExpendedKj, null)
  assert.deepEqual(m.rr1024, [1024])
  assert.deepEqual(m.rrUs, [1_000_000])
})

test('uint16 HR, energy expended and two RR intervals (little-endian fields in order)', () => {
  // flags 0x19: uint16 HR, contact not supported (0b00), energy present, RR present
  const b = Uint8Array.of(0x19, 0x2c, 0x01, 0x10, 0x27, 0x00, 0x03, 0xcd, 0x03)
  const m = decodeHeartRateMeasurement(b)
  assert.equal(m.heartRateBpm, 300)
  assert.equal(m.sensorContact, 'not-supported')
  assert.equal(m.energyExpendedKj, 10_000)
  assert.deepEqual(m.rr1024, [768, 973])
  // 768/1024 s = 750 ms exactly; 973/1024 s = 950195.3125 µs -> 950195
  assert.deepEqual(m.rrUs, [750_000, 950_195])
  assert.deepEqual(
    encodeHeartRateMeasurement({ heartRateBpm: 300, energyExpendedKj: 10_000, rr1024: [768, 973] }),
    b,
  )
})

test('sensor contact bit values 0..3 and ignored RFU bits', () => {
  assert.equal(decodeHeartRateMeasurement(Uint8Array.of(0x00, 60)).sensorContact, 'not-supported')
  assert.equal(decodeHeartRateMeasurement(Uint8Array.of(0x02, 60)).sensorContact, 'not-supported')
  assert.equal(decodeHeartRateMeasurement(Uint8Array.of(0x04, 60)).sensorContact, 'not-detected')
  assert.equal(decodeHeartRateMeasurement(Uint8Array.of(0x06, 60)).sensorContact, 'detected')
  assert.equal(decodeHeartRateMeasurement(Uint8Array.of(0xe6, 60)).heartRateBpm, 60) // bits 5-7 RFU
})

test('RR conversion to µs rounds half up', () => {
  assert.equal(rr1024ToUs(1), 977) // 976.5625
  assert.equal(rr1024ToUs(8), 7813) // 7812.5 exactly: half up
  assert.equal(rr1024ToUs(1023), 999_023) // 999023.4375
  assert.equal(rr1024ToUs(0xffff), 63_999_023) // 63999023.4375
})

test('malformed values give typed errors with precise reasons', () => {
  assert.deepEqual(
    decodeReason(() => decodeHeartRateMeasurement(new Uint8Array(0))),
    { code: 'DECODE_ERROR', reason: 'HRM_TRUNCATED' },
  )
  assert.equal(decodeReason(() => decodeHeartRateMeasurement(Uint8Array.of(0x00))).reason, 'HRM_TRUNCATED')
  assert.equal(
    decodeReason(() => decodeHeartRateMeasurement(Uint8Array.of(0x01, 0x48))).reason,
    'HRM_TRUNCATED',
  )
  assert.equal(
    decodeReason(() => decodeHeartRateMeasurement(Uint8Array.of(0x08, 0x48, 0x01))).reason,
    'HRM_TRUNCATED',
  )
  assert.equal(
    decodeReason(() => decodeHeartRateMeasurement(Uint8Array.of(0x10, 0x48, 0x00))).reason,
    'HRM_RR_ODD',
  )
  assert.equal(
    decodeReason(() => decodeHeartRateMeasurement(Uint8Array.of(0x00, 0x48, 0x00))).reason,
    'HRM_TRAILING_BYTES',
  )
  const big = new Uint8Array(HRM_MAX_BYTES + 1)
  big[0] = 0x10
  assert.deepEqual(
    decodeReason(() => decodeHeartRateMeasurement(big)),
    { code: 'DECODE_TOO_LARGE', reason: 'HRM_TOO_LARGE' },
  )
  assert.equal(
    decodeReason(() => decodeHeartRateMeasurement('x' as unknown as Uint8Array)).reason,
    'NOT_BYTES',
  )
})

test('fuzz: any bytes decode or fail with a DecodeError; encode/decode round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) =>
      onlyDecodeErrors(() => decodeHeartRateMeasurement(b)),
    ),
    { numRuns: 3000 },
  )
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.option(fc.integer({ min: 0, max: 0xffff })),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }),
      fc.constantFrom('detected' as const, 'not-detected' as const, 'not-supported' as const),
      (hr, energy, rr, contact) => {
        const m = decodeHeartRateMeasurement(
          encodeHeartRateMeasurement({
            heartRateBpm: hr,
            energyExpendedKj: energy,
            rr1024: rr,
            sensorContact: contact,
          }),
        )
        assert.equal(m.heartRateBpm, hr)
        assert.equal(m.energyExpendedKj, energy)
        assert.deepEqual(m.rr1024, rr)
        assert.equal(m.sensorContact, contact)
      },
    ),
    { numRuns: 500 },
  )
})
