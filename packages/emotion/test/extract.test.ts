// Feature extraction details: E4 IBI.csv as the RR source, skin-contact handling, tiers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { utf8 } from '@pulsemesh/core/bytes.ts'
import { encodeHeartRateMeasurement } from '../src/decode/ble-hrm.ts'
import { extractFeatures } from '../src/extract.ts'
import { MOD_RR } from '../src/quantized.ts'
import type { RawWindow } from '../src/window.ts'

const base = { startMs: 1_700_000_000_000, windowMs: 10_000 }

test('E4 IBI.csv feeds RR features; an offset jump breaks successive-difference adjacency', () => {
  // beats 800, 810, 790 ms, then a 3 s detection gap, then 805, 815 ms
  const csv =
    '1700000000.000000, IBI\n1.000000,0.800000\n1.810000,0.810000\n2.600000,0.790000\n6.405000,0.805000\n7.220000,0.815000\n'
  const w: RawWindow = {
    ...base,
    deviceId: 'e4',
    kind: 'e4',
    tier: 'medical',
    chunks: [{ tag: 'IBI.csv', bytes: utf8(csv) }],
  }
  const f = extractFeatures([w])
  assert.equal(f.quantized.modalities, MOD_RR)
  assert.equal(f.hrv?.beats, 5)
  // pairs: (800,810), (810,790), (805,815): the 790 -> 805 pair spans the gap and is not used
  assert.equal(f.hrv?.pairs, 3)
  // RMSSD = sqrt((100 + 400 + 100)/3) ms = 14.142 ms
  assert.equal(f.quantized.rmssdUs, 14_142)
  assert.equal(f.tier, 'medical')
})

test('RR intervals sent without skin contact are excluded', () => {
  const n = (rr: number[], contact: 'detected' | 'not-detected') => ({
    tag: '2a37',
    bytes: encodeHeartRateMeasurement({ heartRateBpm: 70, rr1024: rr, sensorContact: contact }),
  })
  const w: RawWindow = {
    ...base,
    deviceId: 'hrm',
    kind: 'ble-hrm',
    tier: 'consumer',
    chunks: [n([820, 830], 'detected'), n([400, 1500], 'not-detected'), n([825, 835], 'detected')],
  }
  const f = extractFeatures([w])
  assert.equal(f.hrv?.beats, 4)
  assert.equal(f.hrv?.rejected, 2)
  assert.equal(f.quantized.rrArtifactBp, 3_333)
})
