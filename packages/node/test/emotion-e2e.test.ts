// Proof of Emotion end to end: an EmotionalChain devnet of 4 validators under real BFT consensus,
// each with its agent; validator 3's devices are flat-signal fakes. The attacker is flagged every
// epoch, drops to the floor multiplier (its consensus voting power halves), is jailed and slashed
// after repeated violations and leaves the validator set; honest validators keep multipliers
// >= 1000. The HTTP API's module routes show scores, history and the anti-gaming reason codes.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { accountIdOf, emotionMultiplierPermille, genesisToJson, getValidator } from '@pulsemesh/app'
import { toHex } from '@pulsemesh/core'
import { PERSONAS, SimulatedDevice } from '@pulsemesh/emotion'
import { buildApi } from '../src/api/server.ts'
import { EMO_UNIT, emotionalChainProfile } from '../src/emotion/profile.ts'
import { startHost } from '../src/host.ts'
import { simulatedKit, startEmotionDevnet } from '../src/emotion/devnet.ts'
import {
  checkEmotionDevnetOptions,
  emotionDevnetBanner,
  runEmotionDevnet,
} from '../src/emotion/run-devnet.ts'
import { FAST_TIMEOUTS, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, tempDir } from './fixtures.ts'

const ATTACKER = 3
const flatKit = (i: number) => [
  new SimulatedDevice({
    id: `v${i}-hrm`,
    kind: 'ble-hrm',
    persona: PERSONAS.calm,
    seed: 9_000 + i,
    mode: 'flat',
  }),
  new SimulatedDevice({
    id: `v${i}-e4`,
    kind: 'e4',
    persona: PERSONAS.calm,
    seed: 9_000 + i,
    mode: 'flat',
    tier: 'medical',
  }),
  new SimulatedDevice({
    id: `v${i}-eeg`,
    kind: 'muse',
    persona: PERSONAS.calm,
    seed: 9_000 + i,
    mode: 'flat',
  }),
]

test('emotionalchain devnet: a flat-signal attacker loses weight and is jailed, honest validators keep theirs', async (t) => {
  const tmp = tempDir('pm-emotion-e2e-')
  const errors: string[] = []
  const d = await startEmotionDevnet({
    dataDir: tmp.dir,
    verifyPool: inlineVerifier,
    profile: {
      validators: 4,
      blockIntervalMs: 20,
      emotion: { blocksPerEpoch: 8n, nonceWindowBlocks: 8 },
      staking: { violationsToJail: 2, violationWindowEpochs: 4n },
    },
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
    windowMs: 30_000,
    // honest: calm, focused, calm (simulatedKit(2) is the stressed persona, whose honest scores sit at
    // the eligibility threshold of 70: an ineligible score gets the floor; README "Limits")
    devices: (i) => (i === ATTACKER ? flatKit(i) : simulatedKit(i === 2 ? 3 : i)),
    onError: (i, e) => errors.push(`v${i}: ${(e as Error).message}`),
  })
  const api = buildApi({
    networks: new Map([[d.profile.genesis.networkId, d.net.validators[0]!.node]]),
    rateLimit: false,
    streams: false,
    graphql: false,
    metrics: false,
  })
  try {
    const ops = d.profile.validators.map((v) => accountIdOf(v.key.publicKey))
    const keyHex = d.profile.validators.map((v) => toHex(v.key.publicKey.bytes))
    const node = () => d.net.validators[0]!.node
    // 1. after the first scored epoch: honest multipliers >= 1000, the attacker at the floor, and
    //    consensus voting power follows (stake 1000 EMO × multiplier)
    let powersAtFloor: bigint[] = []
    await waitFor(
      () => {
        const st = node().state
        return (
          ops.every((op, i) => (i === ATTACKER ? true : emotionMultiplierPermille(st, op) >= 1000)) &&
          emotionMultiplierPermille(st, ops[ATTACKER]) === 500
        )
      },
      'honest validators scored, attacker flagged',
      4_000,
    )
    {
      const h = node().height + 2n
      await waitFor(() => node().height >= h, 'the new weights take effect (H+2)', 4_000)
      const set = await node().validatorSetAt(node().height)
      const power = new Map(set.validators.map((v) => [toHex(v.publicKey), v.votingPower]))
      powersAtFloor = keyHex.map((k) => power.get(k) ?? 0n)
      const attackerPower = powersAtFloor[ATTACKER]
      // jailed already (fast chain) or at the floor: in both cases below every honest validator
      for (let i = 0; i < 4; i++)
        if (i !== ATTACKER) assert.ok(powersAtFloor[i] >= 1000n, `honest v${i} power ${powersAtFloor[i]}`)
      assert.ok(attackerPower === 500n || attackerPower === 0n, `attacker power ${attackerPower}`)
      t.diagnostic(
        `height ${node().height}: consensus powers ${powersAtFloor.join(', ')} (attacker v${ATTACKER})`,
      )
    }
    // 2. repeated violations: jailed and slashed through staking, removed from the consensus set
    await waitFor(() => getValidator(node().state, ops[ATTACKER])?.jailed === true, 'attacker jailed', 6_000)
    const jailedAt = node().height
    t.diagnostic(`attacker jailed at height ${jailedAt} (epoch ${(jailedAt - 1n) / 8n})`)
    await waitFor(() => node().height >= jailedAt + 2n, 'set update (H+2)', 4_000)
    const set = await node().validatorSetAt(node().height)
    assert.deepEqual(
      set.validators.map((v) => toHex(v.publicKey)).sort(),
      keyHex.filter((_, i) => i !== ATTACKER).sort(),
      'attacker out of the consensus set',
    )
    const slashed = getValidator(node().state, ops[ATTACKER])!
    assert.equal(slashed.tokens, 1_000n * EMO_UNIT - (1_000n * EMO_UNIT) / 100n, '1 % slashed')
    for (let i = 0; i < 4; i++)
      if (i !== ATTACKER) {
        assert.equal(getValidator(node().state, ops[i])!.jailed, false)
        assert.ok(emotionMultiplierPermille(node().state, ops[i]) >= 1000)
      }
    // the chain keeps going without the attacker
    const h = node().height
    await waitFor(() => node().height >= h + 3n, 'blocks after the attacker left', 4_000)

    // 3. the API: scores and multipliers, attestation history, anti-gaming reason codes
    const get = async (q: string) => {
      const r = await api.inject({ method: 'GET', url: `/v1/networks/emotionalchain/modules/emotion/${q}` })
      assert.equal(r.statusCode, 200, r.body)
      return JSON.parse(r.body).result
    }
    const rows = (await get('validators')) as { address: string; score: number; multiplierPermille: number }[]
    assert.equal(rows.length, 4)
    const attackerAddr = d.profile.validators[ATTACKER].address
    for (const r of rows)
      if (r.address === attackerAddr) assert.equal(r.multiplierPermille, 500)
      else assert.ok(r.score > 0 && r.multiplierPermille >= 1000, JSON.stringify(r))
    const flags = (await get(`antiGaming?address=${attackerAddr}`)) as { reasons: string[] }[]
    assert.ok(flags.length >= 2)
    assert.ok(flags.every((f) => f.reasons.includes('ZERO_VARIABILITY')))
    const hist = (await get(`attestations?address=${attackerAddr}`)) as { status: string }[]
    assert.ok(hist.filter((x) => x.status === 'flagged').length >= 2)
    const honestHist = (await get(`attestations?address=${d.profile.validators[0].address}&limit=1`)) as {
      status: string
    }[]
    assert.equal(honestHist[0].status, 'scored')
    const staking = await api.inject({
      method: 'GET',
      url: '/v1/networks/emotionalchain/modules/staking/validators',
    })
    const sv = JSON.parse(staking.body).result as { operator: string; jailed: boolean }[]
    assert.deepEqual(
      sv.filter((v) => v.jailed).map((v) => v.operator),
      [attackerAddr],
    )
    t.diagnostic(`scores ${rows.map((r) => `${r.score}/${r.multiplierPermille}‰`).join(', ')}`)
    assert.deepEqual(errors, [])
    // every node agrees (same state root at a common height)
    const common = d.net.heights().reduce((a, b) => (a! < b! ? a : b))!
    const roots = await Promise.all(
      d.net.validators.map(async (v) => toHex((await v!.node.getBlock(common))!.block.header.stateRoot)),
    )
    assert.equal(new Set(roots).size, 1)
  } finally {
    await api.close()
    await d.stop()
    tmp.cleanup()
  }
})

test('runEmotionDevnet (the CLI devnet): option limits, API up with the emotion routes, clean stop', async () => {
  assert.throws(() => checkEmotionDevnetOptions({ blockIntervalMs: 2_999 }), { code: 'BAD_OPTION' })
  assert.throws(() => checkEmotionDevnetOptions({ validators: 0 }), { code: 'BAD_OPTION' })
  assert.deepEqual(checkEmotionDevnetOptions({}), {
    validators: 21,
    blockIntervalMs: 10_000,
    blocksPerEpoch: 60n,
  })
  const tmp = tempDir('pm-emotion-run-')
  const r = await runEmotionDevnet({ dataDir: tmp.dir, port: 0, validators: 4, blockIntervalMs: 3_000 })
  try {
    const res = await fetch(`${r.url}/v1/networks/emotionalchain/modules/emotion/validators`)
    assert.equal(res.status, 200)
    const p = await fetch(`${r.url}/v1/networks/emotionalchain/modules/emotion/params`)
    assert.equal(((await p.json()) as { result: { blocksPerEpoch: string } }).result.blocksPerEpoch, '60')
    assert.match(
      emotionDevnetBanner(r.url, r.devnet, { blockIntervalMs: 3_000, blocksPerEpoch: 60n }),
      /emotion\/validators/,
    )
  } finally {
    await r.stop()
    tmp.cleanup()
  }
})

test('host: a node configured with the emotionalchain genesis serves the emotion and staking modules', async () => {
  const tmp = tempDir('pm-emotion-host-')
  const { genesis } = emotionalChainProfile()
  mkdirSync(join(tmp.dir, 'genesis'))
  writeFileSync(join(tmp.dir, 'genesis', 'emotionalchain.json'), JSON.stringify(genesisToJson(genesis)))
  writeFileSync(
    join(tmp.dir, 'config.json'),
    JSON.stringify({
      api: { host: '127.0.0.1', port: 0 },
      networks: [{ genesis: 'genesis/emotionalchain.json' }],
      rateLimit: false,
      webhooks: false,
      streams: false,
    }),
  )
  const host = await startHost(tmp.dir, { port: 0 })
  try {
    const get = async (q: string) =>
      (
        (await (await fetch(`${host.url}/v1/networks/emotionalchain/modules/${q}`)).json()) as {
          result: unknown
        }
      ).result
    assert.equal(((await get('emotion/params')) as { blocksPerEpoch: string }).blocksPerEpoch, '60')
    assert.equal(((await get('staking/validators')) as unknown[]).length, 21)
    assert.deepEqual(await get('emotion/validators'), [])
  } finally {
    await host.stop()
    tmp.cleanup()
  }
})
