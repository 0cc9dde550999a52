/**
 * A reference canonical encoding of what validators sign, for the simulator, tests and benchmarks.
 * Domain-separated (type tag + chain id) fixed layout, big-endian integers. The node may inject core's
 * schema codec instead through ConsensusVerifier; the engine never depends on the layout.
 *
 *   vote:     "PMv1" 0x01|0x02 | len(chainId) u8 | chainId | height u64 | round u32 | blockHash 32
 *             | timestampMs u64 | validatorIndex u32 | len(extension) u32 | extension
 *   proposal: "PMv1" 0x20      | len(chainId) u8 | chainId | height u64 | round u32 | polRound i32
 *             | blockHash 32 | timestampMs u64
 */
import { utf8 } from '@pulsemesh/core/bytes.ts'
import type { UnsignedProposal, UnsignedVote } from './types.ts'

const MAGIC = utf8('PMv1')
const PROPOSAL_TAG = 0x20

function header(chain: Uint8Array, tag: number, size: number): { out: Uint8Array; dv: DataView; o: number } {
  const out = new Uint8Array(MAGIC.length + 2 + chain.length + size)
  out.set(MAGIC, 0)
  out[MAGIC.length] = tag
  out[MAGIC.length + 1] = chain.length
  out.set(chain, MAGIC.length + 2)
  return { out, dv: new DataView(out.buffer), o: MAGIC.length + 2 + chain.length }
}

export function makeSignBytes(chainId: string): {
  voteSignBytes(v: UnsignedVote): Uint8Array
  proposalSignBytes(p: UnsignedProposal): Uint8Array
} {
  const chain = utf8(chainId)
  if (chain.length > 255) throw new RangeError('chainId longer than 255 bytes')
  return {
    voteSignBytes(v) {
      const { out, dv, o } = header(chain, v.type, 8 + 4 + 32 + 8 + 4 + 4 + v.extension.length)
      dv.setBigUint64(o, v.height)
      dv.setUint32(o + 8, v.round)
      out.set(v.blockHash, o + 12)
      dv.setBigUint64(o + 44, v.timestampMs)
      dv.setUint32(o + 52, v.validatorIndex)
      dv.setUint32(o + 56, v.extension.length)
      out.set(v.extension, o + 60)
      return out
    },
    proposalSignBytes(p) {
      const { out, dv, o } = header(chain, PROPOSAL_TAG, 8 + 4 + 4 + 32 + 8)
      dv.setBigUint64(o, p.height)
      dv.setUint32(o + 8, p.round)
      dv.setInt32(o + 12, p.polRound)
      out.set(p.blockHash, o + 16)
      dv.setBigUint64(o + 48, p.timestampMs)
      return out
    },
  }
}
