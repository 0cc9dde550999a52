/**
 * The Tendermint consensus state machine of "The latest gossip on BFT consensus" (Buchman, Kwon,
 * Milosevic 2018, Algorithm 1), as one owner of consensus state fed by events: `handle(event)` returns
 * the actions the shell must perform. No clock, no I/O, no randomness: time comes in with events,
 * signing and block building/validation are requested through actions, signature checks are injected.
 *
 * Line numbers in comments refer to Algorithm 1. Deviations, all from CometBFT practice:
 * - the proposer also schedules timeoutPropose (its application may be slow to build a block);
 * - thresholds are by voting power: 2f+1 = strictly more than 2/3, f+1 = strictly more than 1/3;
 * - what the validator signs passes a SignState guard (no conflicting signature after a restart),
 *   and the lock is restored from that record on restart;
 * - several proposals per round are kept (bounded), so a node that first saw an equivocating
 *   proposer's other block can still decide the one the others committed.
 */
import { toHex } from '@pulsemesh/core/bytes.ts'
import { type Proposal, type Vote, VoteType } from '@pulsemesh/core/types.ts'
import { commitFromVotes } from './commit.ts'
import { ConsensusError } from './errors.ts'
import { makeDuplicateVoteEvidence } from './evidence.ts'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, timeoutMs } from './params.ts'
import { cloneSignState, EMPTY_SIGN_STATE, guardProposal, guardVote, lastSignedVote } from './sign-state.ts'
import {
  type ConsensusVerifier,
  type EngineAction,
  type EngineEvent,
  type EngineLimits,
  SignStep,
  type SignState,
  type TimeoutParams,
  type TimeoutStep,
  type UnsignedProposal,
  type UnsignedVote,
} from './types.ts'
import { checkProposalShape, checkVoteShape, HASH_BYTES } from './validate.ts'
import {
  hasOneThird,
  hasTwoThirds,
  indexOfAddress,
  proposerIndexForRound,
  type ValidatorSet,
} from './validator-set.ts'

export interface EngineOptions {
  verifier: ConsensusVerifier
  /** This node's validator address; null for a non-validating (observer) node. */
  ownAddress: Uint8Array | null
  /** The last SignState the shell persisted (null on first start). */
  signState?: SignState | null
  timeouts?: Partial<TimeoutParams>
  limits?: Partial<EngineLimits>
  /** Application bytes for our non-nil precommits (oracle prices, emotion scores). Must be pure. */
  extendVote?: (height: bigint, round: number, blockHash: Uint8Array) => Uint8Array
  /** Application check of other validators' extensions; a rejected precommit is not counted. */
  verifyVoteExtension?: (vote: Vote) => boolean
  /**
   * TEST ONLY: ignore lockedValue/lockedRound when prevoting (lines 23 and 29). This is the seeded bug
   * the simulator must catch as an agreement violation. Never set it outside tests.
   */
  testOnlyDisableLockRule?: boolean
}

export type EngineStep = 'idle' | 'propose' | 'prevote' | 'precommit' | 'decided'

export interface EngineSnapshot {
  height: bigint
  round: number
  step: EngineStep
  lockedRound: number
  lockedBlockHash: Uint8Array | null
  validRound: number
  validBlockHash: Uint8Array | null
  signState: SignState
}

type Validity = 'pending' | 'valid' | 'invalid'
type BufferedMessage = Extract<EngineEvent, { type: 'ProposalReceived' | 'VoteReceived' }>

interface ProposalEntry {
  proposal: Proposal
  key: string
}

/** Messages of one round at the current height, with running tallies by voting power. */
interface RoundState {
  /** Per validator index, its distinct-block votes (more than one only for an equivocator). */
  prevotes: (Vote[] | undefined)[]
  precommits: (Vote[] | undefined)[]
  prevotePower: Map<string, bigint>
  precommitPower: Map<string, bigint>
  prevoteAny: bigint
  precommitAny: bigint
  /** Validators that sent anything in this round (the f+1 round-skip rule). */
  sent: Uint8Array
  sentPower: bigint
  proposals: ProposalEntry[]
  prevoteTimeoutScheduled: boolean
  precommitTimeoutScheduled: boolean
  lockRuleFired: boolean
}

const NIL_HASH = new Uint8Array(HASH_BYTES)
const NIL_KEY = toHex(NIL_HASH)
const EMPTY = new Uint8Array(0)
/** Bound on rule re-evaluations per event: each firing changes the step or round, so few are needed. */
const MAX_RULE_PASSES = 64

export class TendermintEngine {
  private readonly verifier: ConsensusVerifier
  private readonly ownAddress: Uint8Array | null
  private readonly timeouts: TimeoutParams
  private readonly limits: EngineLimits
  private readonly extendVote: EngineOptions['extendVote']
  private readonly verifyVoteExtension: EngineOptions['verifyVoteExtension']
  private readonly disableLockRule: boolean

  private signState: SignState
  private height = 0n
  private round = 0
  private step: EngineStep = 'idle'
  private valset: ValidatorSet | null = null
  private total = 0n
  private ownIndex = -1
  private nowMs = 0n
  private lockedRound = -1
  private lockedHash: Uint8Array | null = null
  private lockedKey: string | null = null
  private lockProof: Vote[] = []
  private validRound = -1
  private validHash: Uint8Array | null = null
  private rounds = new Map<number, RoundState>()
  private validity = new Map<string, Validity>()
  /** BFT time of each valid block seen at this height (precommits for it are stamped later). */
  private blockTimes = new Map<string, bigint>()
  private proposers = new Map<number, number>()
  /** Rounds in which some block has > 2/3 precommits (candidates for line 49). */
  private decisionRounds = new Set<number>()
  private evidenceSeen = new Set<string>()
  private awaitingBlockRound = -1
  private buffer: BufferedMessage[] = []

  constructor(opts: EngineOptions) {
    this.verifier = opts.verifier
    this.ownAddress = opts.ownAddress
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts }
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits }
    this.extendVote = opts.extendVote
    this.verifyVoteExtension = opts.verifyVoteExtension
    this.disableLockRule = opts.testOnlyDisableLockRule === true
    this.signState = cloneSignState(opts.signState ?? EMPTY_SIGN_STATE)
  }

  snapshot(): EngineSnapshot {
    return {
      height: this.height,
      round: this.round,
      step: this.step,
      lockedRound: this.lockedRound,
      lockedBlockHash: this.lockedHash,
      validRound: this.validRound,
      validBlockHash: this.validHash,
      signState: cloneSignState(this.signState),
    }
  }

  get currentHeight(): bigint {
    return this.height
  }
  get currentRound(): number {
    return this.round
  }
  get currentStep(): EngineStep {
    return this.step
  }

  /**
   * The proposals and counted votes held for `round` at the current height, for the shell's gossip:
   * Tendermint's liveness assumes every message a correct validator received eventually reaches all
   * correct validators, so the shell re-sends these (CometBFT's reactor does the same per peer).
   */
  roundMessages(round: number): { proposals: Proposal[]; votes: Vote[] } {
    const rs = this.rounds.get(round)
    if (!rs) return { proposals: [], votes: [] }
    const votes: Vote[] = []
    for (const vs of rs.prevotes) if (vs) votes.push(...vs)
    for (const vs of rs.precommits) if (vs) votes.push(...vs)
    return { proposals: rs.proposals.map((e) => e.proposal), votes }
  }

  /** Proposer index of `round` at the current height. */
  proposerOf(round: number): number {
    let p = this.proposers.get(round)
    if (p === undefined) {
      p = proposerIndexForRound(this.valset!, round)
      this.proposers.set(round, p)
    }
    return p
  }

  handle(event: EngineEvent): EngineAction[] {
    const out: EngineAction[] = []
    if (typeof event?.nowMs === 'bigint' && event.nowMs > this.nowMs) this.nowMs = event.nowMs
    switch (event?.type) {
      case 'StartHeight':
        this.onStartHeight(event, out)
        break
      case 'ProposalReceived':
        this.onProposal(event.proposal, event, out)
        break
      case 'VoteReceived':
        this.onVote(event.vote, event, out)
        break
      case 'TimeoutFired':
        this.onTimeout(event.height, event.round, event.step, out)
        break
      case 'BlockValidated':
        if (event.height === this.height && this.step !== 'decided') {
          const key = toHex(event.blockHash)
          if (this.validity.get(key) === 'pending') {
            this.validity.set(key, event.valid ? 'valid' : 'invalid')
            if (event.valid && typeof event.blockTimeMs === 'bigint')
              this.blockTimes.set(key, event.blockTimeMs)
          }
          this.evaluate(out)
        }
        break
      case 'ProposalBlock':
        this.onProposalBlock(event.height, event.round, event.blockHash, event.blockTimeMs, out)
        break
      default:
        throw new ConsensusError('ENGINE_BAD_EVENT', 'unknown event type', {
          type: (event as { type?: unknown })?.type,
        })
    }
    return out
  }

  // ---------------------------------------------------------------- heights and rounds

  private onStartHeight(e: Extract<EngineEvent, { type: 'StartHeight' }>, out: EngineAction[]): void {
    if (typeof e.height !== 'bigint' || e.height < 1n || (this.step !== 'idle' && e.height <= this.height))
      throw new ConsensusError('ENGINE_BAD_EVENT', 'StartHeight must move to a higher height', {
        height: e.height,
        current: this.height,
      })
    if (!e.validatorSet || e.validatorSet.validators.length === 0)
      throw new ConsensusError('ENGINE_BAD_EVENT', 'StartHeight needs a non-empty validator set')
    this.height = e.height
    this.valset = e.validatorSet
    this.total = e.validatorSet.totalVotingPower
    this.ownIndex = this.ownAddress ? indexOfAddress(e.validatorSet, this.ownAddress) : -1
    this.rounds = new Map()
    this.validity = new Map()
    this.blockTimes = new Map()
    this.proposers = new Map()
    this.decisionRounds = new Set()
    this.evidenceSeen = new Set()
    this.awaitingBlockRound = -1
    this.lockedRound = -1
    this.lockedHash = null
    this.lockedKey = null
    this.lockProof = []
    this.validRound = -1
    this.validHash = null
    let startRound = 0
    const s = this.signState
    if (s.height === e.height) {
      // Restart inside a height we already signed at: resume there, with the lock we had (no amnesia).
      startRound = Math.max(0, s.round)
      if (s.lockedBlockHash && s.lockedRound >= 0) {
        this.lockedRound = s.lockedRound
        this.lockedHash = s.lockedBlockHash
        this.lockedKey = toHex(s.lockedBlockHash)
        this.validRound = s.lockedRound
        this.validHash = s.lockedBlockHash
        this.validity.set(this.lockedKey, 'valid')
        this.blockTimes.set(this.lockedKey, s.lockedBlockTimeMs ?? 0n)
        this.lockProof = s.lockProof ?? []
      }
    }
    this.step = 'propose'
    if (s.height === e.height) this.resendSigned(out)
    this.startRound(startRound, out)
    // The persisted proof-of-lock goes back into the vote sets (checked like any received vote).
    for (const v of this.lockProof) this.onVote(v, { type: 'VoteReceived', vote: v, nowMs: this.nowMs }, out)
    const pending = this.buffer
    this.buffer = []
    for (const m of pending) {
      const h = m.type === 'ProposalReceived' ? m.proposal.height : m.vote.height
      if (h > e.height) this.buffer.push(m)
      else if (h === e.height && m.type === 'ProposalReceived') this.onProposal(m.proposal, m, out)
      else if (h === e.height && m.type === 'VoteReceived') this.onVote(m.vote, m, out)
    }
    this.evaluate(out)
  }

  /** StartRound(round), lines 11-21. */
  private startRound(round: number, out: EngineAction[]): void {
    this.round = round
    this.step = 'propose'
    this.awaitingBlockRound = -1
    this.scheduleTimeout('propose', round, out)
    if (this.ownIndex >= 0 && this.proposerOf(round) === this.ownIndex) {
      // Line 15: re-propose the valid value (polRound must be an earlier round: after a restart the
      // restored valid round can equal the resume round, and then a fresh block is needed instead).
      if (this.validHash && this.validRound < round) this.propose(this.validHash, this.validRound, out)
      else {
        this.awaitingBlockRound = round
        out.push({ type: 'GetProposalBlock', height: this.height, round })
      }
    }
  }

  private onProposalBlock(
    height: bigint,
    round: number,
    hash: Uint8Array,
    timeMs: bigint,
    out: EngineAction[],
  ): void {
    if (height !== this.height || round !== this.round || this.awaitingBlockRound !== round) return
    if (this.step !== 'propose' || !(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) return
    this.awaitingBlockRound = -1
    this.validity.set(toHex(hash), 'valid')
    if (typeof timeMs === 'bigint') this.blockTimes.set(toHex(hash), timeMs)
    this.propose(hash, -1, out)
    this.evaluate(out)
  }

  private scheduleTimeout(step: TimeoutStep, round: number, out: EngineAction[]): void {
    out.push({
      type: 'ScheduleTimeout',
      height: this.height,
      round,
      step,
      durationMs: timeoutMs(this.timeouts, step, round),
    })
  }

  /** Lines 57-67. */
  private onTimeout(height: bigint, round: number, step: TimeoutStep, out: EngineAction[]): void {
    if (height !== this.height || this.step === 'decided' || this.step === 'idle') return
    if (step === 'propose') {
      if (round !== this.round || this.step !== 'propose') return
      this.castVote(VoteType.Prevote, NIL_HASH, out)
      this.step = 'prevote'
    } else if (step === 'prevote') {
      if (round !== this.round || this.step !== 'prevote') return
      this.castVote(VoteType.Precommit, NIL_HASH, out)
      this.step = 'precommit'
    } else {
      if (round !== this.round) return
      this.startRound(round + 1, out)
    }
    this.evaluate(out)
  }

  // ---------------------------------------------------------------- signing (through the guard)

  /**
   * After a restart inside a height: broadcast again what we signed at it. Peers that crashed too may
   * have lost these messages, and without them a round can lack the votes to ever time out.
   */
  private resendSigned(out: EngineAction[]): void {
    const s = this.signState
    const state = cloneSignState(s)
    if (s.proposal?.height === this.height)
      out.push({ type: 'SignAndBroadcastProposal', proposal: s.proposal, signState: state, resend: true })
    for (const v of [lastSignedVote(s, 1), lastSignedVote(s, 2)])
      if (v?.height === this.height)
        out.push({ type: 'SignAndBroadcastVote', vote: v, signState: state, resend: true })
  }

  private propose(hash: Uint8Array, polRound: number, out: EngineAction[]): void {
    const p: UnsignedProposal = {
      height: this.height,
      round: this.round,
      polRound,
      blockHash: hash,
      timestampMs: this.nowMs,
    }
    const g = guardProposal(this.signState, p)
    if (g.kind === 'refuse') return
    if (g.kind === 'sign')
      this.signState = {
        ...this.signState,
        height: p.height,
        round: p.round,
        step: SignStep.Proposal,
        proposal: p,
        lockedRound: this.lockedRound,
        lockedBlockHash: this.lockedHash,
        lockedBlockTimeMs: this.lockedKey ? (this.blockTimes.get(this.lockedKey) ?? 0n) : 0n,
        lockProof: this.lockProof,
      }
    out.push({
      type: 'SignAndBroadcastProposal',
      proposal: g.message,
      signState: cloneSignState(this.signState),
      resend: g.kind === 'resend',
    })
  }

  private castVote(type: VoteType, hash: Uint8Array, out: EngineAction[]): void {
    if (this.ownIndex < 0) return
    const isNil = hash === NIL_HASH
    let extension: Uint8Array = EMPTY
    if (type === VoteType.Precommit && !isNil && this.extendVote) {
      const ext = this.extendVote(this.height, this.round, hash)
      // An oversized extension would make our own precommit unacceptable to everybody: send none.
      if (ext instanceof Uint8Array && ext.length <= this.limits.maxExtensionBytes) extension = ext
    }
    // CometBFT voteTime(): a precommit for a block is later than the block's own time, so the next
    // block's BFT time (median of these) strictly increases.
    const minTime = isNil ? 0n : (this.blockTimes.get(toHex(hash)) ?? -1n) + 1n
    const v: UnsignedVote = {
      type,
      height: this.height,
      round: this.round,
      blockHash: hash,
      timestampMs: type === VoteType.Precommit && this.nowMs < minTime ? minTime : this.nowMs,
      validatorIndex: this.ownIndex,
      extension,
    }
    const g = guardVote(this.signState, v)
    if (g.kind === 'refuse') return
    if (g.kind === 'sign')
      this.signState = {
        ...this.signState,
        height: v.height,
        round: v.round,
        step: type === VoteType.Prevote ? SignStep.Prevote : SignStep.Precommit,
        vote: v,
        [type === VoteType.Prevote ? 'prevote' : 'precommit']: v,
        lockedRound: this.lockedRound,
        lockedBlockHash: this.lockedHash,
        lockedBlockTimeMs: this.lockedKey ? (this.blockTimes.get(this.lockedKey) ?? 0n) : 0n,
        lockProof: this.lockProof,
      }
    out.push({
      type: 'SignAndBroadcastVote',
      vote: g.message,
      signState: cloneSignState(this.signState),
      resend: g.kind === 'resend',
    })
  }

  // ---------------------------------------------------------------- messages

  private roundState(round: number): RoundState {
    let rs = this.rounds.get(round)
    if (!rs) {
      const n = this.valset!.validators.length
      rs = {
        prevotes: new Array(n),
        precommits: new Array(n),
        prevotePower: new Map(),
        precommitPower: new Map(),
        prevoteAny: 0n,
        precommitAny: 0n,
        sent: new Uint8Array(n),
        sentPower: 0n,
        proposals: [],
        prevoteTimeoutScheduled: false,
        precommitTimeoutScheduled: false,
        lockRuleFired: false,
      }
      this.rounds.set(round, rs)
    }
    return rs
  }

  /** Route by height: current = process, later = buffer (bounded), earlier = ignore. */
  private routeByHeight(height: bigint, event: BufferedMessage, out: EngineAction[]): boolean {
    if (this.step !== 'idle' && height === this.height) return this.step !== 'decided'
    if (this.step === 'idle' || height > this.height) {
      if (this.buffer.length >= this.limits.maxBufferedMessages)
        out.push({ type: 'MessageRejected', code: 'MSG_BUFFER_FULL', detail: 'future-height buffer full' })
      else this.buffer.push(event)
    }
    return false
  }

  /** A validator may occupy at most maxFutureRoundsPerValidator rounds above the current one. */
  private futureRoundAllowed(idx: number, round: number): boolean {
    if (round <= this.round) return true
    const rs = this.rounds.get(round)
    if (rs?.sent[idx]) return true
    let used = 0
    for (const [r, s] of this.rounds) if (r > this.round && s.sent[idx]) used++
    return used < this.limits.maxFutureRoundsPerValidator
  }

  private markSent(rs: RoundState, idx: number): void {
    if (rs.sent[idx]) return
    rs.sent[idx] = 1
    rs.sentPower += this.valset!.validators[idx].votingPower
  }

  private onProposal(p: Proposal, event: BufferedMessage, out: EngineAction[]): void {
    const why = checkProposalShape(p, this.limits)
    if (why) {
      out.push({ type: 'MessageRejected', code: 'MSG_MALFORMED', detail: why })
      return
    }
    if (!this.routeByHeight(p.height, event, out)) return
    const proposer = this.proposerOf(p.round)
    const key = toHex(p.blockHash)
    const existing = this.rounds.get(p.round)
    if (existing?.proposals.some((e) => e.key === key)) return
    if (!this.futureRoundAllowed(proposer, p.round)) {
      out.push({ type: 'MessageRejected', code: 'MSG_TOO_MANY_FUTURE_ROUNDS', detail: `round ${p.round}` })
      return
    }
    if (existing && existing.proposals.length >= this.limits.maxProposalsPerRound) {
      // Beyond the cap, keep only blocks some correct validator voted for (> 1/3 support).
      const support = (existing.prevotePower.get(key) ?? 0n) + (existing.precommitPower.get(key) ?? 0n)
      if (!hasOneThird(support, this.total)) {
        out.push({ type: 'MessageRejected', code: 'MSG_TOO_MANY_PROPOSALS', detail: `round ${p.round}` })
        return
      }
    }
    const pub = this.valset!.validators[proposer].publicKey
    if (!this.verifier.verify(pub, this.verifier.proposalSignBytes(p), p.signature)) {
      // A valid signature from someone else is a wrong proposer; otherwise a bad signature.
      out.push({
        type: 'MessageRejected',
        code: 'MSG_BAD_SIGNATURE',
        detail: 'proposal not signed by the proposer',
      })
      return
    }
    const rs = this.roundState(p.round)
    rs.proposals.push({ proposal: p, key })
    this.markSent(rs, proposer)
    if (!this.validity.has(key)) {
      this.validity.set(key, 'pending')
      out.push({
        type: 'ValidateBlock',
        height: this.height,
        round: p.round,
        polRound: p.polRound,
        blockHash: p.blockHash,
      })
    }
    this.evaluate(out)
  }

  private onVote(v: Vote, event: BufferedMessage, out: EngineAction[]): void {
    const why = checkVoteShape(v, this.limits)
    if (why) {
      out.push({ type: 'MessageRejected', code: 'MSG_MALFORMED', detail: why })
      return
    }
    if (!this.routeByHeight(v.height, event, out)) return
    const idx = v.validatorIndex
    const val = this.valset!.validators[idx]
    if (!val) {
      out.push({ type: 'MessageRejected', code: 'MSG_UNKNOWN_VALIDATOR', detail: `index ${idx}` })
      return
    }
    const existingRs = this.rounds.get(v.round)
    const prior = existingRs?.[v.type === VoteType.Prevote ? 'prevotes' : 'precommits'][idx]
    const key = toHex(v.blockHash)
    if (prior?.some((p) => toHex(p.blockHash) === key)) return // duplicate (or re-signed same block)
    if (!prior && !this.futureRoundAllowed(idx, v.round)) {
      out.push({ type: 'MessageRejected', code: 'MSG_TOO_MANY_FUTURE_ROUNDS', detail: `round ${v.round}` })
      return
    }
    if (prior && prior.length > this.limits.maxConflictingVotesPerValidator) {
      // An equivocator's further values are kept only if correct validators back them (> 1/3 support):
      // bounded memory, yet every value that can reach a quorum is counted the same way everywhere.
      const tally = v.type === VoteType.Prevote ? existingRs!.prevotePower : existingRs!.precommitPower
      if (!hasOneThird(tally.get(key) ?? 0n, this.total)) {
        out.push({ type: 'MessageRejected', code: 'MSG_TOO_MANY_CONFLICTING_VOTES', detail: `index ${idx}` })
        return
      }
    }
    if (!this.verifier.verify(val.publicKey, this.verifier.voteSignBytes(v), v.signature)) {
      out.push({ type: 'MessageRejected', code: 'MSG_BAD_SIGNATURE', detail: `vote from index ${idx}` })
      return
    }
    if (
      v.type === VoteType.Precommit &&
      key !== NIL_KEY &&
      idx !== this.ownIndex &&
      this.verifyVoteExtension &&
      !this.verifyVoteExtension(v)
    ) {
      out.push({ type: 'MessageRejected', code: 'MSG_BAD_EXTENSION', detail: `precommit from index ${idx}` })
      return
    }
    if (prior) {
      // Same validator, height, round and type, another block: equivocation. Evidence once; the vote
      // still counts for its own block (the paper counts distinct senders per value: two > 2/3 quorums
      // still intersect in a correct validator, and every node then tallies the same messages alike).
      const evKey = `${v.round}/${v.type}/${idx}`
      if (!this.evidenceSeen.has(evKey)) {
        this.evidenceSeen.add(evKey)
        out.push({ type: 'RecordEvidence', evidence: makeDuplicateVoteEvidence(prior[0], v, this.valset!) })
      }
    }
    const rs = this.roundState(v.round)
    const power = val.votingPower
    if (v.type === VoteType.Prevote) {
      if (prior) prior.push(v)
      else {
        rs.prevotes[idx] = [v]
        rs.prevoteAny += power
      }
      rs.prevotePower.set(key, (rs.prevotePower.get(key) ?? 0n) + power)
    } else {
      if (prior) prior.push(v)
      else {
        rs.precommits[idx] = [v]
        rs.precommitAny += power
      }
      const p = (rs.precommitPower.get(key) ?? 0n) + power
      rs.precommitPower.set(key, p)
      if (key !== NIL_KEY && hasTwoThirds(p, this.total)) this.decisionRounds.add(v.round)
    }
    this.markSent(rs, idx)
    this.evaluate(out)
  }

  // ---------------------------------------------------------------- the upon-rules

  private quorum(power: bigint | undefined): boolean {
    return power !== undefined && hasTwoThirds(power, this.total)
  }

  private evaluate(out: EngineAction[]): void {
    for (let pass = 0; pass < MAX_RULE_PASSES; pass++) {
      if (this.step === 'decided' || this.step === 'idle') return
      if (this.tryDecide(out)) return
      if (!this.applyRules(out)) return
    }
  }

  /** Line 49: a proposal for v and 2f+1 precommits for id(v) in any round r, v valid: decide. */
  private tryDecide(out: EngineAction[]): boolean {
    for (const r of this.decisionRounds) {
      const rs = this.rounds.get(r)!
      for (const e of rs.proposals) {
        if (!this.quorum(rs.precommitPower.get(e.key)) || this.validity.get(e.key) !== 'valid') continue
        const votes: Vote[] = []
        for (const vs of rs.precommits) {
          const forV = vs?.find((x) => toHex(x.blockHash) === e.key)
          if (forV) votes.push(forV)
        }
        const commit = commitFromVotes(this.height, r, e.proposal.blockHash, votes)
        this.step = 'decided'
        out.push({ type: 'Commit', height: this.height, round: r, blockHash: e.proposal.blockHash, commit })
        return true
      }
    }
    return false
  }

  /** One pass over lines 22-48 and 55; true if the state changed (so rules must be re-checked). */
  private applyRules(out: EngineAction[]): boolean {
    // Line 55: f+1 messages from a higher round: skip to the highest such round.
    let skipTo = -1
    for (const [r, s] of this.rounds)
      if (r > this.round && r > skipTo && hasOneThird(s.sentPower, this.total)) skipTo = r
    if (skipTo >= 0) {
      this.startRound(skipTo, out)
      return true
    }
    const rs = this.rounds.get(this.round)
    if (!rs) return false
    if (this.step === 'propose') {
      for (const e of rs.proposals) {
        const vr = e.proposal.polRound
        const validity = this.validity.get(e.key)
        if (validity === 'pending') continue
        const valid = validity === 'valid'
        let vote: boolean
        if (vr === -1) {
          // Line 22-27.
          vote = valid && (this.disableLockRule || this.lockedRound === -1 || this.lockedKey === e.key)
        } else {
          // Line 28-33: needs 2f+1 prevotes for id(v) in round vr < round.
          if (vr >= this.round || !this.quorum(this.rounds.get(vr)?.prevotePower.get(e.key))) continue
          vote = valid && (this.disableLockRule || this.lockedRound <= vr || this.lockedKey === e.key)
        }
        this.castVote(VoteType.Prevote, vote ? e.proposal.blockHash : NIL_HASH, out)
        this.step = 'prevote'
        return true
      }
    }
    if (!rs.lockRuleFired && (this.step === 'prevote' || this.step === 'precommit')) {
      // Line 36-43: proposal v + 2f+1 prevotes for id(v) in this round, v valid, first time.
      for (const e of rs.proposals) {
        if (!this.quorum(rs.prevotePower.get(e.key)) || this.validity.get(e.key) !== 'valid') continue
        rs.lockRuleFired = true
        if (this.step === 'prevote') {
          this.lockedRound = this.round
          this.lockedHash = e.proposal.blockHash
          this.lockedKey = e.key
          this.lockProof = []
          for (const vs of rs.prevotes) {
            const forV = vs?.find((x) => toHex(x.blockHash) === e.key)
            if (forV) this.lockProof.push(forV)
          }
          this.castVote(VoteType.Precommit, e.proposal.blockHash, out)
          this.step = 'precommit'
        }
        this.validRound = this.round
        this.validHash = e.proposal.blockHash
        return true
      }
    }
    if (this.step === 'prevote') {
      // Line 44-46: 2f+1 prevotes for nil.
      if (this.quorum(rs.prevotePower.get(NIL_KEY))) {
        this.castVote(VoteType.Precommit, NIL_HASH, out)
        this.step = 'precommit'
        return true
      }
      // Line 34-35: 2f+1 prevotes of any kind, first time.
      if (!rs.prevoteTimeoutScheduled && this.quorum(rs.prevoteAny)) {
        rs.prevoteTimeoutScheduled = true
        this.scheduleTimeout('prevote', this.round, out)
      }
    }
    // Line 47-48: 2f+1 precommits of any kind, first time.
    if (!rs.precommitTimeoutScheduled && this.quorum(rs.precommitAny)) {
      rs.precommitTimeoutScheduled = true
      this.scheduleTimeout('precommit', this.round, out)
    }
    return false
  }
}
