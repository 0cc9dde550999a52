/**
 * The consensus shell of one validator on one network: it feeds the pure Tendermint engine
 * (@pulsemesh/consensus) with messages, timeouts and the application's verdicts, and performs the
 * actions it returns against a NetworkNode (build, validate by re-execution, commit with the
 * certificate) and a ConsensusTransport (broadcast signed proposals and votes).
 *
 * Ordering rules this file exists to keep:
 *  - every engine interaction runs on one promise chain (`enqueue`), so the engine never sees two
 *    events at once and async work (validation, commit) feeds its answer back in order;
 *  - SignState is persisted with fsync (SignStateFile.save) BEFORE the message is signed and sent;
 *  - a block is committed only with the engine's > 2/3 precommit certificate, or (catch-up) with a
 *    stored certificate that verifies against the validator set of that height.
 */
import { EventEmitter } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { accountIdOf, type BeginBlockInfo } from '@pulsemesh/app'
import {
  type ConsensusVerifier,
  type DuplicateVoteEvidence,
  type EngineAction,
  type EngineEvent,
  advanceValidatorSet,
  blocksNamedBy,
  DEFAULT_TIMEOUTS,
  medianTime,
  proposerIndexForRound,
  type SignState,
  TendermintEngine,
  type TimeoutParams,
  type ValidatorSet,
  verifyCommit,
  verifyDuplicateVoteEvidence,
} from '@pulsemesh/consensus'
import {
  type Block,
  blockHash,
  type Commit,
  decodeBlock,
  encodeBlock,
  encodeCommit,
  equalBytes,
  type Proposal,
  proposalSignBytes,
  sign,
  toHex,
  txHash,
  verify,
  type Vote,
  VoteType,
  voteSignBytes,
} from '@pulsemesh/core'
import {
  type ConsensusBlockInfo,
  NetworkError,
  type NetworkNode,
  type PreparedBlock,
  type ValidatorKey,
  validatorSetHash,
} from '../chain/network-node.ts'
import {
  decodeBlockResponse,
  decodeEvidence,
  decodeMessage,
  encodeEvidence,
  encodeMessage,
  MsgTag,
} from './messages.ts'
import { type ForkEvidence, readForkEvidence, writeForkEvidence } from './fork-evidence.ts'
import type { SignStateFile } from './sign-state-file.ts'
import { type ConsensusTransport, nextResendDelay, STALL_RESEND_MS, VerifiedSignatures } from './transport.ts'
import { TRACE_DIR, trace } from './trace.ts'

/**
 * Vote extensions (ABCI++ ExtendVote / VerifyVoteExtension): application bytes attached to this
 * validator's non-nil precommits and checked on everybody else's. Oracle prices and Proof of Emotion
 * scores will implement it; both functions must be deterministic and must not throw.
 */
export interface VoteExtensionHook {
  extend(height: bigint, round: number, blockHash: Uint8Array): Uint8Array
  verify(vote: Vote): boolean
}

export interface ConsensusDriverOptions {
  node: NetworkNode
  key: ValidatorKey
  /**
   * Further consensus keys of this validator (a key it rotates to, or rotated from). At each height
   * the driver signs with the key that is in that height's validator set, so a rotation takes over
   * exactly at the height it becomes effective (H+2 of the rotate-key block).
   */
  extraKeys?: ValidatorKey[]
  transport: ConsensusTransport
  signState: SignStateFile
  timeouts?: Partial<TimeoutParams>
  /**
   * Minimum interval between the starts of two heights (a block interval), and the longest wait
   * after a commit for the precommits that came too late for it (CometBFT timeout_commit, skipped
   * once every validator's precommit is in).
   */
  commitDelayMs?: number
  /**
   * > 0: do not start heights for empty blocks while idle (CometBFT create_empty_blocks = false with
   * create_empty_blocks_interval). After a commit the next height starts once `commitDelayMs` has
   * passed AND this node's mempool holds a tx, or a peer's proposal/vote for that height arrives, or
   * this long has passed (a heartbeat empty block). Every validator waits on its own mempool, and
   * txs are gossiped to all of them, so the round proposer starts about when the others do; a
   * validator's propose timeout only runs once it started. 0 / absent: a height starts
   * `commitDelayMs` after every commit, txs or not (empty blocks).
   */
  emptyBlocksIntervalMs?: number
  voteExtensions?: VoteExtensionHook
  /** Wall clock in ms (injected for tests). */
  now?: () => bigint
  /** Where fork evidence is persisted (default: fork-<network>.json next to the sign-state file). */
  forkEvidenceFile?: string
}

export interface DriverStats {
  committed: number
  caughtUp: number
  rejected: number
  invalidBlocks: number
  txForwarded: number
  txReceived: number
  /** Own proposals built during the previous block's write (pipelining) and then used. */
  proposalsPrebuilt: number
  /** Compact proposals naming txs this node did not hold (the whole proposal was asked for). */
  proposalRequests: number
}

/** Duplicate-vote evidence as carried in blocks (two votes) checked against the set of its height. */
function verifyEvidence(
  ev: { voteA: Vote; voteB: Vote },
  set: ValidatorSet,
  verifier: ConsensusVerifier,
): void {
  const power = set.validators[ev.voteA.validatorIndex]?.votingPower ?? 0n
  verifyDuplicateVoteEvidence(
    { ...ev, validatorPower: power, totalVotingPower: set.totalVotingPower },
    set,
    verifier,
  )
}

/** Bounded store of proposed blocks seen (current and buffered future heights). */
const MAX_KEPT_BLOCKS = 64
const MAX_EVIDENCE_PER_BLOCK = 16
/**
 * Proposal size policy: a block should take every validator at most this fraction of the propose
 * timeout to validate, judged by this node's own recent cost per tx (building and validating).
 * Without it a backlog makes the next proposal too big to validate in time, the round fails, the
 * backlog grows and every later round fails too. Never below PROPOSAL_TXS_MIN.
 */
const PROPOSAL_BUDGET_FRACTION = 0.25
const PROPOSAL_TXS_MIN = 128
/** Forwarded-tx dedup memory and the cap on peer txs being admitted at once (drop beyond). */
const TX_SEEN_MAX = 20_000
const TX_INFLIGHT_MAX = 256

/**
 * Between a commit and the next height: the height starts once the minimum interval since the
 * previous height's start passed (`intervalPassed`) and the head's precommits are all in or
 * `commitDelayMs` passed since the commit (`signaturesDone`), i.e. `minPassed` — in idle-cheap mode
 * only when there is work (a tx in the mempool); a peer's message or the heartbeat start it regardless.
 */
interface Waiting {
  height: bigint
  intervalPassed: boolean
  signaturesDone: boolean
  minPassed: boolean
}

interface KeptBlock {
  block: Block
  bytes?: Uint8Array
  txHashes?: Uint8Array[]
}

/** A node asks for (and answers with) a whole proposal at most this often per block. */
const PROPOSAL_REQUEST_MS = 500
/** Missing txs of a compact proposal are looked up again this many times, this far apart. */
const COMPACT_RETRIES = 3
const COMPACT_RETRY_MS = 10

export class ConsensusDriver extends EventEmitter {
  readonly node: NetworkNode
  private key: ValidatorKey
  private readonly keyring: ValidatorKey[]
  private readonly engineOpts: { timeouts?: Partial<TimeoutParams>; ext?: VoteExtensionHook }
  private readonly transport: ConsensusTransport
  private readonly signState: SignStateFile
  private readonly commitDelayMs: number
  private readonly emptyBlocksIntervalMs: number
  /** Our proposal for the next height, built while the last block's write ran (see prebuild). */
  private prebuilt: PreparedBlock | undefined
  /** Recent cost of executing a block here, ms per tx (EWMA), for the proposal cap. */
  private msPerTx = 0
  private readonly proposeBaseMs: number
  /** The height this validator waits to start (idle, no txs), and whether the minimum interval passed. */
  private waiting: Waiting | undefined
  /** When the current height started (performance.now()), for the minimum interval between heights. */
  private startedAt = Number.NEGATIVE_INFINITY
  private readonly now: () => bigint
  private readonly verifier: ConsensusVerifier
  /** Signatures known good (gossip admission, our own): the engine's verifier skips them. */
  private readonly verified: VerifiedSignatures
  private engine: TendermintEngine
  /** Validator sets of the heights around the current one, loaded from the node before use. */
  private sets = new Map<bigint, ValidatorSet>()
  /** Verified duplicate-vote evidence not yet in a committed block, by hex encoding. */
  private readonly pendingEvidence = new Map<string, Uint8Array>()
  /** Proposed blocks by hash; `bytes` (the whole encoding) is made only when a peer needs it. */
  private readonly blocks = new Map<string, KeptBlock>()
  /** Signed proposals by block hash (current height), to answer a peer's proposalRequest. */
  private readonly signedProposals = new Map<string, Proposal>()
  /** Last time (ms) a whole proposal was asked for / sent, by block hash (one per PROPOSAL_REQUEST_MS). */
  private readonly proposalRequests = new Map<string, number>()
  /** Bytes of txs forwarded to us or by us (in-process transports; gossip keeps its own). */
  private readonly txBytes = new Map<string, Uint8Array>()
  private readonly prepared = new Map<string, PreparedBlock>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Stall re-send of the open height, for transports without their own (see armStall). */
  private stallTimer: NodeJS.Timeout | undefined
  private queue: Promise<void> = Promise.resolve()
  private stopped = false
  /** The persisted sign state and the blocks saved with it, read back at start (restoreBlocks). */
  private restored: { state: SignState; blocks: Uint8Array[] } | undefined
  /** Names this validator in PULSEMESH_CONSENSUS_TRACE lines (several share a process in-process). */
  private readonly traceTag: string
  private maxSeenHeight = 0n
  private lastRequest = { height: -1n, at: 0 }
  private lastServed = new Map<bigint, number>()
  readonly evidence: DuplicateVoteEvidence[] = []
  readonly stats: DriverStats = {
    committed: 0,
    caughtUp: 0,
    rejected: 0,
    invalidBlocks: 0,
    txForwarded: 0,
    txReceived: 0,
    proposalsPrebuilt: 0,
    proposalRequests: 0,
  }
  /** Tx hashes already forwarded or received (insertion-ordered: the oldest are forgotten first). */
  private readonly seenTx = new Set<string>()
  private txInflight = 0
  /** Evidence already in a committed block (not gossiped or proposed again). */
  private readonly doneEvidence = new Set<string>()
  readonly forkEvidenceFile: string
  /**
   * The head's certificate plus precommits that arrived after the decision (CometBFT gathers them
   * during timeout_commit): the next block's lastCommit names every validator that signed in time,
   * so a validator whose precommit is merely a few ms late is not counted as down.
   */
  private lastCommitPlus: Commit | undefined
  /** Precommits for another block than the head at the head's height, by round:hash (fork watch). */
  private rivals = new Map<string, { commit: Commit; power: bigint }>()
  private readonly onTx = (d: { hashHex: string; bytes: Uint8Array }) => {
    if (this.waiting?.minPassed) this.wake(this.waiting.height)
    // The gossip transport has its own tx topic (fed from the mempool): nothing to encode here.
    if (this.stopped || this.transport.carriesTxs !== true || this.seenTx.has(d.hashHex)) return
    this.rememberTx(d.hashHex)
    this.rememberTxBytes(d.hashHex, d.bytes)
    this.stats.txForwarded++
    this.transport.broadcast(encodeMessage({ type: 'tx', txBytes: d.bytes }))
  }

  constructor(o: ConsensusDriverOptions) {
    super()
    this.node = o.node
    this.key = o.key
    this.keyring = [o.key, ...(o.extraKeys ?? [])]
    this.engineOpts = { timeouts: o.timeouts, ext: o.voteExtensions }
    this.forkEvidenceFile = o.forkEvidenceFile ?? join(dirname(o.signState.path), `fork-${o.node.id}.json`)
    this.transport = o.transport
    this.signState = o.signState
    this.commitDelayMs = o.commitDelayMs ?? o.node.genesis.params.blockIntervalMs
    this.emptyBlocksIntervalMs = o.emptyBlocksIntervalMs ?? 0
    this.proposeBaseMs = o.timeouts?.proposeBaseMs ?? DEFAULT_TIMEOUTS.proposeBaseMs
    this.now = o.now ?? (() => BigInt(Date.now()))
    const id = o.node.id
    // Votes and proposals from gossip were verified on admission (same key, bytes and signature):
    // the transport's memory of those answers without a second Ed25519 verification.
    const verified = o.transport.verified ?? new VerifiedSignatures(256)
    this.verified = verified
    this.verifier = {
      voteSignBytes: (v) => voteSignBytes(id, v),
      proposalSignBytes: (p) => proposalSignBytes(id, p),
      verify: (pk, msg, sig) =>
        verified.has(pk, msg, sig) || verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
    }
    this.engine = this.makeEngine(o.key)
    this.traceTag = `[${toHex(o.key.publicKey).slice(0, 6)}]`
  }

  /** An engine signing as `key`, resuming from the persisted sign state (heights only grow). */
  private makeEngine(key: ValidatorKey): TendermintEngine {
    const ext = this.engineOpts.ext
    const saved = this.signState.loadWithBlocks()
    this.restored = saved.state ? { state: saved.state, blocks: saved.blocks } : undefined
    return new TendermintEngine({
      verifier: this.verifier,
      ownAddress: accountIdOf({ scheme: 'ed25519', bytes: key.publicKey }),
      signState: saved.state,
      timeouts: this.engineOpts.timeouts,
      extendVote: ext ? (h, r, b) => ext.extend(h, r, b) : undefined,
      verifyVoteExtension: ext ? (v) => ext.verify(v) : undefined,
    })
  }

  /** The consensus key this validator signs with now. */
  get signingKey(): Uint8Array {
    return this.key.publicKey
  }

  /** Adds a key to rotate to (before or after the rotate-key tx); it signs from its first height in the set. */
  addKey(key: ValidatorKey): void {
    if (!this.keyring.some((k) => equalBytes(k.publicKey, key.publicKey))) this.keyring.push(key)
  }

  /**
   * Starts consensus at head+1; resolves once the first height has started. A node with persisted
   * fork evidence stays halted (an operator must look at the evidence).
   */
  start(): Promise<void> {
    const fork = existsSync(this.forkEvidenceFile)
      ? readForkEvidence(readFileSync(this.forkEvidenceFile))
      : null
    if (fork) {
      this.node.halt(`fork at height ${fork.height} (persisted evidence)`, fork)
      return Promise.resolve()
    }
    this.transport.onMessage((m) => {
      // Forwarded txs go straight to the mempool: they must not wait behind consensus work.
      if (m[0] === MsgTag.Tx) this.onPeerTx(m)
      else {
        if (TRACE_DIR) trace(`${this.traceTag} msg in tag=${m[0]} bytes=${m.length}`)
        void this.enqueue(() => this.onMessage(m))
      }
    })
    this.node.on('tx', this.onTx)
    return this.enqueue(() => this.startHeight())
  }

  private rememberTx(h: string): void {
    if (this.seenTx.size >= TX_SEEN_MAX) this.seenTx.delete(this.seenTx.values().next().value!)
    this.seenTx.add(h)
  }

  /** A tx from a peer: deduplicated, bounded, then the normal submitTx admission (errors just drop it). */
  private onPeerTx(m: Uint8Array): void {
    if (this.stopped || this.txInflight >= TX_INFLIGHT_MAX) return
    if (m.length - 1 > this.node.genesis.params.blockBytesMax) return
    let d: ReturnType<typeof decodeMessage>
    try {
      d = decodeMessage(m)
    } catch {
      this.stats.rejected++
      return
    }
    if (d.type !== 'tx') return
    const hashHex = toHex(txHash(d.txBytes))
    if (this.seenTx.has(hashHex)) return
    this.rememberTx(hashHex)
    this.rememberTxBytes(hashHex, d.txBytes)
    this.txInflight++
    this.node
      .submitTx(d.txBytes)
      .then(() => {
        this.stats.txReceived++
      })
      .catch(() => {
        // Invalid, duplicate, or the mempool is full: the peer's problem, nothing to do here.
      })
      .finally(() => {
        this.txInflight--
      })
  }

  /** Stops timers and the transport and waits for in-flight work (a commit finishes writing). */
  async stop(): Promise<void> {
    if (TRACE_DIR) trace(`${this.traceTag} stop at ${this.node.height} engine ${this.height}/${this.round}`)
    this.stopped = true
    this.node.off('tx', this.onTx)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.transport.close()
    await this.queue
    this.signState.close() // its descriptor; a later save reopens the file
  }

  get height(): bigint {
    return this.engine.currentHeight
  }
  get round(): number {
    return this.engine.currentRound
  }

  /** The validator set of `height` (loaded by loadSets; heights h-1..h+1 around the current one). */
  validatorSetAt(height: bigint): ValidatorSet {
    const s = this.sets.get(height)
    if (!s) throw new NetworkError('NOT_FOUND', `validator set of height ${height} not loaded`)
    return s
  }

  private async loadSets(h: bigint): Promise<void> {
    const next = new Map<bigint, ValidatorSet>()
    for (const x of [h - 1n, h, h + 1n]) if (x >= 1n) next.set(x, await this.node.validatorSetAt(x))
    this.sets = next
  }

  /**
   * Begin-block information and set hashes for the block at `h`: who signed the previous block (from
   * its lastCommit, for downtime) and the misbehaviour its evidence proves (each piece verified
   * against the validator set of its own height). Throws NetworkError BLOCK_INVALID on bad evidence.
   */
  private async consensusInfo(
    h: bigint,
    lastCommit: Commit,
    evidence: Uint8Array[],
  ): Promise<ConsensusBlockInfo> {
    const beginBlock: BeginBlockInfo = { lastCommitVotes: [], misbehaviour: [] }
    if (h > 1n) {
      const prev = this.validatorSetAt(h - 1n)
      const signed = new Set(lastCommit.signatures.map((s) => s.validatorIndex))
      prev.validators.forEach((v, i) => {
        beginBlock.lastCommitVotes.push({ consensusKey: v.publicKey, signed: signed.has(i) })
      })
    }
    if (evidence.length > MAX_EVIDENCE_PER_BLOCK)
      throw new NetworkError('BLOCK_INVALID', 'too much evidence in one block')
    const seen = new Set<string>()
    for (const bytes of evidence) {
      const key = toHex(bytes)
      if (seen.has(key)) throw new NetworkError('BLOCK_INVALID', 'duplicate evidence')
      seen.add(key)
      try {
        const ev = decodeEvidence(bytes)
        if (ev.voteA.height >= h) throw new Error('evidence from the future')
        const set = await this.node.validatorSetAt(ev.voteA.height)
        verifyEvidence(ev, set, this.verifier)
        beginBlock.misbehaviour.push({
          consensusKey: set.validators[ev.voteA.validatorIndex].publicKey,
          height: ev.voteA.height,
          kind: 'duplicate-vote',
        })
      } catch (e) {
        throw new NetworkError('BLOCK_INVALID', `invalid evidence: ${(e as Error).message}`)
      }
    }
    return {
      validatorsHash: validatorSetHash(this.validatorSetAt(h)),
      nextValidatorsHash: validatorSetHash(this.validatorSetAt(h + 1n)),
      beginBlock,
    }
  }

  private enqueue(fn: () => Promise<void> | void): Promise<void> {
    const run = this.queue.then(() => (this.stopped || this.node.halted ? undefined : fn()))
    this.queue = run.catch((e) => {
      this.emit('error', e)
    })
    return this.queue
  }

  private timer(ms: number, fn: () => void): void {
    if (this.stopped) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  /** BFT time of the block at head+1: genesis time for block 1, else the weighted median of the last commit. */
  private blockTimeFor(lastCommit: Commit, height: bigint): bigint {
    if (height === 1n) return this.node.genesis.genesisTimeMs
    return medianTime(lastCommit, this.validatorSetAt(height - 1n))
  }

  private async startHeight(): Promise<void> {
    if (this.node.halted) return
    const h = this.node.height + 1n
    if (this.engine.currentStep !== 'idle' && this.engine.currentHeight >= h) return
    this.waiting = undefined
    this.startedAt = performance.now()
    if (TRACE_DIR) trace(`${this.traceTag} start ${h} mempool=${this.node.mempool.size}`)
    await this.loadSets(h)
    this.pickKey(h)
    for (const [k, b] of this.blocks) if (b.block.header.height < h) this.blocks.delete(k)
    for (const [k, p] of this.signedProposals) if (p.height < h) this.signedProposals.delete(k)
    this.prepared.clear()
    await this.restoreBlocks(h)
    this.feed({ type: 'StartHeight', height: h, validatorSet: this.validatorSetAt(h), nowMs: this.now() })
    this.armStall(h, STALL_RESEND_MS)
  }

  /**
   * After a restart inside a height: the blocks saved with our sign state (the one we are locked
   * on, the one we proposed) are executed again and kept, so this node can commit them, re-propose
   * them (as a later round's proposer, or by re-sending its signed proposal: the guard allows no
   * other at that round) and serve them. Without the locked block, a network whose every holder of
   * it restarted could never decide: the locked validators prevote nil for anything else.
   */
  private async restoreBlocks(h: bigint): Promise<void> {
    const r = this.restored
    // Kept until the record's own height starts (a node behind its sign state catches up first).
    if (!r || r.state.height > h || this.node.height + 1n !== h) return
    this.restored = undefined
    if (r.state.height !== h) return
    const named = blocksNamedBy(r.state)
    for (const bytes of r.blocks) {
      let block: Block
      try {
        block = decodeBlock(bytes)
      } catch {
        continue
      }
      const hash = blockHash(block.header)
      if (block.header.height !== h || !named.some((x) => equalBytes(x, hash))) continue
      const key = toHex(hash)
      this.keepBlock(key, block, bytes)
      try {
        const info = await this.consensusInfo(h, block.lastCommit, block.evidence)
        this.prepared.set(key, await this.node.validateBlock(block, this.headerCheck(block, 'member'), info))
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e
        this.blocks.delete(key)
        this.emit('invalidBlock', { height: h, hash: key, reason: e.message })
      }
    }
  }

  /** The encoded blocks `s` names (its lock, its proposal) that this node holds. */
  private blocksOf(s: SignState): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const hash of blocksNamedBy(s)) {
      const b = this.blocks.get(toHex(hash))
      if (b) out.push((b.bytes ??= encodeBlock(b.block)))
    }
    return out
  }

  /**
   * A transport without a stall re-send of its own (in-process) loses messages sent to a peer not
   * connected yet (a restart brings validators up one by one), and a step such as "waiting for
   * 2/3 prevotes" schedules no timeout that would re-send them: without this the height could
   * wait forever. While height h is open, its round's own messages go out again with the gossip
   * transport's backoff (1.5 s, 3 s, ... 12 s).
   */
  private armStall(h: bigint, delayMs: number): void {
    if (this.transport.resendsStalled === true || this.stopped) return
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined
      if (this.stopped || this.node.halted || this.node.height >= h || this.engine.currentHeight !== h) return
      // Every round of the height: a lock taken in an earlier round is released only by its POL
      // (2/3 prevotes of that round), which peers that missed them cannot otherwise get.
      if (TRACE_DIR) trace(`${this.traceTag} stall resend ${h} rounds 0..${this.engine.currentRound}`)
      for (let r = 0; r <= this.engine.currentRound; r++) this.resendRound(r)
      this.armStall(h, nextResendDelay(delayMs))
    }, delayMs)
    this.stallTimer.unref()
  }

  /** Broadcasts this node's proposal and votes of `round` (default: the current one) again. */
  private resendRound(round = this.engine.currentRound): void {
    const msgs = this.engine.roundMessages(round)
    for (const proposal of msgs.proposals) {
      const b = this.blocks.get(toHex(proposal.blockHash))
      if (b) this.transport.broadcast(this.proposalMessage(proposal, b))
    }
    for (const vote of msgs.votes) this.transport.broadcast(encodeMessage({ type: 'vote', vote }))
  }

  /**
   * Key rotation: signs height h with the keyring key that is in h's validator set. Switching builds a
   * fresh engine on the persisted sign state; the old key never signs at or after the switch height.
   */
  private pickKey(h: bigint): void {
    const set = this.validatorSetAt(h)
    const inSet = (k: ValidatorKey) => set.validators.some((v) => equalBytes(v.publicKey, k.publicKey))
    if (inSet(this.key)) return
    const next = this.keyring.find(inSet)
    if (!next) return
    this.key = next
    this.engine = this.makeEngine(next)
    this.emit('keySwitched', { height: h, publicKey: next.publicKey })
  }

  /** Runs an event and everything it causes synchronously (own messages are fed back in order). */
  private feed(first: EngineEvent): void {
    const events: EngineEvent[] = [first]
    while (events.length > 0) {
      const e = this.engine
      const before = TRACE_DIR ? `${e.currentHeight}/${e.currentRound}/${e.currentStep}` : ''
      const actions = e.handle(events.shift()!)
      if (TRACE_DIR) {
        const now = `${e.currentHeight}/${e.currentRound}/${e.currentStep}`
        if (now !== before) trace(`${this.traceTag} step ${before} -> ${now}`)
      }
      for (const a of actions) this.perform(a, events)
    }
  }

  private perform(a: EngineAction, events: EngineEvent[]): void {
    switch (a.type) {
      case 'SignAndBroadcastProposal': {
        const t0 = performance.now()
        this.signState.save(a.signState, this.blocksOf(a.signState)) // fsync BEFORE signing and sending
        if (TRACE_DIR)
          trace(
            `${this.traceTag} signstate proposal ${a.proposal.height}/${a.proposal.round} ${(performance.now() - t0).toFixed(1)}ms`,
          )
        const signBytes = this.verifier.proposalSignBytes(a.proposal)
        const proposal: Proposal = { ...a.proposal, signature: sign('ed25519', this.key.seed, signBytes) }
        this.verified.add(this.key.publicKey, signBytes, proposal.signature) // fed back below
        const b = this.blocks.get(toHex(a.proposal.blockHash))
        // After a restart the block of a re-sent proposal may be gone: peers then time out this round.
        if (b) this.transport.broadcast(this.proposalMessage(proposal, b))
        this.emit('signed', { proposal })
        this.signedProposals.set(toHex(proposal.blockHash), proposal)
        events.push({ type: 'ProposalReceived', proposal, nowMs: this.now() })
        break
      }
      case 'SignAndBroadcastVote': {
        const t0 = performance.now()
        this.signState.save(a.signState, this.blocksOf(a.signState)) // fsync BEFORE signing and sending
        if (TRACE_DIR)
          trace(
            `${this.traceTag} signstate vote${a.vote.type} ${a.vote.height}/${a.vote.round} nil=${a.vote.blockHash.every((b) => b === 0)} ${(performance.now() - t0).toFixed(1)}ms`,
          )
        const signBytes = this.verifier.voteSignBytes(a.vote)
        const vote: Vote = { ...a.vote, signature: sign('ed25519', this.key.seed, signBytes) }
        this.verified.add(this.key.publicKey, signBytes, vote.signature) // fed back below
        this.transport.broadcast(encodeMessage({ type: 'vote', vote }))
        this.emit('signed', { vote })
        events.push({ type: 'VoteReceived', vote, nowMs: this.now() })
        break
      }
      case 'ScheduleTimeout':
        this.timer(a.durationMs, () => {
          void this.enqueue(() => {
            this.regossip(a)
            this.feed({
              type: 'TimeoutFired',
              height: a.height,
              round: a.round,
              step: a.step,
              nowMs: this.now(),
            })
          })
        })
        break
      case 'GetProposalBlock':
        void this.enqueue(() => this.propose(a.height, a.round))
        break
      case 'ValidateBlock':
        void this.enqueue(() => this.validate(a.height, a.round, a.polRound, a.blockHash))
        break
      case 'Commit':
        if (TRACE_DIR) trace(`${this.traceTag} decided ${a.height}/${a.commit.round}`)
        void this.enqueue(() => this.commit(a.height, a.blockHash, a.commit))
        break
      case 'RecordEvidence': {
        this.evidence.push(a.evidence)
        const bytes = encodeEvidence(a.evidence)
        const k = toHex(bytes)
        if (this.pendingEvidence.size < 1024 && !this.doneEvidence.has(k)) {
          this.pendingEvidence.set(k, bytes)
          this.transport.broadcast(encodeMessage({ type: 'evidence', evidenceBytes: bytes }))
        }
        this.emit('evidence', a.evidence)
        break
      }
      case 'MessageRejected':
        this.stats.rejected++
        break
    }
  }

  private async propose(height: bigint, round: number): Promise<void> {
    if (height !== this.engine.currentHeight || this.node.height + 1n !== height) return
    const pre = this.prebuilt
    this.prebuilt = undefined
    if (
      pre !== undefined &&
      round === 0 &&
      pre.block.header.height === height &&
      equalBytes(pre.parentHash, this.node.headHash) &&
      equalBytes(pre.block.header.proposer, this.key.publicKey) &&
      this.pendingEvidence.size === 0
    ) {
      this.stats.proposalsPrebuilt++
      this.offer(height, round, pre)
      return
    }
    const lastCommit =
      this.lastCommitPlus?.height === this.node.height ? this.lastCommitPlus : this.node.headCommit
    const evidence = [...this.pendingEvidence.values()].slice(0, MAX_EVIDENCE_PER_BLOCK)
    let consensus: ConsensusBlockInfo
    try {
      consensus = await this.consensusInfo(height, lastCommit, evidence)
    } catch {
      // Our own pool held something that no longer verifies: drop it and propose without evidence.
      this.pendingEvidence.clear()
      consensus = await this.consensusInfo(height, lastCommit, [])
      evidence.length = 0
    }
    const tb = performance.now()
    const p = this.node.buildBlock({
      proposer: this.key.publicKey,
      timeMs: this.blockTimeFor(lastCommit, height),
      lastCommit,
      evidence,
      consensus,
      txsMax: this.proposalCap(),
    })
    this.noteCost(p.block.txs.length, performance.now() - tb)
    if (TRACE_DIR)
      trace(
        `${this.traceTag} built ${height}/${round} txs=${p.block.txs.length} ${(performance.now() - tb).toFixed(1)}ms`,
      )
    this.offer(height, round, p)
  }

  /** Hands our block for (height, round) to the engine, which signs and sends the proposal. */
  private offer(height: bigint, round: number, p: PreparedBlock): void {
    const key = toHex(p.hash)
    this.prepared.set(key, p)
    this.keepBlock(
      key,
      p.block,
      undefined,
      p.included.map((d) => d.hash),
    )
    if (this.stopped || height !== this.engine.currentHeight) return
    this.feed({
      type: 'ProposalBlock',
      height,
      round,
      blockHash: p.hash,
      blockTimeMs: p.block.header.timeMs,
      nowMs: this.now(),
    })
  }

  /** Largest proposal this node expects every validator to check within its share of the propose timeout. */
  private proposalCap(): number | undefined {
    if (this.msPerTx <= 0) return undefined
    return Math.max(
      PROPOSAL_TXS_MIN,
      Math.floor((this.proposeBaseMs * PROPOSAL_BUDGET_FRACTION) / this.msPerTx),
    )
  }

  private noteCost(txs: number, ms: number): void {
    if (txs < 32) return // fixed costs dominate small blocks
    const sample = ms / txs
    this.msPerTx = this.msPerTx === 0 ? sample : 0.7 * this.msPerTx + 0.3 * sample
  }

  private keepBlock(key: string, block: Block, bytes?: Uint8Array, txHashes?: Uint8Array[]): void {
    if (this.blocks.size >= MAX_KEPT_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!)
    this.blocks.set(key, { block, bytes, txHashes })
  }

  /**
   * The message that carries `proposal`: compact (block without txs + tx hashes; peers hold the
   * txs from tx gossip) unless `whole` (the answer to a peer that misses some of them).
   */
  private proposalMessage(proposal: Proposal, b: KeptBlock, whole = false): Uint8Array {
    if (whole || b.block.txs.length === 0) {
      b.bytes ??= encodeBlock(b.block)
      return encodeMessage({ type: 'proposal', proposal, blockBytes: b.bytes })
    }
    b.txHashes ??= b.block.txs.map((t) => txHash(t))
    return encodeMessage({
      type: 'compactProposal',
      proposal,
      shellBytes: encodeBlock({ ...b.block, txs: [] }),
      txHashes: b.txHashes,
    })
  }

  /** A tx's bytes from the mempool or the recent tx traffic (compact proposals). */
  private lookupTx(hashHex: string): Uint8Array | undefined {
    return (
      this.node.mempool.get(hashHex)?.bytes ?? this.transport.txBytes?.(hashHex) ?? this.txBytes.get(hashHex)
    )
  }

  private rememberTxBytes(hashHex: string, bytes: Uint8Array): void {
    if (this.txBytes.size >= TX_SEEN_MAX) this.txBytes.delete(this.txBytes.keys().next().value!)
    this.txBytes.set(hashHex, bytes)
  }

  /** At most one whole-proposal request / answer per block and PROPOSAL_REQUEST_MS. */
  private proposalRequestDue(key: string): boolean {
    const now = performance.now()
    if (now - (this.proposalRequests.get(key) ?? Number.NEGATIVE_INFINITY) < PROPOSAL_REQUEST_MS) return false
    if (this.proposalRequests.size >= 64) this.proposalRequests.clear()
    this.proposalRequests.set(key, now)
    return true
  }

  /** Header rules only consensus knows: BFT time, the proposer of the round, the previous certificate. */
  /**
   * Header rules beyond the node's own. `proposer`: the key header.proposer must name (a fresh
   * proposal: the round's proposer), 'member' (a block re-proposed with a POL was built by the
   * proposer of an earlier round, so only set membership is checked, as CometBFT does; that
   * earlier round checked the exact proposer before anyone could prevote it), or null (a block
   * with a commit certificate, from block sync).
   */
  private headerCheck(block: Block, proposer: Uint8Array | 'member' | null) {
    return (h: Block['header'], head: { height: bigint; hash: Uint8Array }) => {
      const bad = (why: string): never => {
        throw new NetworkError('BLOCK_INVALID', why, { height: h.height.toString() })
      }
      if (proposer === 'member') {
        const set = this.validatorSetAt(h.height)
        if (!set.validators.some((v) => equalBytes(v.publicKey, h.proposer)))
          bad('header.proposer is not in the validator set')
      } else if (proposer && !equalBytes(h.proposer, proposer))
        bad('header.proposer is not the round proposer')
      if (h.height === 1n) {
        if (block.lastCommit.signatures.length !== 0) bad('block 1 must have an empty lastCommit')
      } else {
        try {
          verifyCommit(block.lastCommit, this.validatorSetAt(head.height), this.verifier, {
            height: head.height,
            blockHash: head.hash,
          })
        } catch (e) {
          bad(`lastCommit: ${(e as Error).message}`)
        }
      }
      if (h.timeMs !== this.blockTimeFor(block.lastCommit, h.height)) bad('header time is not the BFT time')
    }
  }

  private async validate(height: bigint, round: number, polRound: number, hash: Uint8Array): Promise<void> {
    if (height !== this.engine.currentHeight) return
    const key = toHex(hash)
    const b = this.blocks.get(key)
    let valid = false
    let timeMs = 0n
    if (b && this.node.height + 1n === height) {
      const set = this.validatorSetAt(height)
      const proposer = polRound >= 0 ? 'member' : set.validators[this.engine.proposerOf(round)].publicKey
      try {
        const info = await this.consensusInfo(height, b.block.lastCommit, b.block.evidence)
        const tv = performance.now()
        const p = await this.node.validateBlock(b.block, this.headerCheck(b.block, proposer), info)
        this.noteCost(b.block.txs.length, performance.now() - tv)
        if (TRACE_DIR)
          trace(
            `${this.traceTag} validated ${height}/${round} txs=${b.block.txs.length} ${(performance.now() - tv).toFixed(1)}ms`,
          )
        this.prepared.set(key, p)
        valid = true
        timeMs = b.block.header.timeMs
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e
        this.stats.invalidBlocks++
        this.emit('invalidBlock', { height, hash: key, reason: e.message })
      }
    }
    if (this.stopped || height !== this.engine.currentHeight) return
    this.feed({
      type: 'BlockValidated',
      height,
      blockHash: hash,
      valid,
      blockTimeMs: timeMs,
      nowMs: this.now(),
    })
  }

  private async commit(height: bigint, hash: Uint8Array, commit: Commit): Promise<void> {
    if (this.node.height + 1n !== height) return // already committed through catch-up
    const p = this.prepared.get(toHex(hash))
    if (!p) throw new NetworkError('BLOCK_INVALID', 'decided a block this node never executed', { height })
    const tc = performance.now()
    const writing = this.commitWithSets(p, commit)
    writing.catch(() => {}) // awaited below; prebuilding must not leave it unobserved
    // Let the write reach LevelDB (it runs on libuv's thread pool), then build our next proposal
    // meanwhile. Nothing of height+1 is signed or sent before the write is durable: the engine only
    // starts that height after `writing` resolved.
    await new Promise((r) => setImmediate(r))
    try {
      await this.prebuild(p, commit)
    } catch (e) {
      // An optimisation only: the proposal is then built the normal way.
      this.prebuilt = undefined
      if (!(e instanceof NetworkError)) this.emit('error', e)
    }
    const done = await writing
    if (TRACE_DIR)
      trace(
        `${this.traceTag} committed ${height}/${commit.round} txs=${p.block.txs.length} ${(performance.now() - tc).toFixed(1)}ms`,
      )
    this.stats.committed++
    this.emit('commit', { height, hash, commit, block: done })
    this.scheduleNextHeight()
  }

  /**
   * Pipelining: if this validator proposes round 0 of the next height and txs are waiting beyond
   * those just decided, build that proposal now, on top of the decided block `p` (whose write is in
   * flight). Pure computation on in-memory state: the head, the tree and the mempool are unchanged.
   * `propose` uses it only if nothing moved (same parent, key, no evidence to include).
   */
  private async prebuild(p: PreparedBlock, commit: Commit): Promise<void> {
    this.prebuilt = undefined
    if (this.pendingEvidence.size > 0 || this.node.mempool.size <= p.included.length) return
    const h = p.block.header.height + 1n
    // Normally the write is still running; a fast disk may already have committed it (then build on the head).
    const writing = this.node.height + 1n === p.block.header.height
    if (!writing && this.node.height !== p.block.header.height) return
    const set = this.sets.get(h)
    if (!set || !equalBytes(set.validators[proposerIndexForRound(set, 0)].publicKey, this.key.publicKey))
      return
    const t0 = performance.now()
    const changes = p.validatorUpdates.map((u) => ({
      address: accountIdOf({ scheme: 'ed25519', bytes: u.publicKey }),
      publicKey: u.publicKey,
      votingPower: u.power,
    }))
    this.sets.set(h + 1n, advanceValidatorSet(set, changes))
    const consensus = await this.consensusInfo(h, commit, [])
    this.prebuilt = this.node.buildBlock({
      proposer: this.key.publicKey,
      timeMs: this.blockTimeFor(commit, h),
      lastCommit: commit,
      evidence: [],
      consensus,
      txsMax: this.proposalCap(),
      on: writing ? p : undefined,
    })
    this.noteCost(this.prebuilt.block.txs.length, performance.now() - t0)
    if (TRACE_DIR)
      trace(
        `${this.traceTag} prebuilt ${h}/0 txs=${this.prebuilt.block.txs.length} ${(performance.now() - t0).toFixed(1)}ms`,
      )
  }

  /**
   * After a commit: the next height once the minimum interval `commitDelayMs` passed (see Waiting),
   * and in idle-cheap mode only when there is work. The interval counts from the previous height's
   * start (a block interval), so heights that take longer than it start back to back; the wait for
   * late precommits (CometBFT's timeout_commit gathers them for the next block's lastCommit, which
   * records who signed) ends as soon as every validator's precommit is in (skip_timeout_commit),
   * else `commitDelayMs` after the commit. A peer's proposal or vote for the height starts it at
   * once (joinPeers).
   */
  private scheduleNextHeight(): void {
    const h = this.node.height + 1n
    const w: Waiting = { height: h, intervalPassed: false, signaturesDone: false, minPassed: false }
    this.waiting = w
    const sinceStart = performance.now() - this.startedAt
    const interval = Math.max(0, Math.ceil(this.commitDelayMs - sinceStart))
    if (interval === 0) w.intervalPassed = true
    else
      this.timer(interval, () => {
        w.intervalPassed = true
        this.checkWaiting(w)
      })
    if (this.allPrecommitsIn()) w.signaturesDone = true
    else
      this.timer(this.commitDelayMs, () => {
        w.signaturesDone = true
        this.checkWaiting(w)
      })
    this.checkWaiting(w)
    if (this.emptyBlocksIntervalMs > 0) this.timer(this.emptyBlocksIntervalMs, () => this.wake(h))
  }

  /** Starts the awaited height once the minimum has passed: with work waiting, or always (empty blocks on). */
  private checkWaiting(w: Waiting): void {
    if (this.waiting !== w || w.minPassed || !w.intervalPassed || !w.signaturesDone) return
    w.minPassed = true
    if (this.emptyBlocksIntervalMs <= 0 || this.node.mempool.size > 0) this.wake(w.height)
  }

  /** Whether the head's certificate (with late precommits) holds a precommit of every validator. */
  private allPrecommitsIn(): boolean {
    const head = this.node.headCommit
    const c = this.lastCommitPlus?.height === head.height ? this.lastCommitPlus : head
    const set = this.sets.get(head.height)
    return set !== undefined && c.signatures.length >= set.validators.length
  }

  /** Starts height `h` if this validator is still waiting for it. */
  private wake(h: bigint): void {
    if (this.waiting?.height !== h) return
    this.waiting = undefined
    void this.enqueue(() => this.startHeight())
  }

  /** Commits block H with the set of H+2 (the set of H+1 changed by H's validator updates). */
  private async commitWithSets(p: PreparedBlock, commit: Commit) {
    const h = p.block.header.height
    const changes = p.validatorUpdates.map((u) => ({
      address: accountIdOf({ scheme: 'ed25519', bytes: u.publicKey }),
      publicKey: u.publicKey,
      votingPower: u.power,
    }))
    const afterNext = advanceValidatorSet(this.validatorSetAt(h + 1n), changes)
    const done = await this.node.commitPrepared(p, commit, [[h + 2n, afterNext]])
    for (const e of p.block.evidence) {
      const k = toHex(e)
      this.pendingEvidence.delete(k)
      if (this.doneEvidence.size >= 4096) this.doneEvidence.delete(this.doneEvidence.values().next().value!)
      this.doneEvidence.add(k)
    }
    if (changes.length > 0) this.emit('validatorUpdates', { height: h, effectiveHeight: h + 2n, changes })
    return done
  }

  /**
   * On a timeout: re-sends what this node holds for the current round if the timeout takes effect
   * (the engine is still at its height, round and step, i.e. this node is waiting on that step).
   * A timeout that the engine will ignore re-sends nothing: one of an earlier height (peers still
   * on it use block sync) or of a step already passed. Re-sending on every timer re-published
   * each height's proposal and votes about once more in normal operation; the gossip transport's
   * stall re-send covers steps that schedule no timeout.
   */
  private regossip(t: { height: bigint; round: number; step: string }): void {
    const e = this.engine
    if (TRACE_DIR) trace(`${this.traceTag} timeout ${t.step} ${t.height}/${t.round}`)
    const current = t.height === e.currentHeight && t.height > this.node.height
    const effective =
      current &&
      t.round === e.currentRound &&
      e.currentStep !== 'decided' &&
      e.currentStep !== 'idle' &&
      (t.step === 'precommit' || t.step === e.currentStep)
    // A transport without a stall re-send of its own (in-process) relies on these re-sends for
    // eventual delivery: a step like "waiting for 2/3 prevotes" has no timeout, so any timeout of
    // the height in progress re-sends there.
    if (effective || (current && this.transport.resendsStalled !== true)) this.resendRound()
    if (this.maxSeenHeight > this.node.height + 1n) this.requestCatchUp(true)
  }

  private noteHeight(h: bigint): void {
    if (h > this.maxSeenHeight) this.maxSeenHeight = h
    if (h > this.node.height + 1n) this.requestCatchUp(false)
  }

  private requestCatchUp(force: boolean): void {
    const h = this.node.height + 1n
    const now = Date.now()
    if (!force && this.lastRequest.height === h && now - this.lastRequest.at < 250) return
    this.lastRequest = { height: h, at: now }
    if (TRACE_DIR) trace(`${this.traceTag} blockRequest ${h}`)
    this.transport.broadcast(encodeMessage({ type: 'blockRequest', height: h }))
  }

  private async onMessage(bytes: Uint8Array): Promise<void> {
    if (this.node.halted) return
    let m: ReturnType<typeof decodeMessage>
    try {
      m = decodeMessage(bytes)
    } catch {
      this.stats.rejected++
      return
    }
    switch (m.type) {
      case 'proposal': {
        let block: Block
        try {
          block = decodeBlock(m.blockBytes)
        } catch {
          this.stats.rejected++
          return
        }
        await this.onProposal(m.proposal, block, m.blockBytes)
        return
      }
      case 'compactProposal': {
        let shell: Block
        try {
          shell = decodeBlock(m.shellBytes)
        } catch {
          this.stats.rejected++
          return
        }
        if (shell.txs.length !== 0 || m.txHashes.length !== shell.header.txCount) {
          this.stats.rejected++
          return
        }
        this.noteHeight(m.proposal.height)
        await this.onCompactProposal(m.proposal, shell, m.txHashes, 0)
        return
      }
      case 'proposalRequest': {
        const key = toHex(m.blockHash)
        const b = this.blocks.get(key)
        const proposal = this.signedProposals.get(key)
        if (!b || !proposal || proposal.round !== m.round || !this.proposalRequestDue(`sent:${key}`)) return
        this.transport.broadcast(this.proposalMessage(proposal, b, true))
        return
      }
      case 'vote':
        if (TRACE_DIR)
          trace(
            `${this.traceTag} vote${m.vote.type} ${m.vote.height}/${m.vote.round} from=${m.vote.validatorIndex} nil=${m.vote.blockHash.every((b) => b === 0)}`,
          )
        this.noteHeight(m.vote.height)
        if (m.vote.height === this.node.height) this.addLatePrecommit(m.vote)
        if (m.vote.height < this.node.height + 1n) return
        await this.joinPeers(m.vote.height)
        this.feed({ type: 'VoteReceived', vote: m.vote, nowMs: this.now() })
        return
      case 'blockRequest': {
        if (m.height > this.node.height || m.height < 1n) return
        const now = Date.now()
        if (now - (this.lastServed.get(m.height) ?? 0) < 200) return
        if (this.lastServed.size > 256) this.lastServed.clear()
        this.lastServed.set(m.height, now)
        const blockBytes = await this.node.store.getBlock(m.height)
        const commitBytes = await this.node.store.getCommit(m.height)
        if (blockBytes && commitBytes)
          this.transport.broadcast(encodeMessage({ type: 'blockResponse', blockBytes, commitBytes }))
        return
      }
      case 'blockResponse':
        await this.onBlockResponse(m)
        return
      case 'evidence':
        await this.onPeerEvidence(m.evidenceBytes)
        return
      case 'tx':
        return // handled before the queue (onPeerTx)
    }
  }

  /**
   * A compact proposal: the block is rebuilt from txs held here; the header's txRoot (checked in
   * validation) binds the result, so a wrong or missing tx can only make the block invalid, never
   * another block. Txs still missing are usually in flight on the tx topic (a tx batch can be
   * delivered a few ms after a proposal sent behind it): looked up again COMPACT_RETRIES times,
   * COMPACT_RETRY_MS apart, before asking for the whole proposal.
   */
  private async onCompactProposal(
    proposal: Proposal,
    shell: Block,
    txHashes: Uint8Array[],
    attempt: number,
  ): Promise<void> {
    if (proposal.height < this.node.height + 1n) return
    const key = toHex(proposal.blockHash)
    const kept = this.blocks.get(key)
    if (kept) {
      await this.onProposal(proposal, kept.block)
      return
    }
    const txs: Uint8Array[] = []
    let missing = 0
    for (const h of txHashes) {
      const t = this.lookupTx(toHex(h))
      if (t === undefined) missing++
      else txs.push(t)
    }
    if (TRACE_DIR)
      trace(
        `${this.traceTag} compact ${proposal.height}/${proposal.round} txs=${txHashes.length} missing=${missing} try=${attempt}`,
      )
    if (missing === 0) {
      await this.onProposal(proposal, { ...shell, txs }, undefined, txHashes)
      return
    }
    if (attempt < COMPACT_RETRIES) {
      this.timer(COMPACT_RETRY_MS, () => {
        void this.enqueue(() => this.onCompactProposal(proposal, shell, txHashes, attempt + 1))
      })
      return
    }
    // The answer is the whole proposal (from the proposer or any validator holding it).
    if (this.proposalRequestDue(key)) {
      this.stats.proposalRequests++
      this.transport.broadcast(
        encodeMessage({
          type: 'proposalRequest',
          height: proposal.height,
          round: proposal.round,
          blockHash: proposal.blockHash,
        }),
      )
    }
  }

  /** A proposal with its whole block (received whole, or rebuilt from a compact one). */
  private async onProposal(
    proposal: Proposal,
    block: Block,
    blockBytes?: Uint8Array,
    txHashes?: Uint8Array[],
  ): Promise<void> {
    if (!equalBytes(blockHash(block.header), proposal.blockHash) || block.header.height !== proposal.height) {
      this.stats.rejected++
      return
    }
    this.noteHeight(proposal.height)
    if (proposal.height < this.node.height + 1n) return
    await this.joinPeers(proposal.height)
    const key = toHex(proposal.blockHash)
    if (!this.blocks.has(key)) this.keepBlock(key, block, blockBytes, txHashes)
    if (this.signedProposals.size < 64) this.signedProposals.set(key, proposal)
    if (TRACE_DIR)
      trace(`${this.traceTag} proposal ${proposal.height}/${proposal.round} txs=${block.txs.length}`)
    this.feed({ type: 'ProposalReceived', proposal, nowMs: this.now() })
  }

  /**
   * A peer proposes or votes at the height this validator is waiting to start (it had txs, or its
   * heartbeat came first): start now and take part (CometBFT handles a complete proposal in the
   * NewRound step the same way).
   */
  private async joinPeers(height: bigint): Promise<void> {
    if (this.waiting?.height !== height) return
    this.waiting = undefined
    await this.startHeight()
  }

  /** Adds a verified precommit for the head block (same round as its certificate) to lastCommitPlus. */
  private addLatePrecommit(v: Vote): void {
    const head = this.node.headCommit
    if (v.type !== VoteType.Precommit || v.height !== head.height) return
    if (!equalBytes(v.blockHash, head.blockHash)) {
      this.noteRival(v)
      return
    }
    if (v.round !== head.round) return
    const base = this.lastCommitPlus?.height === head.height ? this.lastCommitPlus : head
    if (base.signatures.some((s) => s.validatorIndex === v.validatorIndex)) return
    const val = this.sets.get(head.height)?.validators[v.validatorIndex]
    if (!val || !this.verifier.verify(val.publicKey, this.verifier.voteSignBytes(v), v.signature)) return
    const signatures = [
      ...base.signatures,
      {
        validatorIndex: v.validatorIndex,
        timestampMs: v.timestampMs,
        extension: v.extension,
        signature: v.signature,
      },
    ].sort((a, b) => a.validatorIndex - b.validatorIndex)
    this.lastCommitPlus = { ...base, signatures }
    const w = this.waiting
    if (w && !w.signaturesDone && w.height === head.height + 1n && this.allPrecommitsIn()) {
      w.signaturesDone = true
      this.checkWaiting(w)
    }
  }

  /**
   * A precommit for another (non-nil) block at the committed head height. Once one round's precommits
   * for one such block reach > 2/3 of the power, that is a second certificate: a fork (halt, evidence
   * with the certificate; the block itself may be unknown here).
   */
  private noteRival(v: Vote): void {
    if (v.blockHash.every((b) => b === 0)) return // nil
    const set = this.sets.get(v.height)
    const val = set?.validators[v.validatorIndex]
    if (!set || !val) return
    const key = `${v.height}:${v.round}:${toHex(v.blockHash)}`
    let r = this.rivals.get(key)
    if (!r) {
      for (const k of this.rivals.keys()) if (!k.startsWith(`${v.height}:`)) this.rivals.delete(k)
      if (this.rivals.size >= 16) return
      r = { commit: { height: v.height, round: v.round, blockHash: v.blockHash, signatures: [] }, power: 0n }
      this.rivals.set(key, r)
    }
    if (r.commit.signatures.some((x) => x.validatorIndex === v.validatorIndex)) return
    if (!this.verifier.verify(val.publicKey, this.verifier.voteSignBytes(v), v.signature)) return
    r.commit.signatures.push({
      validatorIndex: v.validatorIndex,
      timestampMs: v.timestampMs,
      extension: v.extension,
      signature: v.signature,
    })
    r.commit.signatures.sort((a, b) => a.validatorIndex - b.validatorIndex)
    r.power += val.votingPower
    if (r.power * 3n > set.totalVotingPower * 2n) void this.enqueue(() => this.forkByVotes(r.commit))
  }

  private async forkByVotes(commit: Commit): Promise<void> {
    const ours = await this.node.getBlock(commit.height)
    if (!ours || equalBytes(ours.hash, commit.blockHash)) return
    this.declareFork(commit.height, ours, {
      blockBytes: new Uint8Array(0),
      commitBytes: encodeCommit(commit),
      hash: commit.blockHash,
    })
  }

  /** Gossiped duplicate-vote evidence: verified against its height's set, then pooled for proposals. */
  private async onPeerEvidence(bytes: Uint8Array): Promise<void> {
    const k = toHex(bytes)
    if (this.pendingEvidence.has(k) || this.doneEvidence.has(k) || this.pendingEvidence.size >= 1024) return
    try {
      const ev = decodeEvidence(bytes)
      if (ev.voteA.height > this.node.height + 1n) throw new Error('evidence from the future')
      const set = await this.node.validatorSetAt(ev.voteA.height)
      verifyEvidence(ev, set, this.verifier)
    } catch {
      this.stats.rejected++
      return
    }
    this.pendingEvidence.set(k, bytes)
    this.emit('peerEvidence', { bytes })
  }

  /**
   * A certified block at a height this node already committed: same hash is an echo, another hash
   * with a commit that verifies against that height's set is a fork (two > 2/3 certificates for
   * different blocks). Both sides are persisted, the network halts here and 'fork' is raised.
   */
  private async checkFork(
    h: bigint,
    theirs: { block: Block; commit: Commit; blockBytes: Uint8Array; commitBytes: Uint8Array },
  ) {
    const ours = await this.node.getBlock(h)
    if (!ours) return
    const hash = blockHash(theirs.block.header)
    if (equalBytes(ours.hash, hash)) return
    try {
      verifyCommit(theirs.commit, await this.node.validatorSetAt(h), this.verifier, {
        height: h,
        blockHash: hash,
      })
    } catch {
      this.stats.rejected++ // an uncertified alternative is just noise
      return
    }
    this.declareFork(h, ours, { blockBytes: theirs.blockBytes, commitBytes: theirs.commitBytes, hash })
  }

  /** Persists both certificates (fsync), stops timers, halts the network on this node, raises 'fork'. */
  private declareFork(
    h: bigint,
    ours: { block: Block; hash: Uint8Array; commit: Commit },
    theirs: { blockBytes: Uint8Array; commitBytes: Uint8Array; hash: Uint8Array },
  ): void {
    const hash = theirs.hash
    const evidence: ForkEvidence = {
      networkId: this.node.id,
      height: h,
      a: { blockBytes: encodeBlock(ours.block), commitBytes: encodeCommit(ours.commit) },
      b: { blockBytes: theirs.blockBytes, commitBytes: theirs.commitBytes },
    }
    writeForkEvidence(this.forkEvidenceFile, evidence)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.node.halt(
      `fork at height ${h}: two certified blocks ${toHex(ours.hash).slice(0, 16)}… and ${toHex(hash).slice(0, 16)}…`,
      evidence,
    )
    this.emit('fork', evidence)
  }

  /** Catch-up: a committed block from a peer, accepted only with a certificate of > 2/3 of its height's set. */
  private async onBlockResponse(m: Extract<ReturnType<typeof decodeMessage>, { type: 'blockResponse' }>) {
    let r: ReturnType<typeof decodeBlockResponse>
    try {
      r = decodeBlockResponse(m)
    } catch {
      this.stats.rejected++
      return
    }
    const h = r.block.header.height
    if (TRACE_DIR) trace(`${this.traceTag} blockResponse ${h} at ${this.node.height}`)
    if (h >= 1n && h <= this.node.height) {
      await this.checkFork(h, { ...r, blockBytes: m.blockBytes, commitBytes: m.commitBytes })
      return
    }
    if (h !== this.node.height + 1n) return
    const hash = blockHash(r.block.header)
    if (this.engine.currentHeight !== h) await this.loadSets(h)
    try {
      verifyCommit(r.commit, this.validatorSetAt(h), this.verifier, { height: h, blockHash: hash })
    } catch {
      this.stats.rejected++
      return
    }
    let p: PreparedBlock
    try {
      const info = await this.consensusInfo(h, r.block.lastCommit, r.block.evidence)
      p = await this.node.validateBlock(r.block, this.headerCheck(r.block, null), info)
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e
      this.stats.invalidBlocks++
      this.emit('invalidBlock', { height: h, hash: toHex(hash), reason: e.message })
      return
    }
    if (this.node.height + 1n !== h) return
    const done = await this.commitWithSets(p, r.commit)
    this.stats.caughtUp++
    this.emit('commit', { height: h, hash, commit: r.commit, block: done, caughtUp: true })
    await this.startHeight()
    if (this.maxSeenHeight > this.node.height + 1n) this.requestCatchUp(true)
  }
}
