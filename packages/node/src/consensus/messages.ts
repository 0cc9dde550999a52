/**
 * Wire format of consensus messages (one tag byte, then the body). Votes use core's canonical vote
 * encoding; a proposal travels with the block it proposes. Decoders are bounded and throw
 * DecodeError, never anything else.
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

export const MsgTag = { Proposal: 1, Vote: 2, BlockRequest: 3, BlockResponse: 4, Tx: 5, Evidence: 6 } as const

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

const PROPOSAL_FIXED = 8 + 4 + 4 + 32 + 8 + 1

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

export function encodeMessage(m: ConsensusMessage): Uint8Array {
  switch (m.type) {
    case 'proposal': {
      const p = m.proposal
      return concatBytes(
        new Uint8Array([MsgTag.Proposal]),
        u64be(p.height),
        u32(p.round),
        u32(p.polRound + 1),
        p.blockHash,
        u64be(p.timestampMs),
        new Uint8Array([p.signature.length]),
        p.signature,
        m.blockBytes,
      )
    }
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
      if (body.length < PROPOSAL_FIXED) throw new DecodeError('DECODE_ERROR', 'proposal: too short')
      const sigLen = body[PROPOSAL_FIXED - 1]
      const end = PROPOSAL_FIXED + sigLen
      if (body.length < end) throw new DecodeError('DECODE_ERROR', 'proposal: truncated signature')
      const proposal: Proposal = {
        height: dv.getBigUint64(1),
        round: dv.getUint32(9),
        polRound: dv.getUint32(13) - 1,
        blockHash: body.slice(16, 48),
        timestampMs: dv.getBigUint64(49),
        signature: body.slice(PROPOSAL_FIXED, end),
      }
      return { type: 'proposal', proposal, blockBytes: body.slice(end) }
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
