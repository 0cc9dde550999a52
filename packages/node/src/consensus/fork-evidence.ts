import { fromHex, fromUtf8, PulseError, toHex, utf8 } from '@pulsemesh/core'
import { writeFileAtomic } from '../storage/atomic-file.ts'

export interface ForkEvidence {
  networkId: string
  height: bigint
  /** The block this node committed. */
  a: { blockBytes: Uint8Array; commitBytes: Uint8Array }
  /** The conflicting certified block it was shown. */
  b: { blockBytes: Uint8Array; commitBytes: Uint8Array }
}

export function encodeForkEvidence(e: ForkEvidence): Uint8Array {
  return utf8(
    JSON.stringify({
      networkId: e.networkId,
      height: e.height.toString(),
      a: { block: toHex(e.a.blockBytes), commit: toHex(e.a.commitBytes) },
      b: { block: toHex(e.b.blockBytes), commit: toHex(e.b.commitBytes) },
    }),
  )
}

export function readForkEvidence(bytes: Uint8Array): ForkEvidence {
  try {
    const j = JSON.parse(fromUtf8(bytes))
    return {
      networkId: String(j.networkId),
      height: BigInt(j.height),
      a: { blockBytes: fromHex(j.a.block), commitBytes: fromHex(j.a.commit) },
      b: { blockBytes: fromHex(j.b.block), commitBytes: fromHex(j.b.commit) },
    }
  } catch (e) {
    throw new PulseError('FORK_EVIDENCE_CORRUPT', `cannot read fork evidence: ${(e as Error).message}`)
  }
}

/** Writes atomically (tmp file, fsync, rename, directory fsync); the first fork found is kept. */
export function writeForkEvidence(path: string, e: ForkEvidence): void {
  writeFileAtomic(path, encodeForkEvidence(e))
}
