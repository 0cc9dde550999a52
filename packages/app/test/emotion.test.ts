// The emotion module: devices, attestations, hard failures (failed tx, no module state change),
// anti-gaming flags (only the flag changes), epoch scoring and multipliers.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sign, toHex } from '@pulsemesh/core'
import {
  CopyDevice,
  decodeQuantizedFeatures,
  encodeQuantizedFeatures,
  ReplayDevice,
  TappedDevice,
} from '@pulsemesh/emotion'
import {
  accountIdOf,
  deviceCertificateSignBytes,
  EMOTION_KIND,
  emotionMultiplierPermille,
  emotionValidatorKey,
  emotionViolations,
  getValidatorEmotion,
} from '../src/index.ts'
import {
  deviceKey,
  emotionChain,
  emotionState,
  idOf,
  kit,
  outsider,
  salt,
  type SimWindow,
  windowOf,
} from './emotion-harness.ts'
import { keyFromByte } from './helpers.ts'

// Real simulated windows, generated once: three honest validators over two epochs.
const honestKits = [kit('a', 'calm', 11), kit('b', 'calm', 12), kit('c', 'focused', 13)]
const honest: SimWindow[][] = []
for (let e = 0; e < 2; e++) {
  const row: SimWindow[] = []
  for (let i = 0; i < honestKits.length; i++) row.push(await windowOf(honestKits[i], salt(10 * e + i)))
  honest.push(row)
}
const flat = await windowOf(kit('f', 'calm', 21, 'flat'), salt(90))
const sine = await windowOf(kit('s', 'calm', 22, 'sine'), salt(91))

const devs = [deviceKey(51), deviceKey(52), deviceKey(53, 'secp256k1')]

/** A chain where validators 0..2 have one registered device each (block 1). */
function ready() {
  const c = emotionChain()
  const r = c.block(c.vals.map((v, i) => c.registerDevice(v, devs[i])))
  assert.deepEqual(
    r.results.map((x) => x.error),
    ['', '', ''],
  )
  return c
}

/** Module state without the per-block bookkeeping (nonce ring 05 05, issuance totals 05 08). */
const quiet = (s: string[]) => s.filter((x) => !x.startsWith('0505=') && !x.startsWith('0508='))

function codesOf(r: { results: { error: string }[] }) {
  return r.results.map((x) => x.error)
}

function flagReasons(c: ReturnType<typeof emotionChain>, validatorIndex: number): string[] {
  const addr = c.vals[validatorIndex].address
  const ev = c.events.filter(
    (e) =>
      e.type === 'emotion_flagged' && e.attributes.some((a) => a.key === 'validator' && a.value === addr),
  )
  return ev.map((e) => e.attributes.find((a) => a.key === 'reasons')!.value)
}

describe('emotion module: honest flow', () => {
  test('register, attest, close epoch: deterministic scores and bounded multipliers', () => {
    const c = ready()
    const r = c.block(c.vals.map((v, i) => c.attest(v, devs[i], honest[0][i])))
    assert.deepEqual(codesOf(r), ['', '', ''])
    assert.equal(c.events.filter((e) => e.type === 'emotion_attestation').length, 3)
    c.toEpochEnd()
    const p = c.emotion.keeper.params
    for (let i = 0; i < 3; i++) {
      const rec = getValidatorEmotion(c.store, idOf(c.vals[i]))!
      assert.equal(rec.scoreEpoch, 0n)
      assert.ok(rec.score > 0 && rec.score <= 100)
      const m = emotionMultiplierPermille(c.store, idOf(c.vals[i]))
      assert.ok(m >= p.floorMultiplierPermille && m <= p.maxMultiplierPermille)
      if (rec.eligible) assert.equal(m, p.minMultiplierPermille + Math.floor((1000 * rec.score) / 100))
      else assert.equal(m, p.floorMultiplierPermille)
      assert.equal(emotionViolations(c.store, idOf(c.vals[i])).total, 0)
    }
    assert.ok(getValidatorEmotion(c.store, idOf(c.vals[0]))!.eligible, 'a calm honest validator is eligible')
    // second epoch: fresh windows are accepted against the history
    const r2 = c.block(c.vals.map((v, i) => c.attest(v, devs[i], honest[1][i])))
    assert.deepEqual(codesOf(r2), ['', '', ''])
    c.toEpochEnd()
    assert.equal(c.events.filter((e) => e.type === 'emotion_flagged').length, 0)
    assert.equal(getValidatorEmotion(c.store, idOf(c.vals[0]))!.history.length, 2)
    // an unknown validator has the floor
    assert.equal(emotionMultiplierPermille(c.store, idOf(keyFromByte(99))), p.floorMultiplierPermille)
    const q = c.app.query(
      c.store,
      'emotion',
      'validator',
      { address: c.vals[0].address },
      {
        params: c.genesis.params,
        height: c.height,
      },
    ) as { score: number; lastAttestation: { status: string } }
    assert.equal(q.lastAttestation.status, 'scored')
  })

  test('scores are recomputed identically on a second replica', () => {
    const run = () => {
      const c = ready()
      c.block(c.vals.map((v, i) => c.attest(v, devs[i], honest[0][i])))
      c.toEpochEnd()
      return emotionState(c.store)
    }
    assert.deepEqual(run(), run())
  })

  test('a validator that does not attest falls back to the floor multiplier', () => {
    const c = ready()
    c.block([c.attest(c.vals[0], devs[0], honest[0][0])])
    c.toEpochEnd()
    assert.ok(emotionMultiplierPermille(c.store, idOf(c.vals[0])) > 500)
    c.toEpochEnd()
    c.block()
    c.toEpochEnd()
    assert.equal(emotionMultiplierPermille(c.store, idOf(c.vals[0])), 500)
  })
})

describe('emotion module: bad input fails the tx and changes no module state', () => {
  /** Runs `make` in a block after setup; asserts its code and that emotion state is unchanged. */
  function rejects(
    code: string,
    make: (c: ReturnType<typeof ready>) => ReturnType<ReturnType<typeof ready>['tx']>,
    setup?: (c: ReturnType<typeof ready>) => void,
  ) {
    const c = ready()
    setup?.(c)
    c.block()
    const before = emotionState(c.store)
    const r = c.block([make(c)])
    assert.deepEqual(codesOf(r), [code])
    // beginBlock moves the nonce ring and every block mints its reward; nothing else may change
    assert.deepEqual(quiet(emotionState(c.store)), quiet(before))
  }

  test('forged device signature', () =>
    rejects('BAD_DEVICE_SIGNATURE', (c) =>
      c.attest(c.vals[0], devs[0], honest[0][0], { signWith: deviceKey(77) }),
    ))
  test('unregistered device', () =>
    rejects('UNKNOWN_DEVICE', (c) => c.attest(c.vals[0], deviceKey(78), honest[0][0])))
  test("another validator's device", () =>
    rejects('DEVICE_NOT_OWNED', (c) => c.attest(c.vals[0], devs[1], honest[0][0])))
  test('revoked device', () =>
    rejects(
      'DEVICE_REVOKED',
      (c) => c.attest(c.vals[0], devs[0], honest[0][0]),
      (c) => assert.deepEqual(codesOf(c.block([c.revokeDevice(c.vals[0], devs[0])])), ['']),
    ))
  test('stale nonce', () =>
    rejects(
      'NONCE_STALE',
      (c) => c.attest(c.vals[0], devs[0], honest[0][0], { nonceHeight: 1n }),
      (c) => {
        for (let i = 0; i < 6; i++) c.block()
      },
    ))
  test('future nonce', () =>
    rejects('NONCE_FUTURE', (c) =>
      c.attest(c.vals[0], devs[0], honest[0][0], {
        nonceHeight: c.height + 1n,
        nonceHash: new Uint8Array(32).fill(9),
      }),
    ))
  test('nonce hash that is not the block at that height', () =>
    rejects('NONCE_UNKNOWN', (c) =>
      c.attest(c.vals[0], devs[0], honest[0][0], { nonceHash: new Uint8Array(32).fill(7) }),
    ))
  test('attestation for another epoch', () =>
    rejects('WRONG_EPOCH', (c) => c.attest(c.vals[0], devs[0], honest[0][0], { epoch: 5n })))
  test('second attestation in an epoch', () =>
    rejects(
      'ALREADY_ATTESTED',
      (c) => c.attest(c.vals[0], devs[0], honest[0][1]),
      (c) => assert.deepEqual(codesOf(c.block([c.attest(c.vals[0], devs[0], honest[0][0])])), ['']),
    ))
  test('out-of-range feature values', () => {
    const bad = honest[0][0].features.slice()
    bad[40 + 3] = 101 // rrQuality (field 10) = 101 > 100
    bad[40] = 0
    bad[41] = 0
    bad[42] = 0
    rejects('FEATURES_OUT_OF_RANGE', (c) => c.attest(c.vals[0], devs[0], { ...honest[0][0], features: bad }))
  })
  test('registration by an account that is not a validator', () =>
    rejects('NOT_A_VALIDATOR', (c) => c.registerDevice(outsider, deviceKey(60))))
  test('a device key registered twice', () =>
    rejects('DEVICE_EXISTS', (c) => c.registerDevice(c.vals[1], devs[0])))
  test('a tier above consumer without a certificate', () =>
    rejects('DEVICE_CERT_REQUIRED', (c) => c.registerDevice(c.vals[0], deviceKey(61), 'medical')))
  test('a malformed payload is refused before execution', () => {
    const c = ready()
    const tx = c.tx(c.vals[0], EMOTION_KIND.attest, new Uint8Array(10))
    assert.throws(
      () => c.block([tx]),
      (e: Error & { code?: string }) => e.code === 'BLOCK_INVALID',
    )
  })
})

describe('emotion module: device certificates', () => {
  const root = keyFromByte(70)
  const params = { manufacturers: [{ name: 'acme', key: root.publicKey }] }
  test('a valid manufacturer certificate admits a medical device; a bad one is refused', () => {
    const c = emotionChain({ params })
    const d = deviceKey(62)
    const good = sign(root.scheme, root.secretKey, deviceCertificateSignBytes('hub', d.publicKey, 'medical'))
    const forged = sign(
      'ed25519',
      deviceKey(63).secretKey,
      deviceCertificateSignBytes('hub', deviceKey(64).publicKey, 'medical'),
    )
    const r = c.block([
      c.registerDevice(c.vals[0], d, 'medical', 0, good),
      c.registerDevice(c.vals[1], deviceKey(64), 'medical', 0, forged),
      c.registerDevice(c.vals[2], deviceKey(65), 'medical', 3, good),
    ])
    assert.deepEqual(codesOf(r), ['', 'DEVICE_CERT_INVALID', 'DEVICE_CERT_INVALID'])
    const q = c.app.query(
      c.store,
      'emotion',
      'device',
      { id: toHex(accountIdOf(d.publicKey)) },
      { params: c.genesis.params, height: c.height },
    ) as { tier: string; certified: boolean }
    assert.deepEqual([q.tier, q.certified], ['medical', true])
  })
  test('uncertified devices can be disallowed', () => {
    const c = emotionChain({ params: { ...params, allowUncertifiedDevices: false } })
    assert.deepEqual(codesOf(c.block([c.registerDevice(c.vals[0], deviceKey(66))])), ['DEVICE_CERT_REQUIRED'])
  })
})

describe('emotion module: anti-gaming flags (tx succeeds, only the flag changes)', () => {
  /** Attests `w` for validator 0 in a fresh epoch-1 block; returns the chain after it. */
  function flagged(w: SimWindow, expect: string[], setup?: (c: ReturnType<typeof ready>) => void) {
    const c = ready()
    setup?.(c)
    const v = idOf(c.vals[0])
    const before = emotionState(c.store)
    const recBefore = getValidatorEmotion(c.store, v)!
    const r = c.block([c.attest(c.vals[0], devs[0], w)])
    assert.deepEqual(codesOf(r), [''])
    const reasons = flagReasons(c, 0).at(-1)!.split(',')
    for (const code of expect) assert.ok(reasons.includes(code), `${reasons} includes ${code}`)
    // state: only the validator record, and in it only the flag fields
    const changed = quiet(emotionState(c.store)).filter((x) => !before.includes(x))
    assert.deepEqual(
      changed.map((x) => x.split('=')[0]),
      [toHex(emotionValidatorKey(v))],
    )
    const rec = getValidatorEmotion(c.store, v)!
    assert.deepEqual(
      { ...rec, violations: 0, lastViolationEpoch: 0n, lastReasons: [], lastAttestedEpoch: 0n },
      { ...recBefore, violations: 0, lastViolationEpoch: 0n, lastReasons: [], lastAttestedEpoch: 0n },
    )
    const viol = emotionViolations(c.store, v)
    assert.equal(viol.total, recBefore.violations + 1)
    for (const code of expect) assert.ok(viol.lastReasons.includes(code))
    c.toEpochEnd()
    assert.equal(emotionMultiplierPermille(c.store, v), c.emotion.keeper.params.floorMultiplierPermille)
  }

  test('flat signals: ZERO_VARIABILITY', () => flagged(flat, ['ZERO_VARIABILITY']))
  test('perfect sine RR: TOO_REGULAR', () => flagged(sine, ['TOO_REGULAR']))
  test('implausible physiology: OUT_OF_RANGE_PHYSIOLOGY', () => {
    const q = decodeQuantizedFeatures(honest[0][0].features)
    const features = encodeQuantizedFeatures({ ...q, hrCentiBpm: 26_000 })
    flagged({ ...honest[0][0], features }, ['OUT_OF_RANGE_PHYSIOLOGY'])
  })
  test('replayed window with a fresh salt: IDENTICAL_FEATURES', () =>
    flagged({ ...honest[0][0], commitment: honest[1][0].commitment }, ['IDENTICAL_FEATURES'], (c) => {
      c.block([c.attest(c.vals[0], devs[0], honest[0][0])])
      c.toEpochEnd()
    }))
  test('replayed window and commitment: REPLAYED_COMMITMENT', () =>
    flagged(honest[0][0], ['REPLAYED_COMMITMENT', 'IDENTICAL_FEATURES'], (c) => {
      c.block([c.attest(c.vals[0], devs[0], honest[0][0])])
      c.toEpochEnd()
    }))
  test('ReplayDevice from the simulator is caught in the next epoch', async () => {
    const replay = kit('r', 'calm', 31).map((d) => new ReplayDevice(d))
    const w1 = await windowOf(replay, salt(100))
    const w2 = await windowOf(replay, salt(101))
    flagged(w2, ['IDENTICAL_FEATURES'], (c) => {
      c.block([c.attest(c.vals[0], devs[0], w1)])
      c.toEpochEnd()
    })
  })
  test('CopyDevice: both validators flagged NEAR_IDENTICAL_ACROSS_VALIDATORS at the end of the epoch', async () => {
    const victim = kit('v', 'calm', 41).map((d) => new TappedDevice(d))
    const wv = await windowOf(victim, salt(110))
    const wc = await windowOf(
      victim.map((d, i) => new CopyDevice(`copy-${i}`, d)),
      salt(111),
    )
    const c = ready()
    const r = c.block([
      c.attest(c.vals[0], devs[0], wv),
      c.attest(c.vals[1], devs[1], wc),
      c.attest(c.vals[2], devs[2], honest[0][2]),
    ])
    assert.deepEqual(codesOf(r), ['', '', ''])
    assert.equal(flagReasons(c, 0).length, 0, 'not flagged before the epoch closes')
    c.toEpochEnd()
    for (const i of [0, 1]) {
      assert.deepEqual(flagReasons(c, i), ['NEAR_IDENTICAL_ACROSS_VALIDATORS'])
      const v = emotionViolations(c.store, idOf(c.vals[i]))
      assert.deepEqual([v.total, v.lastReasons], [1, ['NEAR_IDENTICAL_ACROSS_VALIDATORS']])
      assert.equal(emotionMultiplierPermille(c.store, idOf(c.vals[i])), 500)
      assert.equal(
        getValidatorEmotion(c.store, idOf(c.vals[i]))!.history.length,
        0,
        'flagged record not kept',
      )
    }
    assert.equal(flagReasons(c, 2).length, 0)
    assert.ok(getValidatorEmotion(c.store, idOf(c.vals[2]))!.score > 0)
    const q = c.app.query(
      c.store,
      'emotion',
      'violations',
      {},
      { params: c.genesis.params, height: c.height },
    ) as unknown[]
    assert.equal(q.length, 2)
  })
})

describe('emotion module: queries', () => {
  test('params, issuance, activeSet, device (bad id is a typed error)', () => {
    const c = ready()
    c.block(c.vals.map((v, i) => c.attest(v, devs[i], honest[0][i])))
    c.toEpochEnd()
    const q = (name: string, args: Record<string, string> = {}) =>
      c.app.query(c.store, 'emotion', name, args, { params: c.genesis.params, height: c.height })
    assert.equal((q('params') as { blocksPerEpoch: string }).blocksPerEpoch, '10')
    const iss = q('issuance') as { minted: string; scheduled: string }
    assert.equal(iss.minted, iss.scheduled)
    const set = q('activeSet', { size: '2' }) as { address: string; multiplierPermille: number }[]
    assert.equal(set.length, 2)
    assert.ok(set[0].multiplierPermille >= set[1].multiplierPermille)
    assert.throws(
      () => q('device', { id: 'zz' }),
      (e: Error & { code?: string }) => e.code === 'EMOTION_BAD_QUERY',
    )
    assert.equal(q('device', { id: '00'.repeat(20) }), null)
  })
})
