// Empatica E4 CSV exports as described by Empatica ("E4 data - BVP/EDA/TEMP/HR/ACC/IBI.csv":
// first row = session start as UNIX UTC seconds, second row = sample rate in Hz, then samples; ACC
// has three columns in 1/64 g; IBI.csv starts "<start>, IBI" followed by "<offset s>,<ibi s>").
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { utf8 } from '@pulsemesh/core/bytes.ts'
import { formatMicro, parseDecimalMicro } from '../src/decode/decimal.ts'
import { E4_MAX_FILE_BYTES, parseE4Ibi, parseE4Signal } from '../src/decode/e4-csv.ts'
import { decodeReason, onlyDecodeErrors } from './fuzz-helpers.ts'

const dec = (s: string) => parseDecimalMicro(utf8(s), 0, s.length)

test('decimal parser: fixed-point micro-units, explicit rounding, strict grammar', () => {
  assert.equal(dec('0.198563'), 198_563)
  assert.equal(dec('-0.04'), -40_000)
  assert.equal(dec(' 32.000000 '), 32_000_000)
  assert.equal(dec('1495437325.000000'), 1_495_437_325_000_000)
  assert.equal(dec('+7'), 7_000_000)
  assert.equal(dec('.5'), 500_000)
  assert.equal(dec('1.2345675'), 1_234_568) // 7th digit 5: half away from zero
  assert.equal(dec('-1.2345675'), -1_234_568)
  assert.equal(dec('1.2345674999'), 1_234_567)
  assert.equal(dec('-0.0000001'), 0)
  for (const bad of ['', '-', '.', '1e5', '1,5', '12.5.3', '0x10', 'NaN', '9007199255', '1 2']) {
    assert.equal(decodeReason(() => dec(bad)).reason, 'E4_BAD_DECIMAL', bad)
  }
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), (v) => assert.equal(dec(formatMicro(v)), v)),
    { numRuns: 1000 },
  )
})

test('EDA.csv: header rows and samples in picosiemens', () => {
  const f = parseE4Signal('EDA', '1495437325.000000\n4.000000\n0.000000\n0.198563\n0.258770\n')
  assert.equal(f.startUs, 1_495_437_325_000_000)
  assert.equal(f.rateMicroHz, 4_000_000)
  assert.deepEqual(f.values, [0, 198_563, 258_770])
  // CRLF and no final newline are fine
  assert.deepEqual(parseE4Signal('TEMP', '1495437325\r\n4\r\n31.130000').values, [31_130_000])
  assert.deepEqual(parseE4Signal('HR', '1495437325.000000\n1.000000\n').values, [])
})

test('ACC.csv: three columns of integer 1/64 g counts', () => {
  const f = parseE4Signal(
    'ACC',
    '1495437325.000000, 1495437325.000000, 1495437325.000000\n32.000000, 32.000000, 32.000000\n-9,18,60\n-10,17,61\n',
  )
  assert.equal(f.columns, 3)
  assert.deepEqual(f.values, [-9, 18, 60, -10, 17, 61])
  assert.equal(
    decodeReason(() => parseE4Signal('ACC', '1,1,1\n32,32,32\n1.5,2,3\n')).reason,
    'E4_ACC_NOT_INTEGER',
  )
  assert.equal(decodeReason(() => parseE4Signal('ACC', '1,1,2\n32,32,32\n')).reason, 'E4_HEADER_MISMATCH')
  assert.equal(decodeReason(() => parseE4Signal('ACC', '1,1,1\n32,32,32\n1,2\n')).reason, 'E4_ROW_COLUMNS')
})

test('IBI.csv: start row with label, then offset/interval rows in µs', () => {
  const f = parseE4Ibi('1495437325.000000, IBI\n2.796875,0.796875\n3.578125,0.781250\n')
  assert.equal(f.startUs, 1_495_437_325_000_000)
  assert.deepEqual(f.offsetUs, [2_796_875, 3_578_125])
  assert.deepEqual(f.ibiUs, [796_875, 781_250])
  assert.equal(decodeReason(() => parseE4Ibi('1495437325, HR\n')).reason, 'E4_BAD_HEADER')
  assert.equal(decodeReason(() => parseE4Ibi('1, IBI\n3,0.5\n2,0.5\n')).reason, 'E4_BAD_IBI')
  assert.equal(decodeReason(() => parseE4Ibi('1, IBI\n3,0\n')).reason, 'E4_BAD_IBI')
  assert.equal(decodeReason(() => parseE4Ibi('')).reason, 'E4_TRUNCATED')
})

test('malformed and oversized files give typed errors', () => {
  const r = (s: string | Uint8Array) => decodeReason(() => parseE4Signal('EDA', s))
  assert.equal(r('1495437325\n').reason, 'E4_TRUNCATED')
  assert.equal(r('1495437325\n0\n').reason, 'E4_BAD_RATE')
  assert.equal(r('-1\n4\n').reason, 'E4_BAD_START')
  assert.equal(r('1\n4\n0.1,0.2\n').reason, 'E4_ROW_COLUMNS')
  assert.equal(r('1\n4\n0.1\r0.2\n').reason, 'E4_BAD_LINE_END')
  assert.equal(r('1\n4\n\u00b5S\n').reason, 'E4_NOT_ASCII')
  assert.equal(r(Uint8Array.of(0x31, 0x0a, 0x34, 0x0a, 0x00)).reason, 'E4_NOT_ASCII')
  assert.equal(r('1\n4\nabc\n').reason, 'E4_BAD_DECIMAL')
  assert.deepEqual(r(new Uint8Array(E4_MAX_FILE_BYTES + 1)), {
    code: 'DECODE_TOO_LARGE',
    reason: 'E4_TOO_LARGE',
  })
  assert.equal(decodeReason(() => parseE4Signal('XYZ' as 'EDA', '1\n4\n')).reason, 'E4_UNKNOWN_KIND')
})

test('fuzz: arbitrary text and bytes only ever raise DecodeError', () => {
  const csvish = fc
    .array(fc.constantFrom('0', '1', '9', '.', '-', ',', '\n', '\r', ' ', 'I', 'B', 'e', '\u00e9'), {
      maxLength: 80,
    })
    .map((a) => a.join(''))
  fc.assert(
    fc.property(
      csvish,
      fc.constantFrom('BVP' as const, 'EDA' as const, 'TEMP' as const, 'HR' as const, 'ACC' as const),
      (s, kind) => {
        onlyDecodeErrors(() => parseE4Signal(kind, s))
        onlyDecodeErrors(() => parseE4Ibi(s))
      },
    ),
    { numRuns: 3000 },
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      onlyDecodeErrors(() => parseE4Signal('EDA', b))
      onlyDecodeErrors(() => parseE4Ibi(b))
    }),
    { numRuns: 1000 },
  )
})
