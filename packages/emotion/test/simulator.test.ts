// End to end: simulated devices (real wire formats) -> decoders -> features -> scores/detectors,
// for honest personas and for each attack.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toHex } from '@pulsemesh/core/bytes.ts'
import { DecodeError, PulseError } from '@pulsemesh/core/errors.ts'
import { processWindow, readDevices } from '../src/agent.ts'
import { decodeHeartRateMeasurement } from '../src/decode/ble-hrm.ts'
import { parseE4Signal } from '../src/decode/e4-csv.ts'
import { ThinkGearStreamParser } from '../src/decode/thinkgear.ts'
import { type PeerFeatures, detectAnomalies } from '../src/detectors.ts'
import { extractFeatures } from '../src/extract.ts'
import { type QuantizedFeatures, encodeQuantizedFeatures } from '../src/quantized.ts'
import { scoreFeatures } from '../src/scores.ts'
import { CopyDevice, ReplayDevice, SimulatedDevice, TappedDevice } from '../src/sim/devices.ts'
import type { SimMode } from '../src/sim/generators.ts'
import { PERSONAS } from '../src/sim/personas.ts'
import { type BiometricDevice, type RawWindow, encodeWindowBundle } from '../src/window.ts'

const WINDOW = 60_000
const SALT = new Uint8Array(16).fill(1)
type PersonaName = keyof typeof PERSONAS

function kit(
  validator: string,
  persona: PersonaName,
  seed: number,
  mode: SimMode = 'honest',
  eeg: 'muse' | 'thinkgear' = 'muse',
): BiometricDevice[] {
  const p = PERSONAS[persona]
  return [
    new SimulatedDevice({ id: `${validator}-hrm`, kind: 'ble-hrm', persona: p, seed, mode }),
    new SimulatedDevice({ id: `${validator}-e4`, kind: 'e4', persona: p, seed, mode, tier: 'medical' }),
    new SimulatedDevice({ id: `${validator}-eeg`, kind: eeg, persona: p, seed, mode }),
  ]
}

async function window(devices: BiometricDevice[], salt = SALT) {
  const raw = await readDevices(devices, WINDOW)
  const r = processWindow(raw, salt)
  return { raw, q: r.features.quantized, commitment: r.commitment, features: r.features }
}

test('simulated devices are deterministic and emit decodable wire formats', async () => {
  const a = await readDevices(kit('v', 'calm', 7), WINDOW)
  const b = await readDevices(kit('v', 'calm', 7), WINDOW)
  assert.deepEqual(encodeWindowBundle(a), encodeWindowBundle(b))
  const c = await readDevices(kit('v', 'calm', 8), WINDOW)
  assert.notDeepEqual(encodeWindowBundle(a), encodeWindowBundle(c))
  const byKind = (k: string) => a.find((w) => w.kind === k)!
  const hrm = byKind('ble-hrm')
  assert.equal(hrm.chunks.length, 60) // one notification per second
  let beats = 0
  for (const ch of hrm.chunks) beats += decodeHeartRateMeasurement(ch.bytes).rrUs.length
  assert.ok(beats > 55 && beats < 75, `beats ${beats}`)
  const muse = byKind('muse')
  assert.equal(muse.chunks.length, 4 * 1280) // 60 s × 256 Hz / 12 samples, 4 electrodes
  assert.ok(muse.chunks.every((ch) => ch.bytes.length === 20))
  const eda = parseE4Signal('EDA', byKind('e4').chunks[0].bytes)
  assert.equal(eda.values.length, 240)
  assert.equal(eda.rateMicroHz, 4_000_000)
})

test('calm persona is eligible; stressed scores higher stress; NeuroSky path works', async () => {
  for (const seed of [1, 2, 3]) {
    const calm = await window(kit('c', 'calm', seed))
    const stressed = await window(kit('s', 'stressed', seed))
    const cs = scoreFeatures(calm.q, { tier: calm.features.tier, anomalies: detectAnomalies(calm.q) })
    const ss = scoreFeatures(stressed.q, {
      tier: stressed.features.tier,
      anomalies: detectAnomalies(stressed.q),
    })
    assert.equal(cs.eligible, true, `calm seed ${seed}: ${JSON.stringify(cs)}`)
    assert.ok(ss.stress > cs.stress + 30, `stress calm ${cs.stress} vs stressed ${ss.stress}`)
    assert.ok(ss.arousal > cs.arousal)
    assert.ok(stressed.q.hrCentiBpm > calm.q.hrCentiBpm && stressed.q.rmssdUs < calm.q.rmssdUs)
    assert.equal(calm.features.tier, 'consumer') // the weakest device caps
    assert.ok(cs.score <= 85)
  }
  const tg = await window(kit('n', 'focused', 5, 'honest', 'thinkgear'))
  assert.equal(tg.features.eeg.length, 1)
  assert.ok(tg.q.eegQuality >= 90 && tg.q.eegChannels === 1, JSON.stringify(tg.q))
  assert.ok(tg.q.engagementMilli > 600)
  // the simulated serial line carries noise bytes that the parser skipped
  const parser = new ThinkGearStreamParser()
  for (const ch of tg.raw.find((w) => w.kind === 'thinkgear')!.chunks) parser.push(ch.bytes)
  assert.ok(parser.stats.droppedBytes > 0 && parser.stats.packets > 30_000)
})

test('honest validators are not flagged, against their own history or each other', async () => {
  const validators: { id: string; devices: BiometricDevice[] }[] = [
    { id: 'val-a', devices: kit('a', 'calm', 11) },
    { id: 'val-b', devices: kit('b', 'calm', 12) },
    { id: 'val-c', devices: kit('c', 'focused', 13) },
    { id: 'val-d', devices: kit('d', 'stressed', 14) },
  ]
  const history = new Map<string, QuantizedFeatures[]>()
  const seen = new Set<string>()
  for (let epoch = 0; epoch < 2; epoch++) {
    const results = []
    for (const v of validators)
      results.push({ id: v.id, ...(await window(v.devices, new Uint8Array(16).fill(epoch + 1))) })
    for (const r of results) {
      const peers: PeerFeatures[] = results
        .filter((o) => o.id !== r.id)
        .map((o) => ({ validator: o.id, features: o.q }))
      const an = detectAnomalies(r.q, {
        previous: history.get(r.id) ?? [],
        peers,
        commitment: r.commitment,
        seenCommitment: (h) => seen.has(h),
      })
      assert.deepEqual(an, [], `${r.id} epoch ${epoch}`)
    }
    for (const r of results) {
      history.set(r.id, [...(history.get(r.id) ?? []), r.q])
      seen.add(toHex(r.commitment))
    }
  }
})

test('attack: flat line -> ZERO_VARIABILITY', async () => {
  const w = await window(kit('f', 'calm', 3, 'flat'))
  const an = detectAnomalies(w.q)
  assert.deepEqual(
    an.filter((a) => a.code === 'ZERO_VARIABILITY').map((a) => a.detail),
    ['eda', 'eeg', 'rr'],
  )
  const s = scoreFeatures(w.q, { tier: 'consumer', anomalies: an })
  assert.equal(s.eligible, false)
  assert.equal(s.authenticity, 0)
})

test('attack: synthetic periodic RR (perfect sine) -> TOO_REGULAR', async () => {
  for (const persona of ['calm', 'stressed'] as const) {
    const w = await window(kit('p', persona, 4, 'sine'))
    const an = detectAnomalies(w.q)
    assert.deepEqual(an, [{ code: 'TOO_REGULAR', detail: 'rr.sampen' }], persona)
    assert.ok(w.q.sdnnUs > 2_000) // it does vary: only its regularity gives it away
  }
})

test('attack: replayed window -> REPLAYED_COMMITMENT (same salt) and IDENTICAL_FEATURES (fresh salt)', async () => {
  const devices = kit('r', 'calm', 5).map((d) => new ReplayDevice(d))
  const first = await window(devices)
  const seen = new Set([toHex(first.commitment)])
  const again = await window(devices)
  const an = detectAnomalies(again.q, {
    previous: [first.q],
    commitment: again.commitment,
    seenCommitment: (h) => seen.has(h),
  })
  assert.deepEqual(
    an.map((a) => a.code),
    ['IDENTICAL_FEATURES', 'REPLAYED_COMMITMENT'],
  )
  const resalted = await window(devices, new Uint8Array(16).fill(9))
  const an2 = detectAnomalies(resalted.q, {
    previous: [first.q],
    commitment: resalted.commitment,
    seenCommitment: (h) => seen.has(h),
  })
  assert.deepEqual(
    an2.map((a) => a.code),
    ['IDENTICAL_FEATURES'],
  )
})

test("attack: copy of another validator's data -> NEAR_IDENTICAL_ACROSS_VALIDATORS", async () => {
  const victim = kit('v', 'focused', 6).map((d) => new TappedDevice(d))
  const v = await window(victim)
  const copier = victim.map((d) => new CopyDevice(`x-${d.kind}`, d as TappedDevice))
  const x = await window(copier, new Uint8Array(16).fill(5)) // its own salt: a different commitment
  assert.notDeepEqual(x.commitment, v.commitment)
  const an = detectAnomalies(x.q, { peers: [{ validator: 'val-victim', features: v.q }] })
  assert.deepEqual(an, [{ code: 'NEAR_IDENTICAL_ACROSS_VALIDATORS', detail: 'val-victim' }])
})

test('bundle and decode errors are typed', async () => {
  const raw = await readDevices(kit('e', 'calm', 9), WINDOW)
  assert.throws(
    () => extractFeatures([...raw, { ...raw[0], deviceId: 'dup' }]),
    (e: unknown) => e instanceof PulseError && e.code === 'EMOTION_BAD_BUNDLE',
  )
  assert.throws(
    () => extractFeatures([]),
    (e: unknown) => e instanceof PulseError && e.code === 'EMOTION_BAD_BUNDLE',
  )
  const hrm = raw.find((w) => w.kind === 'ble-hrm')!
  const broken: RawWindow = {
    ...hrm,
    chunks: [...hrm.chunks, { tag: '2a37', bytes: Uint8Array.of(0x10, 0x40, 0x01) }],
  }
  assert.throws(
    () => extractFeatures([broken]),
    (e: unknown) => e instanceof DecodeError && e.meta.reason === 'HRM_RR_ODD',
  )
  const wrongTag: RawWindow = { ...hrm, chunks: [{ tag: 'TP9', bytes: hrm.chunks[0].bytes }] }
  assert.throws(
    () => extractFeatures([wrongTag]),
    (e: unknown) => e instanceof DecodeError && e.meta.reason === 'WINDOW_BAD_TAG',
  )
})

// Regression vector: integer-only processing must give these exact bytes on every engine.
test('golden vector: calm persona, seed 42, first 60 s window', async () => {
  const w = await window(kit('g', 'calm', 42))
  assert.equal(toHex(encodeQuantizedFeatures(w.q)), GOLDEN_Q)
  assert.equal(toHex(w.commitment), GOLDEN_COMMIT)
})

const GOLDEN_Q =
  '000000010000ea600000000f000000410000000000001969000094d800008d09000007ef0000092f00000063000007d000000057000000030000012c0000006400000004000009ed0000049900000f4100000873000000d70000008f000001aa0000012d000001a60000006400000000'
const GOLDEN_COMMIT = 'df22298642c0d78baa9e0d7b81b64d60bf343daea120f02eadcc6983981d800a'
