// Validator agents on a real NetworkNode (LevelDB) with the EmotionalChain profile: they register
// devices, attest every epoch, get scored; then a scan of all chain data (every LevelDB key and
// value: blocks, state, results/events, indexes), all events and the agents' logs finds none of
// the raw windows the simulator produced; forget() deletes the local windows and leaves the chain.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { App, accountIdOf, genesisToJson, getLastAttestation, getValidatorEmotion } from '@pulsemesh/app'
import { type ChainEvent, toHex, utf8 } from '@pulsemesh/core'
import {
  type BiometricDevice,
  encodeWindowBundle,
  PERSONAS,
  type RawWindow,
  SimulatedDevice,
  verifyWindowCommitment,
} from '@pulsemesh/emotion'
import { NetworkNode } from '../src/chain/network-node.ts'
import { EmotionAgent } from '../src/emotion/agent.ts'
import { nodeChainView } from '../src/emotion/node-view.ts'
import { emotionalChainProfile } from '../src/emotion/profile.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { inlineVerifier, tempDir } from './fixtures.ts'

/** Wraps a device and remembers every window it produced (the test's ground truth). */
class Recorder implements BiometricDevice {
  readonly id: string
  readonly kind: BiometricDevice['kind']
  readonly tier: BiometricDevice['tier']
  readonly windows: RawWindow[] = []
  private readonly inner: BiometricDevice
  constructor(inner: BiometricDevice) {
    this.inner = inner
    this.id = inner.id
    this.kind = inner.kind
    this.tier = inner.tier
  }
  async read(ms: number): Promise<RawWindow> {
    const w = await this.inner.read(ms)
    this.windows.push(w)
    return w
  }
}

function devicesFor(i: number): Recorder[] {
  const p = [PERSONAS.calm, PERSONAS.focused, PERSONAS.calm][i % 3]
  return [
    new Recorder(new SimulatedDevice({ id: `v${i}-hrm`, kind: 'ble-hrm', persona: p, seed: 100 + i })),
    new Recorder(
      new SimulatedDevice({ id: `v${i}-e4`, kind: 'e4', persona: p, seed: 100 + i, tier: 'medical' }),
    ),
    new Recorder(new SimulatedDevice({ id: `v${i}-eeg`, kind: 'muse', persona: p, seed: 100 + i })),
  ]
}

/** Byte sequences that must never appear outside the agent: whole bundles and every chunk ≥ 16 B. */
function needles(devs: Recorder[][]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const kit of devs) {
    const byRead = kit[0].windows.map((_, r) => kit.map((d) => d.windows[r]))
    for (const raw of byRead) out.push(encodeWindowBundle(raw))
    for (const d of kit)
      for (const w of d.windows)
        for (const c of w.chunks) {
          if (c.bytes.length < 16) continue
          out.push(
            c.bytes.length > 64 ? c.bytes.subarray(c.bytes.length >> 1, (c.bytes.length >> 1) + 48) : c.bytes,
          )
        }
    // HRM notifications are short: their concatenation per window is the signal
    for (const w of kit[0].windows) out.push(Buffer.concat(w.chunks.map((c) => c.bytes)))
  }
  return out
}

function findAny(hay: Buffer, ns: Uint8Array[]): number {
  let hits = 0
  for (const n of ns) {
    if (hay.indexOf(n) >= 0) hits++
    else if (hay.indexOf(toHex(n.subarray(0, 32))) >= 0) hits++
  }
  return hits
}

test('agents attest every epoch on a real node; no raw sample reaches chain, events or logs; forget()', async () => {
  const tmp = tempDir('pm-emotion-')
  try {
    const profile = emotionalChainProfile({
      validators: 3,
      emotion: { blocksPerEpoch: 5n, nonceWindowBlocks: 5 },
    })
    const { genesis } = profile
    const store = await ChainStore.open(join(tmp.dir, 'data'))
    let clock = genesis.genesisTimeMs
    const v0 = profile.validators[0]
    const node = await NetworkNode.open({
      app: new App(genesis.params, profile.modules),
      genesis,
      genesisJson: JSON.stringify(genesisToJson(genesis)),
      store: store.network(genesis.networkId),
      verifyPool: inlineVerifier,
      validatorKey: { seed: v0.key.secretKey, publicKey: v0.key.publicKey.bytes },
      now: () => {
        clock += 10_000n
        return clock
      },
    })
    const events: ChainEvent[] = []
    node.on('block', (b: { results: { events: ChainEvent[] }[] }, end: ChainEvent[]) => {
      for (const r of b.results) events.push(...r.events)
      events.push(...end)
    })
    const devs = profile.validators.map((_, i) => devicesFor(i))
    const agents = profile.validators.map(
      (v, i) =>
        new EmotionAgent({
          dir: join(tmp.dir, `agent-${i}`),
          networkId: genesis.networkId,
          blocksPerEpoch: 5n,
          devices: devs[i],
          deviceKey: v.device,
          validatorKey: v.key,
          chain: nodeChainView(node),
          fee: genesis.params.minFee,
          registration: { tier: 'medical', manufacturer: 0, certificate: v.certificate },
        }),
    )
    for (const a of agents) assert.equal(await a.ensureRegistered(), true)
    let b = await node.produceBlock()
    assert.deepEqual(
      b.results.map((r) => r.error),
      ['', '', ''],
    )
    for (const a of agents) assert.equal(await a.ensureRegistered(), false)
    for (let epoch = 0n; epoch < 2n; epoch++) {
      for (const a of agents) assert.equal((await a.tick())?.epoch, epoch)
      for (const a of agents) assert.equal(await a.tick(), undefined, 'once per epoch')
      b = await node.produceBlock()
      assert.deepEqual(
        b.results.map((r) => r.error),
        ['', '', ''],
      )
      while (node.height % 5n !== 0n) await node.produceBlock()
    }
    const scores = events.filter((e) => e.type === 'emotion_score')
    assert.equal(scores.length, 6, 'three validators scored in each of two epochs')
    assert.equal(events.filter((e) => e.type === 'emotion_flagged').length, 0)
    for (const v of profile.validators) {
      const rec = getValidatorEmotion(node.state, accountIdOf(v.key.publicKey))!
      assert.equal(rec.scoreEpoch, 1n)
      assert.ok(rec.score > 0)
    }

    // the commitment on chain opens with the window the agent kept (and only there)
    const onChain = getLastAttestation(node.state, accountIdOf(v0.key.publicKey))!
    const opened = agents[0].openCommitment(1n)!
    assert.ok(verifyWindowCommitment(onChain.commitment, opened.bundle, opened.salt))

    // scan everything the node holds, every event and the agent logs
    const chunks: Buffer[] = []
    for await (const [k, v] of store.db.iterator()) chunks.push(Buffer.from(k), Buffer.from(v))
    const chainData = Buffer.concat(chunks)
    const eventData = Buffer.from(utf8(JSON.stringify(events)))
    const logs = Buffer.concat(agents.map((a) => readFileSync(join(a.dir, 'agent.log'))))
    const ns = needles(devs)
    assert.ok(ns.length > 30_000, `${ns.length} needles`)
    // positive control: the scanner does find the raw windows where they are (the agent's folder)
    const kept = Buffer.concat(
      readdirSync(join(agents[0].dir, 'windows')).map((f) => readFileSync(join(agents[0].dir, 'windows', f))),
    )
    assert.ok(findAny(kept, needles([devs[0]])) > 1000)
    assert.ok(chainData.length > 10_000)
    assert.equal(findAny(chainData, ns), 0, 'raw samples in chain data')
    assert.equal(findAny(eventData, ns), 0, 'raw samples in events')
    assert.equal(findAny(logs, ns), 0, 'raw samples in agent logs')

    // right to be forgotten: local windows gone, chain untouched
    const root = toHex(node.stateRoot())
    const height = node.height
    assert.equal(agents[0].forget(), 2)
    assert.deepEqual(agents[0].storedEpochs(), [])
    assert.equal(agents[0].openCommitment(1n), undefined)
    assert.ok(existsSync(join(agents[0].dir, 'windows')))
    assert.equal(readdirSync(join(agents[0].dir, 'windows')).length, 0)
    assert.equal(toHex(node.stateRoot()), root)
    assert.equal(node.height, height)
    await node.idle()
    await store.close()
  } finally {
    tmp.cleanup()
  }
})

test('agent keeps only the last keepWindows raw windows locally; a refused submission is logged without data', async () => {
  const tmp = tempDir('pm-emotion-agent-')
  try {
    const profile = emotionalChainProfile({ validators: 1 })
    const v = profile.validators[0]
    let height = 0n
    const submitted: Uint8Array[] = []
    let refuse = false
    const agent = new EmotionAgent({
      dir: join(tmp.dir, 'agent'),
      networkId: profile.genesis.networkId,
      blocksPerEpoch: 5n,
      devices: devicesFor(0),
      deviceKey: v.device,
      validatorKey: v.key,
      keepWindows: 2,
      random: (n) => new Uint8Array(n).fill(Number(height & 0xffn)),
      chain: {
        head: async () => ({ height, hash: new Uint8Array(32).fill(1) }),
        nextNonce: async () => BigInt(submitted.length),
        submit: async (tx) => {
          if (refuse) throw Object.assign(new Error('refused'), { code: 'MEMPOOL_FULL' })
          submitted.push(tx)
        },
        deviceRegistered: async () => true,
      },
    })
    assert.equal(await agent.ensureRegistered(), false)
    for (let e = 0; e < 3; e++) {
      height = BigInt(5 * e + 1)
      assert.equal((await agent.tick())?.epoch, BigInt(e))
    }
    assert.deepEqual(agent.storedEpochs(), ['00000000000000000001', '00000000000000000002'])
    assert.equal(agent.openCommitment(0n), undefined)
    assert.equal(submitted.length, 3)
    height = 16n
    refuse = true
    await assert.rejects(agent.tick(), (e: Error & { code?: string }) => e.code === 'MEMPOOL_FULL')
    const log = readFileSync(join(agent.dir, 'agent.log'), 'utf8')
    assert.match(log, /"event":"attestation_refused","epoch":"3","code":"MEMPOOL_FULL"/)
    refuse = false
    assert.equal((await agent.tick())?.epoch, 3n, 'a refused epoch can be retried')
  } finally {
    tmp.cleanup()
  }
})

test('EmotionalChain profile: 21 validators, EMO genesis that parses, certified devices, modules init', async () => {
  const { parseGenesis, MemoryStore, deviceCertificateSignBytes, getSupply } = await import('@pulsemesh/app')
  const { verify } = await import('@pulsemesh/core')
  const { emotionModulesFor, EMOTIONALCHAIN_ID } = await import('../src/emotion/profile.ts')
  const p = emotionalChainProfile()
  assert.equal(p.validators.length, 21)
  assert.equal(p.genesis.networkId, EMOTIONALCHAIN_ID)
  const again = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(p.genesis))))
  assert.deepEqual(genesisToJson(again), genesisToJson(p.genesis))
  for (const v of p.validators)
    assert.ok(
      verify(
        p.manufacturer.publicKey,
        deviceCertificateSignBytes(EMOTIONALCHAIN_ID, v.device.publicKey, 'medical'),
        v.certificate,
      ),
    )
  const store = new MemoryStore()
  new App(p.genesis.params, p.modules).initGenesis(store, p.genesis)
  // treasury + operators + 21 × 1 000 EMO bonded
  assert.equal(getSupply(store, 'emo'), (100_000_000n + 21n * 10_000n + 21n * 1_000n) * 1_000_000n)
  assert.deepEqual(
    emotionModulesFor(p.genesis)?.map((m) => m.name),
    // mesh: EMO crosses to the hub and back (vouchers), like every hosted network
    ['bank', 'staking', 'emotion', 'mesh'],
  )
  assert.equal(emotionModulesFor({ ...p.genesis, networkId: 'hub' }), undefined)
})
