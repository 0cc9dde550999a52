/**
 * The gossip side of one network: topics for txs, proposals (with their blocks), votes and
 * evidence; their validators; `GossipConsensusTransport`, the ConsensusTransport the driver uses
 * in a multi-process network; and tx gossip into NetworkNode.submitTx.
 *
 * Validation before propagation, per topic (all with the real decoders):
 *  - votes: decodeMessage, validator index in the set of that height, Ed25519 signature over the
 *    domain-separated sign bytes;
 *  - proposals: decodeMessage + decodeBlock, block hash and height match the proposal, signature of
 *    a validator of that height (which one must propose the round is the engine's check);
 *  - txs (batches of up to 1,024 txs / 256 KiB, what was admitted in one event-loop turn): NetworkNode.submitTx on each
 *    (decode, stateless checks, signature, mempool rules): one bad signature or undecodable tx
 *    rejects the batch; a batch of only mempool refusals (duplicate, nonce, full) is `ignore`;
 *  - evidence: decodeMessage + decodeEvidence and both votes' signatures (the driver then checks
 *    that they conflict).
 * Messages for heights beyond what can be checked (more than 2 ahead) are ignored and start a block
 * sync; stale ones are ignored.
 */
import { proposerIndexForRound } from '@pulsemesh/consensus'
import {
  type Block,
  blockHash,
  DecodeError,
  decodeBlock,
  equalBytes,
  isPulseError,
  type Proposal,
  proposalSignBytes,
  toHex,
  txHash,
  verify,
  type Vote,
  voteSignBytes,
} from '@pulsemesh/core'
import type { NetworkNode } from '../chain/network-node.ts'
import { decodeEvidence, decodeMessage, MsgTag } from '../consensus/messages.ts'
import { TRACE_DIR, trace } from '../consensus/trace.ts'
import {
  type ConsensusTransport,
  nextResendDelay,
  STALL_RESEND_MS,
  VerifiedSignatures,
} from '../consensus/transport.ts'

// The stall re-send backoff lives with the transport interface (the driver uses it for transports
// without their own); re-exported for the gossip layer's users.
export { nextResendDelay, STALL_RESEND_MAX_MS, STALL_RESEND_MS } from '../consensus/transport.ts'
import type { BlockSync } from './block-sync.ts'
import type { P2PNode, Verdict } from './p2p-node.ts'

export function networkTopics(networkId: string) {
  const t = (name: string) => `/pulsemesh/${networkId}/${name}/1`
  return { txs: t('txs'), proposals: t('proposals'), votes: t('votes'), evidence: t('evidence') }
}
export const allTopics = (networkId: string): string[] => Object.values(networkTopics(networkId))

/** Per-topic limits (decompressed bytes; messages per second per relaying peer). */
export const TOPIC_LIMITS = {
  txs: { maxBytes: 512 * 1024, rate: { capacity: 2_000, refillPerSecond: 1_000 } },
  proposals: { maxBytes: 8 * 1024 * 1024 + 64 * 1024, rate: { capacity: 200, refillPerSecond: 100 } },
  votes: { maxBytes: 4 * 1024, rate: { capacity: 4_000, refillPerSecond: 2_000 } },
  evidence: { maxBytes: 16 * 1024, rate: { capacity: 50, refillPerSecond: 10 } },
} as const

/** How many heights ahead of our head a message can be checked (validator sets are known to head+2). */
const AHEAD_MAX = 2n
const GOSSIPED_TX_MEMORY = 50_000
/**
 * Vote and proposal signatures that checked out, remembered so that an exact re-send is not
 * verified again and the driver's engine does not verify what the topic validator already did.
 */
const VERIFIED_SIGNATURE_MEMORY = 8192
/**
 * Tx batching: at most this many txs / bytes per gossip message. A batch is what was admitted
 * during one turn of the event loop (an API batch, a gossip batch), published at the end of it:
 * batching without waiting on a timer.
 */
export const TX_BATCH_MAX = 1024
export const TX_BATCH_BYTES_MAX = 256 * 1024

export const REJECT_TX_CODES = new Set([
  'BAD_SIGNATURE',
  'DECODE_ERROR',
  'DECODE_TOO_LARGE',
  'DECODE_NON_CANONICAL',
])

/** Recent consensus messages kept for re-sending (bounded by count and bytes). */
const RECENT_MAX = 48
const RECENT_BYTES_MAX = 16 * 1024 * 1024
/** Height of an own proposal or vote (proposal: fixed offset, no copy of the block bytes). */
function messageHeight(msg: Uint8Array): bigint {
  if (msg[0] === MsgTag.Proposal || msg[0] === MsgTag.CompactProposal)
    return new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getBigUint64(1)
  const m = decodeMessage(msg)
  return m.type === 'vote' ? m.vote.height : 0n
}

export class GossipConsensusTransport implements ConsensusTransport {
  private handler: ((msg: Uint8Array, from: string) => void) | undefined
  private readonly p2p: P2PNode
  private readonly topics: ReturnType<typeof networkTopics>
  private readonly sync: BlockSync
  /**
   * Tendermint assumes eventual delivery, but gossipsub drops what is published before a mesh
   * exists (start-up, a healed partition, a restarted peer). The driver re-sends only on its own
   * timeouts, and some steps (waiting for 2/3 prevotes) have none: so this transport re-publishes
   * its proposals and votes of the height in progress when a peer (re)subscribes and, with backoff,
   * while that height is not committed. Only messages of uncommitted heights are kept: an idle
   * network (head committed, waiting for txs) holds none, so it sends nothing and runs no timer.
   */
  private recent: { topic: string; msg: Uint8Array; height: bigint }[] = []
  private recentBytes = 0
  private resendTimer: NodeJS.Timeout | undefined
  private stallTimer: NodeJS.Timeout | undefined
  private stallDelayMs = STALL_RESEND_MS
  private readonly onSubscription: (
    e: CustomEvent<{ subscriptions: { topic: string; subscribe: boolean }[] }>,
  ) => void
  /** Re-sends done (subscription-triggered and stall backoff). */
  resends = 0
  /** Received re-sent votes accepted without a second signature check. */
  duplicateVotes = 0
  /** Own messages of an uncommitted height are re-published with backoff (see `recent`). */
  readonly resendsStalled = true
  /** Vote and proposal signatures checked by the topic validators (the driver's engine reuses them). */
  readonly verified = new VerifiedSignatures(VERIFIED_SIGNATURE_MEMORY)
  /** Publishes the local txs waiting to be gossiped (set by attachNetworkGossip). */
  flushTxs: () => void = () => {}
  /** Bytes of txs seen on the tx topic (received or published), by txHash hex: compact proposals. */
  private readonly recentTxs = new Map<string, Uint8Array>()

  /** Remembers a gossiped tx's bytes (bounded, oldest out). */
  noteTx(hashHex: string, bytes: Uint8Array): void {
    if (this.recentTxs.has(hashHex)) return
    if (this.recentTxs.size >= GOSSIPED_TX_MEMORY) this.recentTxs.delete(this.recentTxs.keys().next().value!)
    this.recentTxs.set(hashHex, bytes)
  }

  txBytes(hashHex: string): Uint8Array | undefined {
    return this.recentTxs.get(hashHex)
  }
  private onBlock: (() => void) | undefined
  private node: NetworkNode | undefined

  constructor(p2p: P2PNode, networkId: string, sync: BlockSync, node?: NetworkNode) {
    this.p2p = p2p
    this.topics = networkTopics(networkId)
    this.sync = sync
    this.onSubscription = (e) => {
      if (e.detail.subscriptions.some((x) => x.subscribe && x.topic === this.topics.votes))
        this.scheduleResend(100)
    }
    p2p.libp2p.services.pubsub.addEventListener('subscription-change', this.onSubscription)
    if (node) {
      // Messages of committed heights are useless to peers (a lagging peer uses block sync).
      this.onBlock = () => this.dropCommitted()
      node.on('block', this.onBlock)
      this.node = node
    }
  }

  /** Messages kept for re-sending (tests and metrics). */
  get pendingResend(): number {
    return this.recent.length
  }

  /** Whether a stall re-send is armed (false on an idle network). */
  get resendArmed(): boolean {
    return this.stallTimer !== undefined
  }

  broadcast(msg: Uint8Array): void {
    switch (msg[0]) {
      case MsgTag.Proposal:
      case MsgTag.CompactProposal:
        this.send(this.topics.proposals, msg)
        return
      case MsgTag.ProposalRequest:
        // A one-off question (not kept for re-sending): the answer is the whole proposal.
        this.p2p.publish(this.topics.proposals, msg)
        return
      case MsgTag.Vote:
        this.send(this.topics.votes, msg)
        return
      case MsgTag.Evidence:
        this.p2p.publish(this.topics.evidence, msg)
        return
      case MsgTag.BlockRequest:
        // Catch-up goes through the request/response sync protocol, not through gossip.
        this.sync.kick()
        return
      default:
        // Txs have their own topic fed from the mempool (attachNetworkGossip), for validators and
        // full nodes alike; block responses are served by the sync protocol only.
        return
    }
  }

  private send(topic: string, msg: Uint8Array): void {
    // Txs admitted here go out before a proposal or vote that may include them: gossipsub keeps
    // one stream per peer, so peers receive (and start admitting) them first.
    this.flushTxs()
    this.p2p.publish(topic, msg)
    if (!this.node) {
      this.keep(topic, msg, 0n)
      return
    }
    const height = messageHeight(msg)
    // A (re)sent message of a committed height is not kept: nothing is in flight for it.
    if (height <= this.node.height) return
    const top = this.recent.at(-1)?.height
    if (top !== undefined && height > top) {
      // A new height: its messages get a fresh backoff.
      this.recent = []
      this.recentBytes = 0
      this.disarm()
    }
    this.keep(topic, msg, height)
    if (!this.stallTimer) this.armStall()
  }

  private keep(topic: string, msg: Uint8Array, height: bigint): void {
    this.recent.push({ topic, msg, height })
    this.recentBytes += msg.length
    while (this.recent.length > RECENT_MAX || this.recentBytes > RECENT_BYTES_MAX) {
      this.recentBytes -= this.recent.shift()!.msg.length
    }
  }

  private dropCommitted(): void {
    const head = this.node?.height
    if (head === undefined) return
    const keep = this.recent.filter((r) => r.height > head)
    if (keep.length === this.recent.length) return
    this.recent = keep
    this.recentBytes = keep.reduce((n, r) => n + r.msg.length, 0)
    if (keep.length === 0) this.disarm()
  }

  private disarm(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = undefined
    this.stallDelayMs = STALL_RESEND_MS
  }

  /** Re-sends the height's messages after the current backoff step while it is not committed. */
  private armStall(): void {
    if (!this.handler) return
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined
      this.dropCommitted()
      if (this.recent.length === 0 || !this.handler) {
        this.stallDelayMs = STALL_RESEND_MS
        return
      }
      this.republish()
      this.stallDelayMs = nextResendDelay(this.stallDelayMs)
      this.armStall()
    }, this.stallDelayMs)
    this.stallTimer.unref()
  }

  private republish(): void {
    this.resends++
    for (const r of this.recent) this.p2p.publish(r.topic, r.msg)
  }

  private scheduleResend(ms: number): void {
    if (this.resendTimer || !this.handler) return
    this.dropCommitted()
    if (this.recent.length === 0) return
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined
      this.dropCommitted()
      if (this.recent.length > 0) this.republish()
    }, ms)
  }

  onMessage(handler: (msg: Uint8Array, from: string) => void): void {
    this.handler = handler
    if (this.node && this.recent.length > 0 && !this.stallTimer) this.armStall()
  }

  /** Hands a message to the driver (gossip deliveries and sync results). */
  deliver(msg: Uint8Array, from: string): void {
    this.handler?.(msg, from)
  }

  close(): void {
    this.handler = undefined
    if (this.resendTimer) clearTimeout(this.resendTimer)
    this.disarm()
    if (this.onBlock) this.node?.off('block', this.onBlock)
    this.p2p.libp2p.services.pubsub.removeEventListener('subscription-change', this.onSubscription)
  }
}

/** Installs the four topics of `node`'s network on `p2p`; returns a function that stops tx gossip. */
export function attachNetworkGossip(o: {
  p2p: P2PNode
  node: NetworkNode
  transport: GossipConsensusTransport
  sync: BlockSync
}): () => void {
  const { p2p, node, transport, sync } = o
  const topics = networkTopics(node.id)
  const id = node.id

  /** `oldest`: the lowest useful height (votes: the head, whose late precommits the driver keeps). */
  const heightVerdict = (h: bigint, oldest = node.height + 1n): Verdict | undefined => {
    if (h > node.height + AHEAD_MAX) {
      sync.noteRemoteHeight(h)
      return 'ignore'
    }
    if (h < oldest) return 'ignore'
    return undefined
  }
  const sigOk = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
    verify({ scheme: 'ed25519', bytes: pk }, msg, sig)

  // Every signature that checks out is remembered with its key and message (transport.verified):
  // re-sends carry a fresh gossip nonce, so gossipsub sees a new message, and an exact re-sent vote
  // is accepted (relayed, delivered) without a second Ed25519 verify; the driver's engine consults
  // the same memory instead of verifying each delivered vote and proposal again.
  const checkVote = async (vote: Vote): Promise<Verdict> => {
    const set = await node.validatorSetAt(vote.height)
    const v = set.validators[vote.validatorIndex]
    if (!v) return 'reject'
    const msg = voteSignBytes(id, vote)
    if (transport.verified.has(v.publicKey, msg, vote.signature)) return 'accept'
    if (!sigOk(v.publicKey, msg, vote.signature)) return 'reject'
    transport.verified.add(v.publicKey, msg, vote.signature)
    return 'accept'
  }

  // Exact vote messages already accepted (the bytes themselves, ~130 each): a re-send is accepted
  // before any set lookup or signature work.
  const acceptedVotes = new Set<string>()
  p2p.registerTopic(topics.votes, {
    ...TOPIC_LIMITS.votes,
    validate: async (data) => {
      const m = decodeMessage(data)
      if (m.type !== 'vote') return 'reject'
      const early = heightVerdict(m.vote.height, node.height)
      if (early) return early
      const key = Buffer.from(data).toString('base64')
      if (acceptedVotes.has(key)) {
        transport.duplicateVotes++
        return 'accept'
      }
      const v = await checkVote(m.vote)
      if (v === 'accept') {
        if (acceptedVotes.size >= VERIFIED_SIGNATURE_MEMORY)
          acceptedVotes.delete(acceptedVotes.values().next().value!)
        acceptedVotes.add(key)
      }
      return v
    },
    deliver: (data, from) => transport.deliver(data, from),
  })

  p2p.registerTopic(topics.proposals, {
    ...TOPIC_LIMITS.proposals,
    validate: async (data) => {
      const m = decodeMessage(data)
      if (m.type === 'proposalRequest') return heightVerdict(m.height) ?? 'accept'
      let header: Block['header']
      if (m.type === 'proposal') header = decodeBlock(m.blockBytes).header
      else if (m.type === 'compactProposal') {
        // The block without its txs: the header commits to them (txCount, txRoot).
        const shell = decodeBlock(m.shellBytes)
        if (shell.txs.length !== 0 || m.txHashes.length !== shell.header.txCount) return 'reject'
        header = shell.header
      } else return 'reject'
      const p: Proposal = m.proposal
      if (!equalBytes(blockHash(header), p.blockHash) || header.height !== p.height) return 'reject'
      const early = heightVerdict(p.height)
      if (early) return early
      const set = await node.validatorSetAt(p.height)
      const msg = proposalSignBytes(id, p)
      // The round's proposer first (the engine requires it; computing it costs O(round), so only
      // for early rounds); any validator of the height passes here, which one must propose the
      // round is the engine's check.
      const first = p.round >= 0 && p.round <= 16 ? proposerIndexForRound(set, p.round) : 0
      const order = [set.validators[first], ...set.validators.filter((_, i) => i !== first)]
      for (const v of order) {
        if (v === undefined) continue
        if (transport.verified.has(v.publicKey, msg, p.signature) || sigOk(v.publicKey, msg, p.signature)) {
          transport.verified.add(v.publicKey, msg, p.signature)
          return 'accept'
        }
      }
      return 'reject'
    },
    deliver: (data, from) => transport.deliver(data, from),
  })

  p2p.registerTopic(topics.evidence, {
    ...TOPIC_LIMITS.evidence,
    validate: async (data) => {
      const m = decodeMessage(data)
      if (m.type !== 'evidence') return 'reject'
      const ev = decodeEvidence(m.evidenceBytes)
      const a = await checkVote(ev.voteA)
      return a === 'accept' ? await checkVote(ev.voteB) : a
    },
    deliver: (data, from) => transport.deliver(data, from),
  })

  // Txs that arrived by gossip are not published again (gossipsub relays the batch itself).
  const fromGossip = new Set<string>()
  p2p.registerTopic(topics.txs, {
    ...TOPIC_LIMITS.txs,
    validate: async (data) => {
      const txs = decodeTxBatch(data)
      const hashes = txs.map((t) => toHex(txHash(t)))
      if (fromGossip.size + hashes.length >= GOSSIPED_TX_MEMORY) fromGossip.clear()
      for (let i = 0; i < txs.length; i++) {
        fromGossip.add(hashes[i])
        // Held from receipt on (before admission finishes): a compact proposal naming them may follow.
        transport.noteTx(hashes[i], txs[i])
      }
      // In-order admission: a sender's consecutive nonces in one batch must not race into NONCE_GAP.
      if (TRACE_DIR) trace(`txbatch in n=${txs.length} first=${hashes[0].slice(0, 8)}`)
      const results = await node.submitTxs(txs)
      if (TRACE_DIR) trace(`txbatch admitted n=${txs.length} first=${hashes[0].slice(0, 8)}`)
      let accepted = false
      for (const r of results) {
        if (!(r instanceof Error)) accepted = true
        else if (isPulseError(r) && REJECT_TX_CODES.has(r.code)) return 'reject'
      }
      return accepted ? 'accept' : 'ignore'
    },
    deliver: () => {},
  })
  // Local txs (API, CLI) are batched per turn of the event loop: one gossip message for what was
  // admitted together (an API batch), published at the end of that turn (setImmediate), or at
  // once when a consensus message is about to go out (transport.flushTxs).
  let batch: Uint8Array[] = []
  let batchBytes = 0
  let flushPending: NodeJS.Immediate | undefined
  const flush = () => {
    if (flushPending) clearImmediate(flushPending)
    flushPending = undefined
    if (batch.length === 0) return
    if (TRACE_DIR) trace(`txbatch out n=${batch.length} first=${toHex(txHash(batch[0])).slice(0, 8)}`)
    p2p.publish(topics.txs, encodeTxBatch(batch))
    batch = []
    batchBytes = 0
  }
  transport.flushTxs = flush
  const onTx = (d: { hashHex: string; bytes: Uint8Array }) => {
    if (fromGossip.has(d.hashHex)) return
    if (batchBytes + d.bytes.length + 4 > TX_BATCH_BYTES_MAX || batch.length >= TX_BATCH_MAX) flush()
    if (TRACE_DIR && batch.length === 0) trace(`txbatch open first=${d.hashHex.slice(0, 8)}`)
    batch.push(d.bytes)
    batchBytes += d.bytes.length + 4
    flushPending ??= setImmediate(flush)
  }
  node.on('tx', onTx)
  return () => {
    node.off('tx', onTx)
    flush()
    transport.flushTxs = () => {}
  }
}

/** A tx batch: u16 count, then per tx u32 length + bytes. Bounded; throws DecodeError. */
export function encodeTxBatch(txs: Uint8Array[]): Uint8Array {
  let n = 2
  for (const t of txs) n += 4 + t.length
  const out = new Uint8Array(n)
  const dv = new DataView(out.buffer)
  dv.setUint16(0, txs.length)
  let o = 2
  for (const t of txs) {
    dv.setUint32(o, t.length)
    out.set(t, o + 4)
    o += 4 + t.length
  }
  return out
}

export function decodeTxBatch(b: Uint8Array): Uint8Array[] {
  if (b.length < 2) throw new DecodeError('DECODE_ERROR', 'tx batch: too short')
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const count = dv.getUint16(0)
  if (count === 0 || count > TX_BATCH_MAX) throw new DecodeError('DECODE_ERROR', 'tx batch: bad count')
  const out: Uint8Array[] = []
  let o = 2
  for (let i = 0; i < count; i++) {
    if (o + 4 > b.length) throw new DecodeError('DECODE_ERROR', 'tx batch: truncated')
    const n = dv.getUint32(o)
    if (o + 4 + n > b.length) throw new DecodeError('DECODE_ERROR', 'tx batch: truncated tx')
    out.push(b.subarray(o + 4, o + 4 + n))
    o += 4 + n
  }
  if (o !== b.length) throw new DecodeError('DECODE_ERROR', 'tx batch: trailing bytes')
  return out
}
