/**
 * Consensus engine cost. Figures:
 * 1. Simulated heights/s with 4, 21 and 100 validators, no faults, zero network delay, every engine in
 *    one process (one core): with the simulator's keyed-hash signatures (the engine's own cost) and with
 *    real Ed25519 through node:crypto (4 and 21; 100 with a few heights). Messages per height and the
 *    growth of time per height (100 vs 4) against the (2n+1)*n message count.
 * 2. Commit latency p50/p99 with 4 validators, real timers (setTimeout for timeouts, setImmediate as a
 *    0 ms network), real Ed25519 signatures.
 * 3. Same-run comparisons: Ed25519 verify rate (node:crypto and @noble) = the physical ceiling of
 *    heights/s (every delivered message is one verification), and the simulator's seeds/s.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { toHex } from '../packages/core/src/bytes.ts'
import type { Proposal, Vote } from '../packages/core/src/types.ts'
import {
  createValidatorSet,
  type EngineAction,
  type EngineEvent,
  makeSignBytes,
  TendermintEngine,
} from '../packages/consensus/src/index.ts'
import { FakeKeyRegistry } from '../packages/consensus/src/sim/fake-crypto.ts'
import { Prng } from '../packages/consensus/src/sim/prng.ts'
import { runMany } from '../packages/consensus/src/sim/run.ts'

const sb = makeSignBytes('bench-chain')

interface Scheme {
  name: string
  signers: { publicKey: Uint8Array; sign(m: Uint8Array): Uint8Array }[]
  verify(pk: Uint8Array, m: Uint8Array, s: Uint8Array): boolean
}

export function fakeScheme(n: number): Scheme {
  const reg = new FakeKeyRegistry()
  const rng = new Prng(n)
  return {
    name: 'keyed-hash',
    signers: Array.from({ length: n }, () => reg.createSigner(rng.bytes(16))),
    verify: (p, m, s) => reg.verify(p, m, s),
  }
}

const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

function ed25519Scheme(n: number): Scheme {
  const rng = new Prng(1000 + n)
  const pubs = new Map<string, KeyObject>()
  const signers = Array.from({ length: n }, () => {
    const seed = rng.bytes(32)
    const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
    const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
    pubs.set(toHex(publicKey), createPublicKey(priv))
    return { publicKey, sign: (m: Uint8Array) => new Uint8Array(sign(null, m, priv)) }
  })
  return {
    name: 'ed25519 (node:crypto)',
    signers,
    verify(pk, m, s) {
      let key = pubs.get(toHex(pk))
      if (!key) {
        key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' })
        pubs.set(toHex(pk), key)
      }
      return s.length === 64 && verify(null, m, key, s)
    },
  }
}

function setup(scheme: Scheme) {
  const n = scheme.signers.length
  const set = createValidatorSet(
    scheme.signers.map((s, i) => ({
      address: Uint8Array.of(i >> 8, i & 255),
      publicKey: s.publicKey,
      votingPower: 1n,
    })),
  )
  const verifier = { ...sb, verify: scheme.verify }
  const engines = scheme.signers.map(
    (_, i) => new TendermintEngine({ verifier, ownAddress: Uint8Array.of(i >> 8, i & 255) }),
  )
  // Validator index -> signer (sets are sorted by address here, equal power: index = i).
  return { n, set, engines }
}

/** Zero-delay run: FIFO delivery, no timer ever needed without faults. */
export function runZeroDelay(scheme: Scheme, heights: number) {
  const { n, set, engines } = setup(scheme)
  const queue: [number, EngineEvent][] = []
  let head = 0
  let deliveries = 0
  let commits = 0
  let blockCounter = 0
  const now = 0n
  const act = (i: number, acts: EngineAction[]) => {
    for (const a of acts) {
      if (a.type === 'SignAndBroadcastVote') {
        const vote: Vote = { ...a.vote, signature: scheme.signers[i].sign(sb.voteSignBytes(a.vote)) }
        for (let to = 0; to < n; to++) queue.push([to, { type: 'VoteReceived', vote, nowMs: now }])
      } else if (a.type === 'SignAndBroadcastProposal') {
        const proposal: Proposal = {
          ...a.proposal,
          signature: scheme.signers[i].sign(sb.proposalSignBytes(a.proposal)),
        }
        for (let to = 0; to < n; to++) queue.push([to, { type: 'ProposalReceived', proposal, nowMs: now }])
      } else if (a.type === 'GetProposalBlock') {
        const blockHash = new Uint8Array(32)
        new DataView(blockHash.buffer).setUint32(0, ++blockCounter)
        queue.push([
          i,
          { type: 'ProposalBlock', height: a.height, round: a.round, blockHash, blockTimeMs: 0n, nowMs: now },
        ])
      } else if (a.type === 'ValidateBlock') {
        queue.push([
          i,
          {
            type: 'BlockValidated',
            height: a.height,
            blockHash: a.blockHash,
            valid: true,
            blockTimeMs: 0n,
            nowMs: now,
          },
        ])
      } else if (a.type === 'Commit') {
        commits++
        if (a.height < BigInt(heights))
          queue.push([i, { type: 'StartHeight', height: a.height + 1n, validatorSet: set, nowMs: now }])
      }
    }
  }
  const started = performance.now()
  for (let i = 0; i < n; i++)
    act(i, engines[i].handle({ type: 'StartHeight', height: 1n, validatorSet: set, nowMs: now }))
  while (head < queue.length) {
    const [to, ev] = queue[head++]
    if (ev.type === 'VoteReceived' || ev.type === 'ProposalReceived') deliveries++
    act(to, engines[to].handle(ev))
    if (head > 65536) {
      queue.splice(0, head)
      head = 0
    }
  }
  const ms = performance.now() - started
  if (commits !== n * heights) throw new Error(`expected ${n * heights} commits, got ${commits}`)
  return {
    validators: n,
    scheme: scheme.name,
    heights,
    heightsPerSecond: round((heights * 1000) / ms, 2),
    msPerHeight: round(ms / heights, 3),
    messagesPerHeight: deliveries / heights,
    usPerMessage: round((ms * 1000) / deliveries, 2),
  }
}

/** Commit latency with real timers: 4 validators, setImmediate as a 0 ms network, setTimeout for timeouts. */
async function commitLatency(scheme: Scheme, heights: number) {
  const { n, set, engines } = setup(scheme)
  const latencies: number[] = []
  const startedAt = new Map<bigint, number>()
  let blockCounter = 0
  let done!: () => void
  const finished = new Promise<void>((r) => {
    done = r
  })
  const nowMs = () => BigInt(Math.floor(performance.timeOrigin + performance.now()))
  const deliver = (to: number, ev: EngineEvent) => setImmediate(() => act(to, engines[to].handle(ev)))
  const timers = new Set<NodeJS.Timeout>()
  const act = (i: number, acts: EngineAction[]) => {
    for (const a of acts) {
      switch (a.type) {
        case 'SignAndBroadcastVote': {
          const vote: Vote = { ...a.vote, signature: scheme.signers[i].sign(sb.voteSignBytes(a.vote)) }
          for (let to = 0; to < n; to++) deliver(to, { type: 'VoteReceived', vote, nowMs: nowMs() })
          break
        }
        case 'SignAndBroadcastProposal': {
          const proposal: Proposal = {
            ...a.proposal,
            signature: scheme.signers[i].sign(sb.proposalSignBytes(a.proposal)),
          }
          for (let to = 0; to < n; to++) deliver(to, { type: 'ProposalReceived', proposal, nowMs: nowMs() })
          break
        }
        case 'ScheduleTimeout': {
          const t = setTimeout(() => {
            timers.delete(t)
            act(
              i,
              engines[i].handle({
                type: 'TimeoutFired',
                height: a.height,
                round: a.round,
                step: a.step,
                nowMs: nowMs(),
              }),
            )
          }, a.durationMs)
          timers.add(t)
          break
        }
        case 'GetProposalBlock': {
          const blockHash = new Uint8Array(32)
          new DataView(blockHash.buffer).setUint32(0, ++blockCounter)
          deliver(i, {
            type: 'ProposalBlock',
            height: a.height,
            round: a.round,
            blockHash,
            blockTimeMs: 0n,
            nowMs: nowMs(),
          })
          break
        }
        case 'ValidateBlock':
          deliver(i, {
            type: 'BlockValidated',
            height: a.height,
            blockHash: a.blockHash,
            valid: true,
            blockTimeMs: 0n,
            nowMs: nowMs(),
          })
          break
        case 'Commit': {
          const t0 = startedAt.get(a.height)
          if (i === 0 && t0 !== undefined) latencies.push(performance.now() - t0)
          if (a.height >= BigInt(heights)) {
            if (i === 0) done()
            break
          }
          const h = a.height + 1n
          if (!startedAt.has(h)) startedAt.set(h, performance.now())
          deliver(i, { type: 'StartHeight', height: h, validatorSet: set, nowMs: nowMs() })
          break
        }
      }
    }
  }
  startedAt.set(1n, performance.now())
  for (let i = 0; i < n; i++)
    act(i, engines[i].handle({ type: 'StartHeight', height: 1n, validatorSet: set, nowMs: nowMs() }))
  await finished
  for (const t of timers) clearTimeout(t)
  latencies.sort((a, b) => a - b)
  const q = (p: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))], 3)
  return {
    validators: n,
    scheme: scheme.name,
    heights: latencies.length,
    p50Ms: q(50),
    p99Ms: q(99),
    maxMs: q(100),
  }
}

function signRate(scheme: Scheme): number {
  const msg = new Uint8Array(120).fill(3)
  const t = performance.now()
  for (let i = 0; i < 2000; i++) scheme.signers[i % scheme.signers.length].sign(msg)
  return round(2000_000 / (performance.now() - t), 0)
}

function verifyRate(scheme: Scheme, which: 'node' | 'noble'): number {
  const msg = sb.voteSignBytes({
    type: 2,
    height: 7n,
    round: 0,
    blockHash: new Uint8Array(32).fill(7),
    timestampMs: 1n,
    validatorIndex: 0,
    extension: new Uint8Array(0),
  })
  const s = scheme.signers[0]
  const sig = s.sign(msg)
  const iters = which === 'node' ? 3000 : 200
  const t = performance.now()
  for (let i = 0; i < iters; i++)
    if (!(which === 'node' ? scheme.verify(s.publicKey, msg, sig) : ed25519.verify(sig, msg, s.publicKey)))
      throw new Error('verify failed')
  return round((iters * 1000) / (performance.now() - t), 0)
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d

export async function run(): Promise<Record<string, unknown>> {
  // Warm-up (JIT).
  runZeroDelay(fakeScheme(4), 50)
  const fake = [
    runZeroDelay(fakeScheme(4), 400),
    runZeroDelay(fakeScheme(21), 60),
    runZeroDelay(fakeScheme(100), 6),
  ]
  const ed = ed25519Scheme(100)
  const edFor = (k: number): Scheme => ({ ...ed, signers: ed.signers.slice(0, k) })
  // The machine is shared: take the best of several verify-rate samples around the runs as the ceiling.
  const samples = [verifyRate(ed, 'node')]
  const real = [runZeroDelay(edFor(4), 100), runZeroDelay(edFor(21), 10)]
  samples.push(verifyRate(ed, 'node'))
  real.push(runZeroDelay(edFor(100), 2))
  samples.push(verifyRate(ed, 'node'))
  const verifyNodePerSec = Math.max(...samples)
  const verifyNoblePerSec = verifyRate(ed, 'noble')
  const signNodePerSec = signRate(ed)
  const withCeiling = real.map((r) => {
    const ceiling = verifyNodePerSec / r.messagesPerHeight
    return {
      ...r,
      verifyCeilingHeightsPerSecond: round(ceiling, 2),
      fractionOfCeiling: round(r.heightsPerSecond / ceiling, 3),
    }
  })
  const latencyFake = await commitLatency(fakeScheme(4), 300)
  const latencyEd = await commitLatency(edFor(4), 300)
  // Crypto floor of one 4-validator height on one core: 36 verifications + 9 signatures.
  const floorMs = (36 * 1000) / verifyNodePerSec + (9 * 1000) / signNodePerSec
  const simStarted = performance.now()
  const sim = runMany({ firstSeed: 1, seeds: 120 })
  const simMs = performance.now() - simStarted
  const msgRatio = fake[2].messagesPerHeight / fake[0].messagesPerHeight
  return {
    zeroDelayKeyedHash: fake,
    zeroDelayEd25519: withCeiling,
    growth100vs4: {
      messagesPerHeightRatio: round(msgRatio, 1),
      msPerHeightRatioKeyedHash: round(fake[2].msPerHeight / fake[0].msPerHeight, 1),
      msPerHeightRatioEd25519: round(real[2].msPerHeight / real[0].msPerHeight, 1),
      note: 'every validator receives every proposal and vote: (2n+1)*n deliveries per height, so cost grows ~n^2; per-message cost stays flat',
    },
    commitLatency4Validators: {
      keyedHash: latencyFake,
      ed25519: {
        ...latencyEd,
        cryptoFloorMs: round(floorMs, 3),
        p50OverCryptoFloor: round(latencyEd.p50Ms / floorMs, 2),
      },
    },
    ed25519PerSecond: {
      verifyNodeCrypto: verifyNodePerSec,
      verifyNodeCryptoSamples: samples,
      verifyNoble: verifyNoblePerSec,
      nodeOverNoble: round(verifyNodePerSec / verifyNoblePerSec, 1),
      signNodeCrypto: signNodePerSec,
    },
    simulator: {
      seeds: sim.seeds,
      failed: sim.failed,
      seedsPerSecond: round((sim.seeds * 1000) / simMs, 1),
      commits: sim.totals.commits,
      eventsPerSecond: round((sim.totals.events * 1000) / simMs, 0),
    },
  }
}
