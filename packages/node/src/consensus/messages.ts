/**
 * Wire format of consensus messages (one tag byte, then the body). Votes use core's canonical vote
 * encoding; a proposal travels with the block it proposes, either whole or compact (the block
 * without its txs, plus the txs' hashes: every validator already holds the txs from tx gossip and
 * rebuilds the block; one that misses some asks for the whole proposal with `proposalRequest`).
 * Decoders are bounded and throw DecodeError, never anything else.
 */
import {
  concatBytes,
  DecodeError,
  decodeBlock,
  decodeCommit,
  decodeVote,
  encodeVote,
  type Proposal,
  u64be,
  type Vote,
} from '@pulsemesh/core'

export const MsgTag = {
  Proposal: 1,
  Vote: 2,
  BlockRequest: 3,
  BlockResponse: 4,
  Tx: 5,
  Evidence: 6,
  CompactProposal: 7,
  ProposalRequest: 8,
} as const

/** Bound on the tx hashes of a compact proposal (core's blockTxsMax is far below). */
export const COMPACT_TXS_MAX = 65_536

export type ConsensusMessage =
  | { type: 'proposal'; proposal: Proposal; blockBytes: Uint8Array }
  | { type: 'vote'; vote: Vote }
  /** "Send me the committed block at `height`" (catch-up after a restart or partition). */
  | { type: 'blockRequest'; height: bigint }
  | { type: 'blockResponse'; blockBytes: Uint8Array; commitBytes: Uint8Array }
  /** A client tx forwarded to the other validators' mempools (admitted there through submitTx). */
  | { type: 'tx'; txBytes: Uint8Array }
  /** Duplicate-vote evidence (encodeEvidence bytes), gossiped so every proposer can include it. */
  | { type: 'evidence'; evidenceBytes: Uint8Array }
  /**
   * A proposal with its block minus the txs (`shellBytes`: encodeBlock with `txs: []`; the header
   * still commits to them, so the block hash is checked before anything is rebuilt) and the
   * txHash of each tx in block order.
   */
  | { type: 'compactProposal'; proposal: Proposal; shellBytes: Uint8Array; txHashes: Uint8Array[] }
  /** "Send the whole proposal of this block": a compact one named txs this node does not hold. */
  | { type: 'proposalRequest'; height: bigint; round: number; blockHash: Uint8Array }

const PROPOSAL_FIXED = 8 + 4 + 4 + 32 + 8 + 1

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

function proposalPrefix(tag: number, p: Proposal): Uint8Array[] {
  return [
    new Uint8Array([tag]),
    u64be(p.height),
    u32(p.round),
    u32(p.polRound + 1),
    p.blockHash,
    u64be(p.timestampMs),
    new Uint8Array([p.signature.length]),
    p.signature,
  ]
}

/** The proposal fields after the tag (same layout for whole and compact proposals). */
function decodeProposalPrefix(body: Uint8Array): { proposal: Proposal; end: number } {
  if (body.length < PROPOSAL_FIXED) throw new DecodeError('DECODE_ERROR', 'proposal: too short')
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const sigLen = body[PROPOSAL_FIXED - 1]
  const end = PROPOSAL_FIXED + sigLen
  if (body.length < end) throw new DecodeError('DECODE_ERROR', 'proposal: truncated signature')
  const proposal: Proposal = {
    height: dv.getBigUint64(0),
    round: dv.getUint32(8),
    polRound: dv.getUint32(12) - 1,
    blockHash: body.slice(16, 48),
    timestampMs: dv.getBigUint64(48),
    signature: body.slice(PROPOSAL_FIXED, end),
  }
  return { proposal, end }
}

export function encodeMessage(m: ConsensusMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return concatBytes(...proposalPrefix(MsgTag.Proposal, m.proposal), m.blockBytes)
    case 'compactProposal': {
      const hashes = new Uint8Array(32 * m.txHashes.length)
      m.txHashes.forEach((h, i) => {
        hashes.set(h, 32 * i)
      })
      return concatBytes(
        ...proposalPrefix(MsgTag.CompactProposal, m.proposal),
        u32(m.shellBytes.length),
        m.shellBytes,
        u32(m.txHashes.length),
        hashes,
      )
    }
    case 'proposalRequest':
      return concatBytes(new Uint8Array([MsgTag.ProposalRequest]), u64be(m.height), u32(m.round), m.blockHash)
    case 'vote':
      return concatBytes(new Uint8Array([MsgTag.Vote]), encodeVote(m.vote))
    case 'blockRequest':
      return concatBytes(new Uint8Array([MsgTag.BlockRequest]), u64be(m.height))
    case 'blockResponse':
      return concatBytes(
        new Uint8Array([MsgTag.BlockResponse]),
        u32(m.blockBytes.length),
        m.blockBytes,
        m.commitBytes,
      )
    case 'tx':
      return concatBytes(new Uint8Array([MsgTag.Tx]), m.txBytes)
    case 'evidence':
      return concatBytes(new Uint8Array([MsgTag.Evidence]), m.evidenceBytes)
  }
}

export function decodeMessage(b: Uint8Array): ConsensusMessage {
  if (!(b instanceof Uint8Array) || b.length < 1)
    throw new DecodeError('DECODE_ERROR', 'consensus message: empty')
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const body = b.subarray(1)
  switch (b[0]) {
    case MsgTag.Proposal: {
      const { proposal, end } = decodeProposalPrefix(body)
      return { type: 'proposal', proposal, blockBytes: body.slice(end) }
    }
    case MsgTag.CompactProposal: {
      const { proposal, end } = decodeProposalPrefix(body)
      const bad = (why: string): never => {
        throw new DecodeError('DECODE_ERROR', `compact proposal: ${why}`)
      }
      if (body.length < end + 4) bad('truncated')
      const n = dv.getUint32(1 + end)
      const shellEnd = end + 4 + n
      if (body.length < shellEnd + 4) bad('truncated block')
      const count = dv.getUint32(1 + shellEnd)
      if (count > COMPACT_TXS_MAX) bad('too many txs')
      if (body.length !== shellEnd + 4 + 32 * count) bad('bad length')
      const txHashes: Uint8Array[] = []
      for (let i = 0, o = shellEnd + 4; i < count; i++, o += 32) txHashes.push(body.slice(o, o + 32))
      return { type: 'compactProposal', proposal, shellBytes: body.slice(end + 4, shellEnd), txHashes }
    }
    case MsgTag.ProposalRequest:
      if (body.length !== 8 + 4 + 32) throw new DecodeError('DECODE_ERROR', 'proposal request: bad length')
      return {
        type: 'proposalRequest',
        height: dv.getBigUint64(1),
        round: dv.getUint32(9),
        blockHash: body.slice(12, 44),
      }
    case MsgTag.Vote:
      return { type: 'vote', vote: decodeVote(body) }
    case MsgTag.BlockRequest:
      if (body.length !== 8) throw new DecodeError('DECODE_ERROR', 'block request: bad length')
      return { type: 'blockRequest', height: dv.getBigUint64(1) }
    case MsgTag.BlockResponse: {
      if (body.length < 4) throw new DecodeError('DECODE_ERROR', 'block response: too short')
      const n = dv.getUint32(1)
      if (body.length < 4 + n) throw new DecodeError('DECODE_ERROR', 'block response: truncated block')
      return { type: 'blockResponse', blockBytes: body.slice(4, 4 + n), commitBytes: body.slice(4 + n) }
    }
    case MsgTag.Tx:
      if (body.length === 0) throw new DecodeError('DECODE_ERROR', 'tx message: empty')
      return { type: 'tx', txBytes: body.slice() }
    case MsgTag.Evidence:
      if (body.length === 0) throw new DecodeError('DECODE_ERROR', 'evidence message: empty')
      return { type: 'evidence', evidenceBytes: body.slice() }
    default:
      throw new DecodeError('DECODE_ERROR', `consensus message: unknown tag ${b[0]}`)
  }
}

/** Decodes a block response fully (block and certificate), for the catch-up path. */
export function decodeBlockResponse(m: Extract<ConsensusMessage, { type: 'blockResponse' }>) {
  return { block: decodeBlock(m.blockBytes), commit: decodeCommit(m.commitBytes) }
}

/** Duplicate-vote evidence as carried in a block's `evidence` list: u32 length of vote A, vote A, vote B. */
export function encodeEvidence(ev: { voteA: Vote; voteB: Vote }): Uint8Array {
  const a = encodeVote(ev.voteA)
  return concatBytes(u32(a.length), a, encodeVote(ev.voteB))
}
export function decodeEvidence(b: Uint8Array): { voteA: Vote; voteB: Vote } {
  if (b.length < 4) throw new DecodeError('DECODE_ERROR', 'evidence: too short')
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0)
  if (b.length < 4 + n) throw new DecodeError('DECODE_ERROR', 'evidence: truncated')
  return { voteA: decodeVote(b.subarray(4, 4 + n)), voteB: decodeVote(b.subarray(4 + n)) }
}
