/**
 * Deterministic simulation of N validators running the real TendermintEngine over a simulated network.
 * One seeded PRNG drives delays, loss, duplication, reordering, partitions, crashes/restarts, clock skew
 * and byzantine choices; a virtual clock (EventQueue) orders everything. The node "shell" here does what
 * the real node does around the engine: persists SignState before signing, signs, gossips, builds and
 * validates blocks, re-sends its own messages and sends decision proofs (proposal + commit) to peers
 * that are behind. Blocks travel with proposals: a node holds a block it built, received in a proposal
 * or committed; a crash forgets all others except those persisted with its SignState (the block it is
 * locked on and the block of its signed proposal), and a node cannot send or validate a block it does
 * not hold.
 *
 * Invariants, checked as the state they constrain changes:
 * - agreement: no two honest nodes commit different blocks at a height;
 * - validity: committed blocks were proposed, are valid and belong to that height;
 * - commit certificates verify (verifyCommit) against the height's validator set;
 * - no honest double-sign (nor evidence against an honest validator); evidence always verifies;
 * - honest messages are never rejected as malformed or badly signed;
 * - BFT time strictly increases along each honest chain;
 * - liveness: after GST every honest node commits every target height within `livenessBoundMs`.
 */
import { toHex, u64be } from '@pulsemesh/core/bytes.ts'
import { type Commit, type Proposal, type Vote, VoteType } from '@pulsemesh/core/types.ts'
import { medianTime } from '../bft-time.ts'
import { commitSigToVote, verifyCommit } from '../commit.ts'
import { TendermintEngine } from '../engine.ts'
import { verifyDuplicateVoteEvidence } from '../evidence.ts'
import { timeoutMs } from '../params.ts'
import { makeSignBytes } from '../sign-bytes.ts'
import { blocksNamedBy } from '../sign-state.ts'
import type { ConsensusVerifier, EngineAction, EngineEvent, SignState } from '../types.ts'
import { isNilHash } from '../validate.ts'
import { advanceValidatorSet, createValidatorSet, type ValidatorSet } from '../validator-set.ts'
import { EventQueue } from './event-queue.ts'
import { FakeKeyRegistry, mac, type Signer } from './fake-crypto.ts'
import { Prng } from './prng.ts'
import { type ByzBehaviour, replayCommand, type Scenario } from './scenario.ts'

/** `proof`: part of a decision proof for a peer that is behind (never answered with another proof). */
type WireMsg =
  | { kind: 'proposal'; proposal: Proposal; proof?: boolean }
  | { kind: 'vote'; vote: Vote; proof?: boolean }
  /** The sender's height, every gossip tick (CometBFT's NewRoundStep): peers behind get proofs. */
  | { kind: 'status'; height: bigint }
  /** Deliberately malformed content from a byzantine sender. */
  | { kind: 'garbage'; as: 'vote' | 'proposal'; payload: unknown }

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
type TimelessEvent = DistributiveOmit<EngineEvent, 'nowMs'>

type SimEvent =
  | { k: 'deliver'; to: number; from: number; msg: WireMsg }
  | { k: 'engine'; node: number; epoch: number; ev: TimelessEvent }
  | { k: 'start'; node: number; epoch: number; height: bigint }
  | { k: 'gossip'; node: number; epoch: number }
  | { k: 'crash'; node: number }
  /** restart-all: the next honest lock (a precommit for a block) takes the whole network down. */
  | { k: 'arm-cut' }
  | { k: 'restart'; node: number }
  | { k: 'partition'; group: number[] }
  | { k: 'heal' }
  | { k: 'gst' }

interface ChainEntry {
  height: bigint
  blockHash: Uint8Array
  commit: Commit
  proposal: Proposal | null
  valset: ValidatorSet
}

interface SimNode {
  id: number
  signer: Signer
  address: Uint8Array
  byz: ByzBehaviour | null
  engine: TendermintEngine | null
  /** Bumped on crash: timers and app replies of the previous life are ignored. */
  epoch: number
  skewMs: number
  /**
   * What survives a crash: `blocks` = hashes of the blocks saved with the SignState, `committed` =
   * hashes of the chain's blocks (stored with it).
   */
  disk: { signState: SignState | null; chain: ChainEntry[]; blocks: string[]; committed: Set<string> }
  /** Blocks held in memory, by hash hex (committed ones are on disk: see `holds`). */
  known: Set<string>
  /** Height being worked on (chain.length + 1 once started). */
  height: bigint
  /** Proposals received, by `${height}/${round}/${hash}` (to attach the decided one to the chain). */
  proposalsSeen: Map<string, Proposal>
  /** Own signed messages at the current height, re-sent on each gossip tick. */
  ownProposal: Proposal | null
  ownVotes: Vote[]
  proofSent: Map<number, { height: bigint; t: number }>
  /** Latest height each peer showed in its own (non-proof) messages: who needs catching up. */
  peerHeights: Map<number, bigint>
  /** Crash right after the next SignState persist (before anything is sent). */
  crashAfterPersist: boolean
  /** Decided a block it does not hold: commits once a proposal brings it (the real node's block sync). */
  pendingCommit: Extract<EngineAction, { type: 'Commit' }> | null
}

export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'commit-invalid'
  | 'double-sign'
  | 'evidence'
  | 'honest-rejected'
  | 'bft-time'
  | 'liveness'
  | 'budget'

export interface Violation {
  kind: ViolationKind
  timeMs: number
  detail: string
}

export interface SimStats {
  events: number
  delivered: number
  dropped: number
  duplicated: number
  commits: number
  maxRound: number
  evidence: number
  restarts: number
  rejected: Record<string, number>
  virtualTimeMs: number
  /** Virtual time from GST until the last honest node committed the last target height. */
  afterGstMs: number
  livenessBoundMs: number
}

export interface SimResult {
  seed: number
  ok: boolean
  scenario: Scenario
  violations: Violation[]
  stats: SimStats
  replay: string
  trace: string[] | null
}

export interface SimOptions {
  trace?: boolean
  /** Hard cap on processed events (a livelock guard). */
  maxEvents?: number
}

const CHAIN_ID = 'pulsemesh-sim'

export function runSimulation(scenario: Scenario, opts: SimOptions = {}): SimResult {
  return new World(scenario, opts).run()
}

class World {
  private readonly s: Scenario
  private readonly rng: Prng
  private readonly q = new EventQueue<SimEvent>()
  private readonly registry = new FakeKeyRegistry()
  private readonly verifier: ConsensusVerifier
  private readonly nodes: SimNode[] = []
  private readonly genesis: ValidatorSet
  private readonly honest: number[]
  private readonly blockKey: Uint8Array
  private readonly blocks = new Map<string, { height: bigint; valid: boolean; timeMs: bigint }>()
  private readonly decided = new Map<bigint, string>()
  /** Honest signatures: `${addr}/${h}/${r}/${step}` -> block hash. */
  private readonly honestSigned = new Map<string, string>()
  private readonly violations: Violation[] = []
  private readonly traceLines: string[] | null
  private readonly maxEvents: number
  private blockCounter = 0
  private now = 0
  private afterGst = false
  private cutArmed = false
  private partition: number[] | null = null
  private currentSender = -1
  private livenessDeadline = Number.POSITIVE_INFINITY
  private lastCommitAt = 0
  private readonly stats: SimStats = {
    events: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    commits: 0,
    maxRound: 0,
    evidence: 0,
    restarts: 0,
    rejected: {},
    virtualTimeMs: 0,
    afterGstMs: 0,
    livenessBoundMs: 0,
  }

  constructor(s: Scenario, opts: SimOptions) {
    this.s = s
    this.rng = new Prng(s.seed)
    this.traceLines = opts.trace ? [] : null
    this.maxEvents = opts.maxEvents ?? 5_000_000
    this.verifier = this.registry.verifier(makeSignBytes(CHAIN_ID))
    this.blockKey = this.rng.bytes(16)
    const byz = new Map(s.byzantine.map((b) => [b.node, b.behaviour]))
    for (let i = 0; i < s.validators; i++) {
      const signer = this.registry.createSigner(this.rng.bytes(16))
      this.nodes.push({
        id: i,
        signer,
        address: Uint8Array.of(0xa0, i),
        byz: byz.get(i) ?? null,
        engine: null,
        epoch: 0,
        skewMs: s.clockSkewMaxMs > 0 ? this.rng.range(-s.clockSkewMaxMs, s.clockSkewMaxMs) : 0,
        disk: { signState: null, chain: [], blocks: [], committed: new Set() },
        known: new Set(),
        height: 0n,
        proposalsSeen: new Map(),
        ownProposal: null,
        ownVotes: [],
        proofSent: new Map(),
        peerHeights: new Map(),
        crashAfterPersist: false,
        pendingCommit: null,
      })
    }
    this.honest = this.nodes.filter((n) => !n.byz).map((n) => n.id)
    this.genesis = createValidatorSet(
      this.nodes.map((n) => ({
        address: n.address,
        publicKey: n.signer.publicKey,
        votingPower: s.powers[n.id],
      })),
    )
  }

  run(): SimResult {
    for (const n of this.nodes) this.boot(n)
    this.scheduleFaults()
    this.q.push(this.s.gstMs, { k: 'gst' })
    while (this.q.size > 0) {
      const next = this.q.pop()!
      this.now = next.time
      if (this.now > this.livenessDeadline) break
      this.stats.events++
      if (this.stats.events > this.maxEvents) {
        this.violate('budget', `more than ${this.maxEvents} events`)
        break
      }
      this.step(next.item)
      if (this.violations.length > 0 || this.allDone()) break
    }
    if (this.violations.length === 0 && !this.allDone()) {
      const behind = this.honest
        .map((i) => `n${i}@h${this.nodes[i].disk.chain.length}`)
        .filter((_, k) => this.nodes[this.honest[k]].disk.chain.length < this.s.heights)
      this.violate(
        'liveness',
        `after GST (${this.s.gstMs} ms) honest nodes did not reach height ${this.s.heights} within ${this.stats.livenessBoundMs} ms: ${behind.join(' ')}`,
      )
    }
    this.stats.virtualTimeMs = this.now
    this.stats.afterGstMs = Math.max(0, this.lastCommitAt - this.s.gstMs)
    return {
      seed: this.s.seed,
      ok: this.violations.length === 0,
      scenario: this.s,
      violations: this.violations,
      stats: this.stats,
      replay: replayCommand(this.s),
      trace: this.traceLines,
    }
  }

  private allDone(): boolean {
    for (const i of this.honest) if (this.nodes[i].disk.chain.length < this.s.heights) return false
    return true
  }

  private violate(kind: ViolationKind, detail: string): void {
    this.violations.push({ kind, timeMs: this.now, detail })
    this.trace(`!! VIOLATION ${kind}: ${detail}`)
  }

  private trace(line: string): void {
    if (this.traceLines) this.traceLines.push(`${String(this.now).padStart(7)} ${line}`)
  }

  // ------------------------------------------------------------------ scheduling faults

  private scheduleFaults(): void {
    const gst = this.s.gstMs
    if (this.s.partitions) {
      let t = this.rng.range(0, 500)
      while (t < gst) {
        const group = this.nodes.map(() => this.rng.int(2))
        if (group.every((g) => g === group[0])) group[this.rng.int(group.length)] ^= 1
        this.q.push(t, { k: 'partition', group })
        const len = this.rng.range(300, 2500)
        this.q.push(Math.min(gst, t + len), { k: 'heal' })
        t += len + this.rng.range(100, 1500)
      }
    }
    if (this.s.restartsAll) {
      // The whole network goes down at once (a power cut, a devnet host restart) in the middle of a
      // height, just after some validator locked: what was only in memory is gone everywhere; each
      // node comes back after its own delay.
      let t = this.rng.range(300, 1500)
      while (t < gst) {
        this.q.push(t, { k: 'arm-cut' })
        t += this.rng.range(2500, 5000)
      }
    }
    if (this.s.crashes) {
      for (const i of this.honest) {
        let t = this.rng.range(0, gst)
        for (let c = 0; c < 2 && t < gst; c++) {
          if (!this.rng.chance(600)) break
          this.q.push(t, { k: 'crash', node: i })
          const down = this.rng.range(100, 2000)
          this.q.push(Math.min(gst, t + down), { k: 'restart', node: i })
          t += down + this.rng.range(200, 2000)
        }
      }
    }
  }

  // ------------------------------------------------------------------ the event loop

  private step(ev: SimEvent): void {
    switch (ev.k) {
      case 'deliver':
        this.deliver(ev.to, ev.from, ev.msg)
        return
      case 'engine': {
        const n = this.nodes[ev.node]
        if (!n.engine || n.epoch !== ev.epoch) return
        if (ev.ev.type === 'TimeoutFired')
          this.trace(`n${n.id} timeout ${ev.ev.step} h=${ev.ev.height} r=${ev.ev.round}`)
        this.feed(n, { ...ev.ev, nowMs: this.localNow(n) } as EngineEvent)
        return
      }
      case 'start': {
        const n = this.nodes[ev.node]
        if (!n.engine || n.epoch !== ev.epoch) return
        this.startHeight(n, ev.height)
        return
      }
      case 'gossip':
        this.gossip(ev.node, ev.epoch)
        return
      case 'arm-cut':
        if (!this.afterGst) this.cutArmed = true
        return
      case 'crash': {
        const n = this.nodes[ev.node]
        if (!n.engine || this.afterGst) return
        if (this.rng.chance(300)) n.crashAfterPersist = true
        else this.crash(n)
        return
      }
      case 'restart': {
        const n = this.nodes[ev.node]
        n.crashAfterPersist = false
        if (!n.engine) this.boot(n)
        return
      }
      case 'partition':
        if (!this.afterGst) {
          this.partition = ev.group
          this.trace(`PARTITION ${ev.group.join('')}`)
        }
        return
      case 'heal':
        this.partition = null
        this.trace('HEAL')
        return
      case 'gst':
        this.onGst()
        return
    }
  }

  private onGst(): void {
    this.afterGst = true
    this.partition = null
    this.trace('GST: network reliable from now, crashed nodes restart')
    for (const n of this.nodes) {
      n.crashAfterPersist = false
      if (!n.engine) this.boot(n)
    }
    // The stated liveness bound: finish the height in progress from its current round, then every
    // remaining height within f + 2 rounds (faulty proposers), each round bounded by its three timeouts
    // plus 4 message delays, plus the block interval and two gossip periods per height.
    const t = this.s.timeouts
    const delta = this.s.delayMaxAfterGstMs
    const roundCost = (r: number) =>
      timeoutMs(t, 'propose', r) + timeoutMs(t, 'prevote', r) + timeoutMs(t, 'precommit', r) + 4 * delta
    const f = Math.floor((this.s.validators - 1) / 3)
    let r0 = 0
    let minHeight = this.s.heights
    for (const i of this.honest) {
      r0 = Math.max(r0, this.nodes[i].engine?.snapshot().round ?? 0)
      minHeight = Math.min(minHeight, this.nodes[i].disk.chain.length)
    }
    let bound = 0
    for (let r = r0; r <= r0 + f + 2; r++) bound += roundCost(r)
    let perHeight = this.s.blockIntervalMs + 2 * this.s.gossipIntervalMs
    for (let r = 0; r <= f + 2; r++) perHeight += roundCost(r)
    bound += (this.s.heights - minHeight) * perHeight + 2 * this.s.gossipIntervalMs
    this.stats.livenessBoundMs = bound
    this.livenessDeadline = this.now + bound
  }

  private localNow(n: SimNode): bigint {
    return BigInt(Math.max(0, this.now + n.skewMs))
  }

  private boot(n: SimNode): void {
    n.epoch++
    n.engine = new TendermintEngine({
      verifier: this.verifier,
      ownAddress: n.address,
      signState: n.disk.signState,
      timeouts: this.s.timeouts,
      extendVote: (h, _r, bh) => concat8(n.id, h, bh),
      verifyVoteExtension: (v) => v.extension.length === 10,
      testOnlyDisableLockRule: this.s.testOnlyDisableLockRule && !n.byz,
    })
    if (n.height > 0n) {
      this.stats.restarts++
      this.trace(
        `n${n.id} RESTART at height ${n.disk.chain.length + 1} signState h=${n.disk.signState?.height} r=${n.disk.signState?.round} step=${n.disk.signState?.step}`,
      )
    }
    n.proposalsSeen = new Map()
    n.pendingCommit = null
    n.proofSent = new Map()
    n.peerHeights = new Map()
    this.startHeight(n, BigInt(n.disk.chain.length + 1))
    this.q.push(this.now + this.rng.range(1, this.s.gossipIntervalMs), {
      k: 'gossip',
      node: n.id,
      epoch: n.epoch,
    })
  }

  private crash(n: SimNode): void {
    n.engine = null
    n.epoch++
    n.known = new Set(n.disk.blocks)
    n.crashAfterPersist = false
    this.trace(`n${n.id} CRASH (in-memory state lost; SignState and chain kept)`)
    if (!this.afterGst)
      this.q.push(Math.min(this.s.gstMs, this.now + this.rng.range(100, 2000)), { k: 'restart', node: n.id })
  }

  private valsetFor(n: SimNode, height: bigint): ValidatorSet {
    if (height === 1n) return this.genesis
    const prev = n.disk.chain[Number(height) - 2]
    if (!this.s.valsetChanges) return advanceValidatorSet(prev.valset)
    // Power changes derived from the committed block: every honest node applies the same ones.
    const b = prev.blockHash
    const target = this.nodes[this.honest[b[0] % this.honest.length]]
    const power = BigInt(1 + (b[1] % 3))
    return advanceValidatorSet(prev.valset, [
      { address: target.address, publicKey: target.signer.publicKey, votingPower: power },
    ])
  }

  private startHeight(n: SimNode, height: bigint): void {
    n.height = height
    n.ownProposal = null
    n.ownVotes = []
    for (const k of n.proposalsSeen.keys())
      if (BigInt(k.slice(0, k.indexOf('/'))) < height) n.proposalsSeen.delete(k)
    this.feed(n, {
      type: 'StartHeight',
      height,
      validatorSet: this.valsetFor(n, height),
      nowMs: this.localNow(n),
    })
  }

  // ------------------------------------------------------------------ network

  private send(from: number, to: number, msg: WireMsg): void {
    // A proposal carries its block: a sender that does not hold the block cannot send it.
    if (msg.kind === 'proposal' && !this.holds(this.nodes[from], msg.proposal.blockHash)) return
    if (from === to) {
      this.q.push(this.now, { k: 'deliver', to, from, msg })
      return
    }
    if (!this.afterGst) {
      if (this.partition && this.partition[from] !== this.partition[to]) {
        this.stats.dropped++
        return
      }
      if (this.rng.chance(this.s.lossPerMille)) {
        this.stats.dropped++
        return
      }
      if (this.rng.chance(this.s.dupPerMille)) {
        this.stats.duplicated++
        this.q.push(this.now + this.delay(), { k: 'deliver', to, from, msg })
      }
    }
    this.q.push(this.now + this.delay(), { k: 'deliver', to, from, msg })
  }

  private delay(): number {
    if (this.afterGst) return this.rng.range(1, this.s.delayMaxAfterGstMs)
    const d = this.rng.range(this.s.delayMinMs, this.s.delayMaxMs)
    return this.rng.chance(50) ? d * this.rng.range(2, 5) : d
  }

  private broadcast(from: number, msg: WireMsg): void {
    for (let to = 0; to < this.nodes.length; to++) this.send(from, to, msg)
  }

  private deliver(to: number, from: number, msg: WireMsg): void {
    const n = this.nodes[to]
    if (!n.engine) return
    this.stats.delivered++
    this.currentSender = from
    if (msg.kind === 'proposal') {
      const p = msg.proposal
      this.trace(
        `n${to}<-n${from} proposal h=${p.height} r=${p.round} pol=${p.polRound} ${short(p.blockHash)}`,
      )
      n.proposalsSeen.set(`${p.height}/${p.round}/${toHex(p.blockHash)}`, p)
      if (from !== to) n.known.add(toHex(p.blockHash)) // a peer's proposal brings the block
      const pending = n.pendingCommit
      if (pending && pending.height === p.height && toHex(pending.blockHash) === toHex(p.blockHash)) {
        n.pendingCommit = null
        this.onCommit(n, pending)
      }
      if (!msg.proof) n.peerHeights.set(from, p.height)
      this.feed(n, { type: 'ProposalReceived', proposal: p, nowMs: this.localNow(n) })
      if (n.byz === 'equivocate' && from !== to && n.engine) this.echoVotes(n, p)
    } else if (msg.kind === 'vote') {
      const v = msg.vote
      this.trace(
        `n${to}<-n${from} ${v.type === VoteType.Prevote ? 'prevote' : `precommit@${v.timestampMs}`} h=${v.height} r=${v.round} ${short(v.blockHash)} i=${v.validatorIndex}`,
      )
      if (!msg.proof) n.peerHeights.set(from, v.height)
      this.feed(n, { type: 'VoteReceived', vote: v, nowMs: this.localNow(n) })
    } else if (msg.kind === 'status') {
      n.peerHeights.set(from, msg.height)
    } else {
      this.trace(`n${to}<-n${from} garbage ${msg.as}`)
      const ev =
        msg.as === 'vote'
          ? { type: 'VoteReceived' as const, vote: msg.payload as Vote, nowMs: this.localNow(n) }
          : { type: 'ProposalReceived' as const, proposal: msg.payload as Proposal, nowMs: this.localNow(n) }
      this.feed(n, ev)
    }
    this.currentSender = -1
  }

  /**
   * A peer is behind: send it the proposal and precommits that decided its height. Done from the gossip
   * tick (like CometBFT's per-peer gossip routine), at most once per peer and height per interval.
   */
  private sendProof(n: SimNode, peer: number, height: bigint): void {
    if (n.byz) return
    const entry = n.disk.chain[Number(height) - 1]
    if (!entry) return
    const last = n.proofSent.get(peer)
    if (last && last.height === height && this.now - last.t < this.s.gossipIntervalMs) return
    n.proofSent.set(peer, { height, t: this.now })
    if (entry.proposal) this.send(n.id, peer, { kind: 'proposal', proposal: entry.proposal, proof: true })
    for (let i = 0; i < entry.commit.signatures.length; i++) {
      const vote = { ...commitSigToVote(entry.commit, i), signature: entry.commit.signatures[i].signature }
      this.send(n.id, peer, { kind: 'vote', vote, proof: true })
    }
  }

  private gossip(id: number, epoch: number): void {
    const n = this.nodes[id]
    if (!n.engine || n.epoch !== epoch) return
    this.broadcastOthers(n, { kind: 'status', height: n.height })
    for (const [peer, h] of [...n.peerHeights].sort((a, b) => a[0] - b[0]))
      if (h < n.height) this.sendProof(n, peer, h)
    if (!n.byz && n.engine.currentStep !== 'decided') {
      // Relay what we hold for the rounds that matter (current, previous, our valid/locked round):
      // the gossip property the algorithm's liveness rests on. Own messages are always included.
      const snap = n.engine.snapshot()
      const rounds = new Set(
        [snap.round, snap.round - 1, snap.validRound, snap.lockedRound].filter((r) => r >= 0),
      )
      const sent = new Set<Vote | Proposal>()
      for (const r of [...rounds].sort((a, b) => a - b)) {
        const m = n.engine.roundMessages(r)
        for (const p of m.proposals) {
          sent.add(p)
          this.broadcastOthers(n, { kind: 'proposal', proposal: p })
        }
        for (const v of m.votes) this.broadcastOthers(n, { kind: 'vote', vote: v })
      }
      if (n.ownProposal && !sent.has(n.ownProposal))
        this.broadcastOthers(n, { kind: 'proposal', proposal: n.ownProposal })
      for (const v of n.ownVotes.slice(-4))
        if (!rounds.has(v.round)) this.broadcastOthers(n, { kind: 'vote', vote: v })
    }
    this.q.push(this.now + this.s.gossipIntervalMs, { k: 'gossip', node: id, epoch })
  }

  private broadcastOthers(n: SimNode, msg: WireMsg): void {
    for (let to = 0; to < this.nodes.length; to++) if (to !== n.id) this.send(n.id, to, msg)
  }

  // ------------------------------------------------------------------ the shell around the engine

  private feed(n: SimNode, ev: EngineEvent): void {
    const acts = n.engine!.handle(ev)
    const epoch = n.epoch
    for (const a of acts) {
      if (n.epoch !== epoch || !n.engine) return // crashed while acting
      if (n.byz) this.byzAct(n, a)
      else this.act(n, a)
    }
    const round = n.engine?.currentRound ?? 0
    if (round > this.stats.maxRound) this.stats.maxRound = round
  }

  private act(n: SimNode, a: EngineAction): void {
    switch (a.type) {
      case 'SignAndBroadcastProposal': {
        if (!this.persist(n, a.signState)) return
        const p: Proposal = {
          ...a.proposal,
          signature: n.signer.sign(this.verifier.proposalSignBytes(a.proposal)),
        }
        this.checkHonestSign(n, p.height, p.round, 'proposal', p.blockHash)
        n.ownProposal = p
        // Without the block (lost in a crash) the proposal goes nowhere; the engine still sees it.
        if (this.holds(n, p.blockHash)) this.broadcast(n.id, { kind: 'proposal', proposal: p })
        else
          this.q.push(this.now, {
            k: 'deliver',
            to: n.id,
            from: n.id,
            msg: { kind: 'proposal', proposal: p },
          })
        return
      }
      case 'SignAndBroadcastVote': {
        if (!this.persist(n, a.signState)) return
        const v: Vote = { ...a.vote, signature: n.signer.sign(this.verifier.voteSignBytes(a.vote)) }
        this.checkHonestSign(
          n,
          v.height,
          v.round,
          v.type === VoteType.Prevote ? 'prevote' : 'precommit',
          v.blockHash,
        )
        n.ownVotes.push(v)
        this.broadcast(n.id, { kind: 'vote', vote: v })
        return
      }
      case 'ScheduleTimeout':
        this.q.push(this.now + a.durationMs, {
          k: 'engine',
          node: n.id,
          epoch: n.epoch,
          ev: { type: 'TimeoutFired', height: a.height, round: a.round, step: a.step },
        })
        return
      case 'GetProposalBlock': {
        const blockTimeMs = this.blockTimeFor(n, a.height)
        const blockHash = this.newBlock(a.height, true, blockTimeMs)
        n.known.add(toHex(blockHash))
        this.q.push(this.now + this.rng.range(1, 5), {
          k: 'engine',
          node: n.id,
          epoch: n.epoch,
          ev: { type: 'ProposalBlock', height: a.height, round: a.round, blockHash, blockTimeMs },
        })
        return
      }
      case 'ValidateBlock': {
        const b = this.blocks.get(toHex(a.blockHash))
        const valid = b?.valid === true && b.height === a.height && this.holds(n, a.blockHash)
        this.q.push(this.now + this.rng.range(1, 10), {
          k: 'engine',
          node: n.id,
          epoch: n.epoch,
          ev: {
            type: 'BlockValidated',
            height: a.height,
            blockHash: a.blockHash,
            valid,
            blockTimeMs: b?.timeMs ?? 0n,
          },
        })
        return
      }
      case 'Commit':
        // Executing the decided block needs the block: without it, wait until a peer sends it.
        if (this.holds(n, a.blockHash)) this.onCommit(n, a)
        else n.pendingCommit = a
        return
      case 'RecordEvidence':
        this.onEvidence(n, a.evidence)
        return
      case 'MessageRejected': {
        this.stats.rejected[a.code] = (this.stats.rejected[a.code] ?? 0) + 1
        const sender = this.currentSender >= 0 ? this.nodes[this.currentSender] : null
        const structural =
          a.code === 'MSG_MALFORMED' || a.code === 'MSG_BAD_SIGNATURE' || a.code === 'MSG_UNKNOWN_VALIDATOR'
        if (sender && !sender.byz && structural)
          this.violate(
            'honest-rejected',
            `n${n.id} rejected a message from honest n${sender.id}: ${a.code} ${a.detail}`,
          )
        return
      }
    }
  }

  /** Write SignState to "disk" before anything is signed or sent; maybe crash right after. */
  private persist(n: SimNode, s: SignState): boolean {
    n.disk.signState = s
    // With it, the blocks it names (the real shell's SignStateFile does the same, in one write).
    n.disk.blocks = this.s.testOnlyForgetBlocks
      ? []
      : blocksNamedBy(s)
          .filter((h) => this.holds(n, h))
          .map((h) => toHex(h))
    if (this.cutArmed && !n.byz && s.lockedBlockHash && s.step === 3) {
      this.cutArmed = false
      this.trace(`n${n.id} locked: the whole network goes down`)
      const spread = this.rng.range(0, 30)
      for (const i of this.honest) this.q.push(this.now + this.rng.range(0, spread), { k: 'crash', node: i })
    }
    if (n.crashAfterPersist && !this.afterGst) {
      this.trace(
        `n${n.id} persisted SignState h=${s.height} r=${s.round} step=${s.step}, crashing before sending`,
      )
      this.crash(n)
      return false
    }
    return true
  }

  private checkHonestSign(n: SimNode, h: bigint, r: number, step: string, hash: Uint8Array): void {
    const key = `${n.id}/${h}/${r}/${step}`
    const hex = toHex(hash)
    const prior = this.honestSigned.get(key)
    if (prior !== undefined && prior !== hex)
      this.violate(
        'double-sign',
        `honest n${n.id} signed ${step} h=${h} r=${r} for ${prior.slice(0, 8)} and ${hex.slice(0, 8)}`,
      )
    this.honestSigned.set(key, hex)
  }

  /** Whether node n holds block `hash`: built or received since its last crash, saved, or committed. */
  private holds(n: SimNode, hash: Uint8Array): boolean {
    if (n.byz) return true // byzantine nodes may send anything they ever heard of
    const hex = toHex(hash)
    return n.known.has(hex) || n.disk.committed.has(hex)
  }

  private newBlock(height: bigint, valid: boolean, timeMs: bigint): Uint8Array {
    const hash = mac(this.blockKey, u64be(++this.blockCounter))
    this.blocks.set(toHex(hash), { height, valid, timeMs })
    return hash
  }

  /** A block's BFT time: the weighted median of its last commit (the proposer's), genesis = 0. */
  private blockTimeFor(n: SimNode, height: bigint): bigint {
    const prev = n.disk.chain[Number(height) - 2]
    return prev ? medianTime(prev.commit, prev.valset) : 0n
  }

  private onCommit(n: SimNode, a: Extract<EngineAction, { type: 'Commit' }>): void {
    const h = a.height
    const hex = toHex(a.blockHash)
    const valset = this.valsetFor(n, h)
    this.trace(
      `n${n.id} COMMIT h=${h} r=${a.round} ${hex.slice(0, 8)} sigs=${a.commit.signatures.map((x) => `${x.validatorIndex}@${x.timestampMs}`).join(',')} blockTime=${this.blocks.get(hex)?.timeMs}`,
    )
    if (!n.byz) {
      try {
        verifyCommit(a.commit, valset, this.verifier, { height: h, blockHash: a.blockHash })
      } catch (e) {
        this.violate('commit-invalid', `n${n.id} h=${h}: ${(e as Error).message}`)
      }
      const b = this.blocks.get(hex)
      if (b?.valid !== true || b.height !== h)
        this.violate(
          'validity',
          `n${n.id} committed ${b ? (b.valid ? 'a block of another height' : 'an invalid block') : 'an unknown block'} at h=${h}`,
        )
      const prevEntry = n.disk.chain[Number(h) - 2]
      if (b && prevEntry) {
        const t0 = this.blocks.get(toHex(prevEntry.blockHash))?.timeMs ?? 0n
        if (h > 2n && b.timeMs <= t0)
          this.violate('bft-time', `n${n.id} block time of h${h} ${b.timeMs} <= ${t0} (h${h - 1n})`)
      }
      const prior = this.decided.get(h)
      if (prior === undefined) this.decided.set(h, hex)
      else if (prior !== hex)
        this.violate(
          'agreement',
          `n${n.id} committed ${hex.slice(0, 8)} at h=${h}, another honest node ${prior.slice(0, 8)}`,
        )
      this.stats.commits++
      if (Number(h) === this.s.heights) this.lastCommitAt = Math.max(this.lastCommitAt, this.now)
    }
    n.disk.committed.add(hex)
    n.disk.chain.push({
      height: h,
      blockHash: a.blockHash,
      commit: a.commit,
      proposal: n.proposalsSeen.get(`${h}/${a.round}/${hex}`) ?? null,
      valset,
    })
    this.q.push(this.now + this.s.blockIntervalMs, { k: 'start', node: n.id, epoch: n.epoch, height: h + 1n })
  }

  private onEvidence(n: SimNode, ev: Extract<EngineAction, { type: 'RecordEvidence' }>['evidence']): void {
    this.stats.evidence++
    const set = this.valsetFor(n, ev.voteA.height)
    try {
      verifyDuplicateVoteEvidence(ev, set, this.verifier)
    } catch (e) {
      this.violate('evidence', `n${n.id} produced evidence that does not verify: ${(e as Error).message}`)
    }
    const offender = this.nodes.find(
      (x) => toHex(x.address) === toHex(set.validators[ev.voteA.validatorIndex].address),
    )
    if (offender && !offender.byz) this.violate('double-sign', `evidence against honest n${offender.id}`)
    this.trace(
      `n${n.id} EVIDENCE against index ${ev.voteA.validatorIndex} h=${ev.voteA.height} r=${ev.voteA.round}`,
    )
  }

  // ------------------------------------------------------------------ byzantine validators

  /** Knows only its own key. Runs the honest engine to follow the protocol, then misbehaves around it. */
  private byzAct(n: SimNode, a: EngineAction): void {
    const peers = this.nodes.filter((x) => x.id !== n.id).map((x) => x.id)
    switch (a.type) {
      case 'SignAndBroadcastProposal': {
        const p: Proposal = {
          ...a.proposal,
          signature: n.signer.sign(this.verifier.proposalSignBytes(a.proposal)),
        }
        this.send(n.id, n.id, { kind: 'proposal', proposal: p })
        if (n.byz === 'equivocate') {
          // Split the network: the round's outsiders get a fresh block (polRound -1), the rest the real one.
          const plan = this.attackPlan(n, p.height, p.round)
          const t = this.blockTimeFor(n, a.proposal.height)
          const u = { ...a.proposal, polRound: -1, blockHash: this.newBlock(a.proposal.height, true, t) }
          plan.altBlock = u.blockHash
          const p2: Proposal = { ...u, signature: n.signer.sign(this.verifier.proposalSignBytes(u)) }
          for (const to of peers) {
            const out = plan.outsiders.has(to)
            this.send(n.id, to, { kind: 'proposal', proposal: out ? p2 : p })
            if (this.rng.chance(100)) this.send(n.id, to, { kind: 'proposal', proposal: out ? p : p2 })
          }
        } else {
          for (const to of peers) this.send(n.id, to, { kind: 'proposal', proposal: p })
          if (n.byz === 'garbage') this.sendGarbage(n, peers, p)
        }
        return
      }
      case 'SignAndBroadcastVote': {
        const v: Vote = { ...a.vote, signature: n.signer.sign(this.verifier.voteSignBytes(a.vote)) }
        this.send(n.id, n.id, { kind: 'vote', vote: v })
        if (n.byz === 'withhold') return
        if (n.byz === 'equivocate') {
          // Prevotes: the real one to insiders, the alternative to outsiders. Precommits: the real one
          // to a single victim only, nil to everyone else: the pattern that forks an engine without
          // the lock rule (one node commits, the others move on to another block).
          const plan = this.attackPlan(n, v.height, v.round)
          const seen = [...n.proposalsSeen.entries()]
            .filter(([k]) => k.startsWith(`${v.height}/${v.round}/`))
            .map(([, x]) => x.blockHash)
            .filter((h) => toHex(h) !== toHex(v.blockHash))
          const altHash =
            v.type === VoteType.Prevote
              ? (plan.altBlock ?? (seen.length > 0 ? this.rng.pick(seen) : new Uint8Array(32)))
              : new Uint8Array(32)
          const u = {
            ...a.vote,
            blockHash: altHash,
            extension:
              isNilHash(altHash) || a.vote.type === VoteType.Prevote
                ? new Uint8Array(0)
                : concat8(n.id, v.height, altHash),
          }
          const v2: Vote = { ...u, signature: n.signer.sign(this.verifier.voteSignBytes(u)) }
          for (const to of peers) {
            const real = v.type === VoteType.Prevote ? !plan.outsiders.has(to) : to === plan.victim
            this.send(n.id, to, { kind: 'vote', vote: real ? v : v2 })
            // Occasionally both, so equivocation evidence is produced and checked.
            if (this.rng.chance(100)) this.send(n.id, to, { kind: 'vote', vote: real ? v2 : v })
          }
          return
        }
        for (const to of peers) this.send(n.id, to, { kind: 'vote', vote: v })
        if (n.byz === 'garbage') this.sendGarbage(n, peers, v)
        return
      }
      case 'GetProposalBlock': {
        const blockTimeMs = this.blockTimeFor(n, a.height)
        const blockHash = this.newBlock(a.height, n.byz !== 'invalid', blockTimeMs)
        this.q.push(this.now + 1, {
          k: 'engine',
          node: n.id,
          epoch: n.epoch,
          ev: { type: 'ProposalBlock', height: a.height, round: a.round, blockHash, blockTimeMs },
        })
        return
      }
      case 'ValidateBlock': {
        const b = this.blocks.get(toHex(a.blockHash))
        const valid = n.byz === 'invalid' || (b?.valid === true && b.height === a.height)
        this.q.push(this.now + 1, {
          k: 'engine',
          node: n.id,
          epoch: n.epoch,
          ev: {
            type: 'BlockValidated',
            height: a.height,
            blockHash: a.blockHash,
            valid,
            blockTimeMs: b?.timeMs ?? 0n,
          },
        })
        return
      }
      case 'Commit':
        this.onCommit(n, a)
        return
      case 'RecordEvidence':
        this.onEvidence(n, a.evidence)
        return
      default:
        this.act(n, a)
        return
    }
  }

  private plans = new Map<string, { outsiders: Set<number>; victim: number; altBlock: Uint8Array | null }>()
  private echoed = new Set<string>()

  /**
   * The equivocator also prevotes and precommits any later-round proposal at its current or just-decided
   * height (it signs whatever helps a second decision). Harmless to a correct engine, whose locked
   * validators refuse such blocks; fatal to one without the lock rule.
   */
  private echoVotes(n: SimNode, p: Proposal): void {
    if (p.round === 0 || p.height < n.height - 1n || p.height > n.height) return
    const key = `${n.id}/${p.height}/${p.round}`
    if (this.echoed.has(key)) return
    this.echoed.add(key)
    const set = this.valsetFor(n, p.height)
    const idx = set.validators.findIndex((x) => toHex(x.address) === toHex(n.address))
    if (idx < 0) return
    for (const type of [VoteType.Prevote, VoteType.Precommit] as const) {
      const u = {
        type,
        height: p.height,
        round: p.round,
        blockHash: p.blockHash,
        timestampMs: this.localNow(n),
        validatorIndex: idx,
        extension: type === VoteType.Precommit ? concat8(n.id, p.height, p.blockHash) : new Uint8Array(0),
      }
      const vote: Vote = { ...u, signature: n.signer.sign(this.verifier.voteSignBytes(u)) }
      this.broadcastOthers(n, { kind: 'vote', vote })
    }
  }

  /** The equivocator's per-(height, round) split: some honest outsiders and one precommit victim. */
  private attackPlan(n: SimNode, h: bigint, r: number) {
    const key = `${n.id}/${h}/${r}`
    let plan = this.plans.get(key)
    if (!plan) {
      const honest = this.honest.filter((i) => i !== n.id)
      const outsiders = new Set<number>()
      const k = Math.max(1, Math.floor(honest.length / 3))
      while (outsiders.size < k) outsiders.add(this.rng.pick(honest))
      const insiders = honest.filter((i) => !outsiders.has(i))
      const victim = insiders.length > 0 ? this.rng.pick(insiders) : this.rng.pick(honest)
      plan = { outsiders, victim, altBlock: null }
      this.plans.set(key, plan)
    }
    return plan
  }

  /** Malformed and forged messages: every one must be rejected without effect. */
  private sendGarbage(n: SimNode, peers: number[], real: Vote | Proposal): void {
    const isVote = 'validatorIndex' in real
    const to = this.rng.pick(peers)
    const m = this.rng.int(8)
    let payload: unknown
    if (isVote) {
      const v = real as Vote
      const forgedIdx = (v.validatorIndex + 1 + this.rng.int(this.nodes.length - 1)) % this.nodes.length
      payload = [
        { ...v, type: 9 },
        { ...v, round: -3 },
        { ...v, height: Number(v.height) },
        { ...v, blockHash: this.rng.bytes(5) },
        { ...v, validatorIndex: 1000 + this.rng.int(1000) },
        { ...v, signature: this.rng.bytes(32) },
        // Claims another validator's index, signed with our own key: a forgery attempt.
        { ...v, validatorIndex: forgedIdx },
        { ...v, type: VoteType.Prevote, extension: this.rng.bytes(70_000) },
      ][m]
    } else {
      const p = real as Proposal
      payload = [
        { ...p, polRound: p.round },
        { ...p, blockHash: new Uint8Array(32) },
        { ...p, signature: this.rng.bytes(3) },
        { ...p, round: 2 ** 40 },
        null,
        'not a proposal',
        { ...p, timestampMs: -1n },
        { ...p, signature: this.rng.bytes(32) },
      ][m]
    }
    this.send(n.id, to, { kind: 'garbage', as: isVote ? 'vote' : 'proposal', payload })
  }
}

function short(h: Uint8Array): string {
  return isNilHash(h) ? 'nil' : toHex(h.subarray(0, 4))
}

/** The simulated vote extension: 10 bytes (node id, height, first byte of the block). */
function concat8(id: number, h: bigint, bh: Uint8Array): Uint8Array {
  const out = new Uint8Array(10)
  out[0] = id
  out.set(u64be(h), 1)
  out[9] = bh[0]
  return out
}
