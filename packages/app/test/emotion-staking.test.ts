// Staking with Proof of Emotion weighting (EmotionalChain): voting power = stake × the emotion
// multiplier at the epoch's end, set ranked by the same weight; repeated anti-gaming violations jail
// and slash through staking. Real simulated windows (honest and attacking devices).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ChainEvent, type KeyPair, parseAddress, sha256, sign, toHex, u64be } from '@pulsemesh/core'
import { CopyDevice, ReplayDevice, TappedDevice } from '@pulsemesh/emotion'
import {
  App,
  accountIdOf,
  attestationSignBytes,
  bankModule,
  COMMUNITY_POOL,
  createEmotionModule,
  createStakingModule,
  type DecodedTx,
  decodeU128,
  EMOTION_KIND,
  type EmotionStakingParams,
  emotionMultiplierPermille,
  emotionViolations,
  encodeAttest,
  encodeRegisterDevice,
  getActiveSet,
  getBalance,
  getSupply,
  getTotals,
  getValidator,
  MemoryStore,
  NO_MANUFACTURER,
  Overlay,
  STAKING_POOL,
  type ValidatorUpdate,
} from '../src/index.ts'
import { deviceKey, emoGenesis, kit, outsider, type SimWindow, salt, windowOf } from './emotion-harness.ts'
import { keyFromByte, signed, type TestKey, validator } from './helpers.ts'

const B = 10n
const vals = [keyFromByte(11), keyFromByte(12), keyFromByte(13), keyFromByte(14)]
const ATTACKER = 3
const devs = vals.map((_, i) => deviceKey(61 + i))
const id = (k: TestKey) => parseAddress(k.address).bytes

// Honest windows: validator i in epoch e (fresh readings each epoch).
const honestKits = [kit('h0', 'calm', 211), kit('h1', 'calm', 212), kit('h2', 'focused', 213)]
const honest: SimWindow[][] = []
for (let e = 0; e < 3; e++)
  honest.push(await Promise.all(honestKits.map((k, i) => windowOf(k, salt(500 + 10 * e + i)))))
const flat = [await windowOf(kit('f', 'calm', 221, 'flat'), salt(600))]
flat.push(await windowOf(kit('f', 'calm', 221, 'flat'), salt(601)))
const sine = await windowOf(kit('s', 'calm', 222, 'sine'), salt(602))

function chain(emotion: Partial<EmotionStakingParams> | false = {}) {
  const genesis = {
    ...emoGenesis([...vals, outsider]),
    validators: vals.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey.bytes, power: 1000n })),
  }
  const em = createEmotionModule({ params: { blocksPerEpoch: B, nonceWindowBlocks: 5 } })
  const staking = createStakingModule({
    unbondingBlocks: 50n,
    emotion:
      emotion === false
        ? undefined
        : {
            blocksPerEpoch: B,
            violationsToJail: 3,
            violationWindowEpochs: 4n,
            slashViolations: { numerator: 1n, denominator: 100n },
            violationJailBlocks: 20n,
            ...emotion,
          },
  })
  const app = new App(genesis.params, [bankModule, staking, em])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  const nonces = new Map<string, bigint>()
  const hashes: Uint8Array[] = [new Uint8Array(32)]
  const events: ChainEvent[] = []
  const updates: ValidatorUpdate[][] = []
  let height = 0n
  const c = {
    app,
    store,
    genesis,
    events,
    updates,
    get height() {
      return height
    },
    tx(k: TestKey, kind: number, payload: Uint8Array): DecodedTx {
      const n = nonces.get(k.address) ?? 0n
      nonces.set(k.address, n + 1n)
      return signed(k, { kind, payload, nonce: n, expiresAt: 1_000_000n })
    },
    block(txs: DecodedTx[] = []) {
      height++
      const o = new Overlay(store)
      const exec = app.executeBlock(
        o,
        txs,
        {
          networkId: genesis.networkId,
          height,
          timeMs: 1_700_000_000_000n + height * 1000n,
          proposer: validator.publicKey.bytes,
          params: genesis.params,
          prevHash: hashes[Number(height) - 1],
        },
        { mode: 'validate', verifySignatures: false },
      )
      o.commit()
      hashes.push(sha256(u64be(height)))
      for (const r of exec.results) {
        assert.equal(r.error, '', 'every tx of these tests succeeds')
        events.push(...r.events)
      }
      events.push(...exec.endEvents)
      updates.push(exec.validatorUpdates)
      return exec
    },
    toEpochEnd() {
      while (height % B !== 0n || height === 0n) c.block()
    },
    attest(i: number, w: SimWindow) {
      const dev: KeyPair = devs[i]
      const body = {
        epoch: height / B, // epoch of the next block, height + 1
        nonceHeight: height,
        nonceHash: hashes[Number(height)],
        features: w.features,
        commitment: w.commitment,
        tier: 'medical' as const,
        claimedScore: 80,
        device: accountIdOf(dev.publicKey),
      }
      const sig = sign(dev.scheme, dev.secretKey, attestationSignBytes(genesis.networkId, id(vals[i]), body))
      return c.tx(vals[i], EMOTION_KIND.attest, encodeAttest({ ...body, deviceSignature: sig }))
    },
    /** Power of validator i in the set last reported to consensus (0 = not in the set). */
    power(i: number) {
      return getActiveSet(store).get(toHex(vals[i].publicKey.bytes)) ?? 0n
    },
  }
  c.block(
    vals.map((k, i) =>
      c.tx(
        k,
        EMOTION_KIND.registerDevice,
        encodeRegisterDevice({
          key: devs[i].publicKey,
          tier: 'consumer',
          manufacturer: NO_MANUFACTURER,
          certificate: new Uint8Array(),
        }),
      ),
    ),
  )
  return c
}
type Chain = ReturnType<typeof chain>

/** One epoch: honest validators 0..2 attest window `e`, the attacker attests `attack` (if any). */
function epoch(c: Chain, e: number, attack?: SimWindow) {
  const txs = [0, 1, 2].map((i) => c.attest(i, honest[e][i]))
  if (attack) txs.push(c.attest(ATTACKER, attack))
  c.block(txs)
  c.toEpochEnd()
}

/** Every asset: supply = Σ balances; the staking escrow = bonded + unbonding = Σ validator tokens. */
function conserved(c: Chain) {
  const sums = new Map<string, bigint>()
  for (const [k, v] of c.store.map) {
    const b = Uint8Array.from(k, (ch) => ch.charCodeAt(0))
    if (b[0] !== 0x01 || b[1] !== 0x01) continue
    const asset = new TextDecoder().decode(b.subarray(22))
    sums.set(asset, (sums.get(asset) ?? 0n) + decodeU128(v))
  }
  for (const asset of ['pulse', 'emo']) assert.equal(sums.get(asset), getSupply(c.store, asset), asset)
  const t = getTotals(c.store)
  assert.equal(getBalance(c.store, STAKING_POOL, 'pulse'), t.bonded + t.unbonding)
  assert.equal(
    vals.reduce((s, k) => s + getValidator(c.store, id(k))!.tokens, 0n),
    t.bonded,
  )
}

const honestOnes = [0, 1, 2]

describe('staking × emotion: voting power = stake × multiplier', () => {
  test('honest validators gain weight, a flat-signal attacker gets the floor at the next epoch', () => {
    const c = chain()
    // genesis powers are the stakes; in the first epoch nobody has a score yet: all at the floor
    // (uniform, so relative weights stay the stakes')
    assert.deepEqual(
      vals.map((_, i) => c.power(i)),
      [500n, 500n, 500n, 500n],
    )
    epoch(c, 0, flat[0])
    for (const i of honestOnes) {
      const m = emotionMultiplierPermille(c.store, id(vals[i]))
      assert.ok(m >= 1000, `honest multiplier ${m} >= 1000`)
      assert.equal(c.power(i), (1000n * BigInt(m)) / 1000n)
    }
    assert.equal(emotionMultiplierPermille(c.store, id(vals[ATTACKER])), 500)
    assert.equal(c.power(ATTACKER), 500n, 'floor multiplier: half its stake')
    // the new weights are reported by the epoch's last block (effective H+2); the attacker stays at 500
    assert.deepEqual(
      c.updates[Number(B) - 1].map((u) => toHex(u.publicKey)),
      honestOnes.map((i) => toHex(vals[i].publicKey.bytes)).sort(),
    )
    assert.ok(
      c.updates.slice(1, Number(B) - 1).every((u) => u.length === 0),
      'no change inside an epoch',
    )
    assert.ok(emotionViolations(c.store, id(vals[ATTACKER])).lastReasons.includes('ZERO_VARIABILITY'))
    conserved(c)
  })

  test('no valid attestation: floor multiplier; a network without params.emotion keeps plain stake', () => {
    const c = chain()
    c.toEpochEnd()
    assert.deepEqual(
      vals.map((_, i) => c.power(i)),
      [500n, 500n, 500n, 500n],
    )
    const plain = chain(false)
    epoch(plain, 0, flat[0])
    assert.deepEqual(
      vals.map((_, i) => plain.power(i)),
      [1000n, 1000n, 1000n, 1000n],
    )
    assert.ok(emotionMultiplierPermille(plain.store, id(vals[0])) > 1000, 'scores still computed')
  })

  for (const [name, mk] of [
    ['sine', async () => [sine, sine] as const],
    [
      'replay',
      async () => {
        const r = kit('r', 'calm', 231).map((d) => new ReplayDevice(d))
        return [await windowOf(r, salt(700)), await windowOf(r, salt(701))] as const
      },
    ],
  ] as const) {
    test(`${name} device: floor multiplier and lower power in the epoch after it is caught`, async () => {
      const [w0, w1] = await mk()
      const c = chain()
      epoch(c, 0, w0)
      const before = c.power(ATTACKER)
      epoch(c, 1, w1)
      assert.equal(emotionMultiplierPermille(c.store, id(vals[ATTACKER])), 500)
      assert.equal(c.power(ATTACKER), 500n)
      assert.ok(before >= 500n)
      assert.ok(emotionViolations(c.store, id(vals[ATTACKER])).total >= 1)
      for (const i of honestOnes) assert.ok(c.power(i) >= 1000n)
    })
  }

  test('copy device: the copier and its victim both drop to the floor (the chain cannot tell who copied)', async () => {
    const victim = kit('h0', 'calm', 211).map((d) => new TappedDevice(d))
    const wv = await windowOf(victim, salt(800))
    const wc = await windowOf(
      victim.map((d, i) => new CopyDevice(`copy-${i}`, d)),
      salt(801),
    )
    const c = chain()
    c.block([c.attest(0, wv), c.attest(1, honest[0][1]), c.attest(2, honest[0][2]), c.attest(ATTACKER, wc)])
    c.toEpochEnd()
    assert.deepEqual([c.power(0), c.power(ATTACKER)], [500n, 500n])
    const flags = c.app.query(
      c.store,
      'emotion',
      'antiGaming',
      {},
      { params: c.genesis.params, height: c.height },
    )
    assert.deepEqual(
      (flags as { validator: string; at: string; peers: string[] }[])
        .map((f) => [f.validator, f.at, f.peers])
        .sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      [
        [vals[0].address, 'epoch_close', [vals[ATTACKER].address]],
        [vals[ATTACKER].address, 'epoch_close', [vals[0].address]],
      ].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    )
    assert.ok(c.power(1) >= 1000n && c.power(2) >= 1000n)
  })

  test('active set of size n ranks by stake × multiplier: a bigger-staked attacker rotates out', () => {
    const threeSeats = createStakingModule({
      maxValidators: 3,
      emotion: {
        blocksPerEpoch: B,
        violationsToJail: 3,
        violationWindowEpochs: 4n,
        slashViolations: { numerator: 1n, denominator: 100n },
        violationJailBlocks: 20n,
      },
    })
    // same chain, but a 3-seat set: the attacker (floor) ranks last and leaves it
    const c = chain()
    epoch(c, 0, flat[0])
    const ranked = threeSeats.keeper.validatorUpdates(c.store)
    assert.deepEqual(
      ranked.filter((u) => u.power === 0n).map((u) => toHex(u.publicKey)),
      [toHex(vals[ATTACKER].publicKey.bytes)],
    )
  })
})

describe('staking × emotion: repeated violations jail and slash', () => {
  test('3 violations within the window: slashed 1 %, jailed, out of the set; honest powers kept; conservation', () => {
    const c = chain()
    const attacks = [flat[0], sine, flat[1]]
    for (let e = 0; e < 3; e++) {
      epoch(c, e, attacks[e])
      assert.equal(getValidator(c.store, id(vals[ATTACKER]))!.jailed, false, 'not before the epoch is over')
      conserved(c)
    }
    assert.equal(emotionViolations(c.store, id(vals[ATTACKER])).total, 3)
    const community = getBalance(c.store, COMMUNITY_POOL, 'pulse')
    const r = c.block() // first block of epoch 3: staking counts epoch 2's violations
    const v = getValidator(c.store, id(vals[ATTACKER]))!
    assert.equal(v.jailed, true)
    assert.equal(v.tombstoned, false)
    assert.equal(v.tokens, 990n, '1/100 of 1000 slashed')
    assert.equal(v.jailedUntil, c.height + 20n)
    assert.equal(getBalance(c.store, COMMUNITY_POOL, 'pulse') - community, 10n)
    const slash = r.endEvents.find((e) => e.type === 'slash')!
    const attr = Object.fromEntries(slash.attributes.map((a) => [a.key, a.value]))
    assert.deepEqual(
      [attr.reason, attr.amount, attr.violations, attr.reasons.split(',').includes('ZERO_VARIABILITY')],
      ['emotion_violations', '10', '3', true],
    )
    assert.deepEqual(r.validatorUpdates, [{ publicKey: vals[ATTACKER].publicKey.bytes, power: 0n }])
    assert.equal(c.power(ATTACKER), 0n)
    for (const i of honestOnes) assert.ok(c.power(i) >= 1000n, 'honest validators keep their weight')
    conserved(c)
    // the emotion module's queries (served by GET /v1/networks/:id/modules/emotion/:query)
    const q = (name: string, args: Record<string, string> = {}) =>
      c.app.query(c.store, 'emotion', name, args, { params: c.genesis.params, height: c.height })
    const rows = q('validators') as { address: string; multiplierPermille: number; stake: string }[]
    assert.equal(rows.length, 4)
    const attackerRow = rows.find((r) => r.address === vals[ATTACKER].address)!
    assert.deepEqual([attackerRow.multiplierPermille, attackerRow.stake], [500, '0'], 'jailed: no stake')
    const hist = q('attestations', { address: vals[ATTACKER].address }) as { epoch: string; status: string }[]
    assert.deepEqual(
      hist.map((h) => [h.epoch, h.status]),
      [
        ['2', 'flagged'],
        ['1', 'flagged'],
        ['0', 'flagged'],
      ],
    )
    const honestHist = q('attestations', { address: vals[0].address, limit: '1' }) as { status: string }[]
    assert.deepEqual(
      honestHist.map((h) => h.status),
      ['scored'],
    )
    const flags = q('antiGaming') as { validator: string; reasons: string[]; at: string }[]
    assert.equal(flags.length, 3)
    assert.ok(flags.every((f) => f.validator === vals[ATTACKER].address && f.at === 'attestation'))
    assert.ok(flags[0].reasons.includes('ZERO_VARIABILITY'))
    assert.equal((q('antiGaming', { address: vals[0].address }) as unknown[]).length, 0)
    assert.throws(() => q('antiGaming', { limit: 'x' }), { code: 'EMOTION_BAD_QUERY' })
    // counted once: more blocks and epochs do not slash again while jailed
    c.toEpochEnd()
    c.block()
    assert.equal(getValidator(c.store, id(vals[ATTACKER]))!.tokens, 990n)
    conserved(c)
  })

  test('violations spread wider than the window do not jail; two inside it do', () => {
    const c = chain({ violationWindowEpochs: 2n, violationsToJail: 2 })
    epoch(c, 0, flat[0])
    epoch(c, 1)
    epoch(c, 2, sine)
    c.block()
    assert.equal(getValidator(c.store, id(vals[ATTACKER]))!.jailed, false, 'epochs 0 and 2 are 2 apart')
    c.block([c.attest(ATTACKER, flat[1])])
    c.toEpochEnd()
    c.block()
    const v = getValidator(c.store, id(vals[ATTACKER]))!
    assert.deepEqual([v.jailed, v.tokens], [true, 990n], 'epochs 2 and 3')
    conserved(c)
  })
})
