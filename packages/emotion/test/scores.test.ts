// Scores from QuantizedFeatures: hand-computed against the documented formulas, parameters,
// tier caps and eligibility; detectors on constructed records.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PulseError } from '@pulsemesh/core/errors.ts'
import {
  detectAnomalies,
  detectIdenticalFeatures,
  detectNearIdenticalAcrossValidators,
  detectReplayedCommitment,
  nearIdentical,
} from '../src/detectors.ts'
import { DEFAULT_EMOTION_PARAMS, validateParams, withParams } from '../src/params.ts'
import {
  MOD_EDA,
  MOD_EEG,
  MOD_FAA,
  MOD_RR,
  type QuantizedFeatures,
  emptyQuantizedFeatures,
} from '../src/quantized.ts'
import { scoreFeatures } from '../src/scores.ts'

function sample(): QuantizedFeatures {
  const q = emptyQuantizedFeatures(60_000)
  Object.assign(q, {
    modalities: MOD_RR | MOD_EDA | MOD_EEG | MOD_FAA,
    beats: 70,
    hrCentiBpm: 8_000, // +15 bpm over the 65 bpm default rest
    rmssdUs: 37_500, // halfway between 60 and 15 ms
    sdnnUs: 30_000,
    pnn50Bp: 1_000,
    sampEnMilli: 1_500,
    rrQuality: 100,
    edaTonicNanoS: 8_000, // halfway 1..15 µS
    edaRangeNanoS: 300,
    scrCount: 5,
    scrPerMinCenti: 550, // halfway 1..10 per min
    edaQuality: 80,
    eegChannels: 4,
    alphaBp: 3_000,
    eegTotalUv2: 150,
    engagementMilli: 350, // halfway 0.1..0.6
    thetaAlphaMilli: 1_650, // halfway 0.8..2.5
    faaMilliNp: 200, // 3/4 of -0.4..0.4
    eegQuality: 90,
  })
  return q
}

test('hand-computed scores for a sample record', () => {
  const s = scoreFeatures(sample(), { tier: 'medical' })
  // stress = (350·50 + 350·50 + 300·50) / 1000 = 50
  assert.equal(s.stress, 50)
  assert.equal(s.focus, 50)
  // arousal = (400·50 + 300·50 + 300·50)/1000 = 50
  assert.equal(s.arousal, 50)
  assert.equal(s.valence, 75)
  // fatigue: only theta/alpha (no previous window) = 50
  assert.equal(s.fatigue, 50)
  // confidence = (100·400 + 90·400 + 80·200) / 1000 = 92
  assert.equal(s.confidence, 92)
  // authenticity = min(lin(1500; 300..800) = 100, lin(30 ms; 2..8 ms) = 100)
  assert.equal(s.authenticity, 100)
  // score = (200·50 + 200·50 + 200·100 + 100·75 + 100·50 + 100·50 + 100·92) / 1000 = 66.7 -> 67
  assert.equal(s.rawScore, 67)
  assert.equal(s.score, 67)
  assert.equal(s.eligible, false)
  assert.deepEqual(s.ineligibleReasons, ['LOW_SCORE'])
})

test('tier caps, eligibility thresholds and weights are parameters', () => {
  const q = sample()
  q.hrCentiBpm = 6_500
  q.rmssdUs = 60_000
  q.scrPerMinCenti = 100
  q.engagementMilli = 600
  const s = scoreFeatures(q, { tier: 'medical' })
  assert.equal(s.stress, 0)
  // arousal = (400·lin(8 µS) + 300·0 + 300·0)/1000 = 20; score = (200·100·3 + 100·(75 + 20 + 50 + 92))/1000 = 83.7
  assert.equal(s.arousal, 20)
  assert.equal(s.rawScore, 84) // 83.7
  assert.equal(s.eligible, true)
  assert.equal(
    scoreFeatures(
      q,
      { tier: 'consumer' },
      withParams({ tierCap: { consumer: 75, professional: 95, medical: 100 } }),
    ).score,
    75,
  )
  const strict = withParams({ minScore: 90 })
  assert.deepEqual(scoreFeatures(q, { tier: 'medical' }, strict).ineligibleReasons, ['LOW_SCORE'])
  const noFocus = withParams({
    scoreWeights: {
      calm: 300,
      focus: 0,
      authenticity: 300,
      valence: 100,
      arousal: 100,
      rested: 100,
      confidence: 100,
    },
  })
  assert.equal(scoreFeatures(q, { tier: 'medical' }, noFocus).rawScore, 84)
  // a per-validator resting baseline shifts HR elevation
  assert.equal(scoreFeatures(q, { tier: 'medical', restingHrCentiBpm: 5_000 }).stress, 18) // +15 bpm -> 50 · 350/1000
})

test('fatigue uses the RMSSD decline against the previous window; absent modalities are neutral', () => {
  const prev = sample()
  const cur = sample()
  cur.rmssdUs = 26_250 // 30% decline
  const s = scoreFeatures(cur, { tier: 'medical', previous: prev })
  assert.equal(s.fatigue, 70) // (600·50 + 400·100)/1000
  const rrOnly = emptyQuantizedFeatures(60_000)
  Object.assign(rrOnly, {
    modalities: MOD_RR,
    beats: 70,
    hrCentiBpm: 6_500,
    rmssdUs: 60_000,
    sdnnUs: 50_000,
    sampEnMilli: 1_500,
    rrQuality: 100,
  })
  const r = scoreFeatures(rrOnly, { tier: 'medical' })
  assert.equal(r.focus, DEFAULT_EMOTION_PARAMS.missingScore)
  assert.equal(r.valence, DEFAULT_EMOTION_PARAMS.missingScore)
  assert.equal(r.confidence, 40) // only the RR share of confidence
  const none = scoreFeatures(emptyQuantizedFeatures(60_000), { tier: 'medical' })
  assert.equal(none.authenticity, 0)
  assert.equal(none.eligible, false)
})

test('anomalies zero authenticity and block eligibility', () => {
  const q = sample()
  q.sampEnMilli = 100
  const an = detectAnomalies(q)
  assert.deepEqual(an, [{ code: 'TOO_REGULAR', detail: 'rr.sampen' }])
  const s = scoreFeatures(q, { tier: 'medical', anomalies: an })
  assert.equal(s.authenticity, 0)
  assert.deepEqual(s.ineligibleReasons, ['ANOMALY', 'LOW_AUTHENTICITY', 'LOW_SCORE'])
})

test('detectors: zero variability, out of range, identical, near-identical, replay', () => {
  const q = sample()
  assert.deepEqual(detectAnomalies(q), [])
  const flat = { ...q, sdnnUs: 0, rmssdUs: 0, edaRangeNanoS: 0, eegFlatBp: 9_000 }
  assert.deepEqual(
    detectAnomalies(flat)
      .filter((a) => a.code === 'ZERO_VARIABILITY')
      .map((a) => a.detail),
    ['eda', 'eeg', 'rr'],
  )
  assert.deepEqual(detectAnomalies({ ...q, hrCentiBpm: 25_000 }), [
    { code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'rr.hr' },
  ])
  assert.deepEqual(detectAnomalies({ ...q, edaTonicNanoS: 200_000 }), [
    { code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'eda.tonic' },
  ])
  assert.deepEqual(detectIdenticalFeatures(q, [sample()]), [
    { code: 'IDENTICAL_FEATURES', detail: 'previous#0' },
  ])
  assert.deepEqual(detectIdenticalFeatures(q, [{ ...q, scrCount: 6 }]), [])
  // within 1%: near-identical; 5% apart on RMSSD: not
  const close = { ...q, hrCentiBpm: 8_040, rmssdUs: 37_700, sdnnUs: 30_100 }
  assert.ok(nearIdentical(q, close))
  assert.ok(!nearIdentical(q, { ...q, rmssdUs: 39_500 }))
  assert.deepEqual(
    detectNearIdenticalAcrossValidators(q, [
      { validator: 'val-b', features: close },
      { validator: 'val-a', features: close },
      { validator: 'val-c', features: { ...q, rmssdUs: 45_000 } },
    ]),
    [
      { code: 'NEAR_IDENTICAL_ACROSS_VALIDATORS', detail: 'val-a' },
      { code: 'NEAR_IDENTICAL_ACROSS_VALIDATORS', detail: 'val-b' },
    ],
  )
  const seen = new Set(['ab'.repeat(32)])
  assert.deepEqual(
    detectReplayedCommitment(new Uint8Array(32).fill(0xab), (h) => seen.has(h)),
    [{ code: 'REPLAYED_COMMITMENT', detail: 'ab'.repeat(32) }],
  )
  assert.deepEqual(
    detectReplayedCommitment(new Uint8Array(32), (h) => seen.has(h)),
    [],
  )
})

test('invalid params are rejected with EMOTION_PARAMS_INVALID', () => {
  const bad = (o: object) =>
    assert.throws(
      () => validateParams({ ...DEFAULT_EMOTION_PARAMS, ...o }),
      (e: unknown) => e instanceof PulseError && e.code === 'EMOTION_PARAMS_INVALID',
    )
  bad({ scoreWeights: { ...DEFAULT_EMOTION_PARAMS.scoreWeights, calm: 300 } })
  bad({ minScore: 101 })
  bad({ stress: { ...DEFAULT_EMOTION_PARAMS.stress, weights: [500, 500, 1] } })
  bad({ tierCap: { consumer: 1.5, professional: 95, medical: 100 } })
  bad({ rrArtifact: { ...DEFAULT_EMOTION_PARAMS.rrArtifact, maxRrUs: 1 } })
  assert.equal(validateParams(DEFAULT_EMOTION_PARAMS), DEFAULT_EMOTION_PARAMS)
})

test('scoring rejects malformed records, tiers and baselines with typed errors', () => {
  const code = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      assert.ok(e instanceof PulseError)
      return e.code
    }
    assert.fail('expected a PulseError')
  }
  assert.equal(
    code(() => scoreFeatures({ ...sample(), hrCentiBpm: 12.5 }, { tier: 'medical' })),
    'EMOTION_QF_RANGE',
  )
  assert.equal(
    code(() => scoreFeatures({ ...sample(), eegQuality: -1 }, { tier: 'medical' })),
    'EMOTION_QF_RANGE',
  )
  assert.equal(
    code(() => scoreFeatures(null as unknown as QuantizedFeatures, { tier: 'medical' })),
    'EMOTION_QF_RANGE',
  )
  assert.equal(
    code(() => scoreFeatures(sample(), { tier: 'platinum' as 'medical' })),
    'EMOTION_BAD_TIER',
  )
  assert.equal(
    code(() => scoreFeatures(sample(), { tier: 'medical', restingHrCentiBpm: 0 })),
    'EMOTION_BAD_BASELINE',
  )
  assert.equal(
    code(() => scoreFeatures(sample(), { tier: 'medical' }, { ...DEFAULT_EMOTION_PARAMS, minScore: -1 })),
    'EMOTION_PARAMS_INVALID',
  )
})
