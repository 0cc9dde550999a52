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
 *  - txs: NetworkNode.submitTx itself (decode, stateless checks, signature, mempool rules): a bad
 *    signature or undecodable tx is `reject`, mempool refusals (duplicate, nonce, full) `ignore`;
 *  - evidence: decodeEvidence and both votes' signatures.
 * Messages for heights beyond what can be checked (more than 2 ahead) are ignored and start a block
 * sync; stale ones are ignored.
 */
import { decodeTxBytes } from '@pulsemesh/app'
import {
  blockHash,
  decodeBlock,
  equalBytes,
  isPulseError,
  type Proposal,
  proposalSignBytes,
  verify,
  type Vote,
  voteSignBytes,
} from '@pulsemesh/core'
import type { NetworkNode } from '../chain/network-node.ts'
import { decodeEvidence, decodeMessage, MsgTag } from '../consensus/messages.ts'
import type { ConsensusTransport } from '../consensus/transport.ts'
import type { BlockSync } from './block-sync.ts'
import type { P2PNode, Verdict } from './p2p-node.ts'

export function networkTopics(networkId: string) {
  const t = (name: string) => `/pulsemesh/${networkId}/${name}/1`
  return { txs: t('txs'), proposals: t('proposals'), votes: t('votes'), evidence: t('evidence') }
}
export const allTopics = (networkId: string): string[] => Object.values(networkTopics(networkId))

/** Per-topic limits (decompressed bytes; messages per second per relaying peer). */
export const TOPIC_LIMITS = {
  txs: { maxBytes: 64 * 1024, rate: { capacity: 20_000, refillPerSecond: 10_000 } },
  proposals: { maxBytes: 8 * 1024 * 1024 + 64 * 1024, rate: { capacity: 200, refillPerSecond: 100 } },
  votes: { maxBytes: 4 * 1024, rate: { capacity: 4_000, refillPerSecond: 2_000 } },
  evidence: { maxBytes: 16 * 1024, rate: { capacity: 50, refillPerSecond: 10 } },
} as const

/** How many heights ahead of our head a message can be checked (validator sets are known to head+2). */
const AHEAD_MAX = 2n
const GOSSIPED_TX_MEMORY = 50_000

export const REJECT_TX_CODES = new Set([
  'BAD_SIGNATURE',
  'DECODE_ERROR',
  'DECODE_TOO_LARGE',
  'DECODE_NON_CANONICAL',
])

export class GossipConsensusTransport implements ConsensusTransport {
  private handler: ((msg: Uint8Array, from: string) => void) | undefined
  private readonly p2p: P2PNode
  private readonly topics: ReturnType<typeof networkTopics>
  private readonly sync: BlockSync
  constructor(p2p: P2PNode, networkId: string, sync: BlockSync) {
    this.p2p = p2p
    this.topics = networkTopics(networkId)
    this.sync = sync
  }

  broadcast(msg: Uint8Array): void {
    switch (msg[0]) {
      case MsgTag.Proposal:
        this.p2p.publish(this.topics.proposals, msg)
        return
      case MsgTag.Vote:
        this.p2p.publish(this.topics.votes, msg)
        return
      case MsgTag.BlockRequest:
        // Catch-up goes through the request/response sync protocol, not through gossip.
        this.sync.kick()
        return
      default:
        // Block responses are served by the sync protocol only.
        return
    }
  }

  onMessage(handler: (msg: Uint8Array, from: string) => void): void {
    this.handler = handler
  }

  /** Hands a message to the driver (gossip deliveries and sync results). */
  deliver(msg: Uint8Array, from: string): void {
    this.handler?.(msg, from)
  }

  close(): void {
    this.handler = undefined
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

  const heightVerdict = (h: bigint): Verdict | undefined => {
    if (h > node.height + AHEAD_MAX) {
      sync.noteRemoteHeight(h)
      return 'ignore'
    }
    if (h <= node.height) return 'ignore'
    return undefined
  }
  const sigOk = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
    verify({ scheme: 'ed25519', bytes: pk }, msg, sig)

  const checkVote = async (vote: Vote): Promise<Verdict> => {
    const set = await node.validatorSetAt(vote.height)
    const v = set.validators[vote.validatorIndex]
    if (!v) return 'reject'
    return sigOk(v.publicKey, voteSignBytes(id, vote), vote.signature) ? 'accept' : 'reject'
  }

  p2p.registerTopic(topics.votes, {
    ...TOPIC_LIMITS.votes,
    validate: async (data) => {
      const m = decodeMessage(data)
      if (m.type !== 'vote') return 'reject'
      return heightVerdict(m.vote.height) ?? (await checkVote(m.vote))
    },
    deliver: (data, from) => transport.deliver(data, from),
  })

  p2p.registerTopic(topics.proposals, {
    ...TOPIC_LIMITS.proposals,
    validate: async (data) => {
      const m = decodeMessage(data)
      if (m.type !== 'proposal') return 'reject'
      const p: Proposal = m.proposal
      const block = decodeBlock(m.blockBytes)
      if (!equalBytes(blockHash(block.header), p.blockHash) || block.header.height !== p.height)
        return 'reject'
      const early = heightVerdict(p.height)
      if (early) return early
      const set = await node.validatorSetAt(p.height)
      const msg = proposalSignBytes(id, p)
      return set.validators.some((v) => sigOk(v.publicKey, msg, p.signature)) ? 'accept' : 'reject'
    },
    deliver: (data, from) => transport.deliver(data, from),
  })

  p2p.registerTopic(topics.evidence, {
    ...TOPIC_LIMITS.evidence,
    validate: async (data) => {
      const ev = decodeEvidence(data)
      const a = await checkVote(ev.voteA)
      return a === 'accept' ? await checkVote(ev.voteB) : a
    },
    // The driver records evidence it sees in votes itself; gossiped evidence is only relayed.
    deliver: () => {},
  })

  // Txs that arrived by gossip are not published again (peers already relay them).
  const fromGossip = new Set<string>()
  p2p.registerTopic(topics.txs, {
    ...TOPIC_LIMITS.txs,
    validate: async (data) => {
      const hashHex = decodeTxBytes(data).hashHex
      if (fromGossip.size >= GOSSIPED_TX_MEMORY) fromGossip.clear()
      fromGossip.add(hashHex)
      try {
        await node.submitTx(data)
        return 'accept'
      } catch (e) {
        if (isPulseError(e) && REJECT_TX_CODES.has(e.code)) return 'reject'
        return 'ignore'
      }
    },
    deliver: () => {},
  })
  const onTx = (d: { hashHex: string; bytes: Uint8Array }) => {
    if (!fromGossip.has(d.hashHex)) p2p.publish(topics.txs, d.bytes)
  }
  node.on('tx', onTx)
  return () => node.off('tx', onTx)
}
