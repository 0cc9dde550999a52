/**
 * Structural checks of consensus messages from the network, done before anything is stored. They
 * return a reason string (null = well formed) instead of throwing: bad input is counted and dropped.
 */
import type { CommitSig, Proposal, Vote } from '@pulsemesh/core/types.ts'
import type { EngineLimits } from './types.ts'

export const HASH_BYTES = 32
/** Largest signature accepted (Ed25519 64, secp256k1 64; slack for other schemes). */
export const MAX_SIGNATURE_BYTES = 128
/** Highest height accepted (int64 on the wire). */
export const MAX_HEIGHT = (1n << 63n) - 1n
const MAX_U64 = (1n << 64n) - 1n

const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array
const isU64 = (x: unknown): x is bigint => typeof x === 'bigint' && x >= 0n && x <= MAX_U64

/** An all-zero hash is nil. */
export function isNilHash(h: Uint8Array): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false
  return true
}

export function checkVoteShape(v: unknown, limits: EngineLimits): string | null {
  if (typeof v !== 'object' || v === null) return 'vote is not an object'
  const x = v as Record<string, unknown>
  if (x.type !== 1 && x.type !== 2) return 'vote type must be 1 (prevote) or 2 (precommit)'
  if (typeof x.height !== 'bigint' || x.height < 1n || x.height > MAX_HEIGHT)
    return 'vote height out of range'
  if (!Number.isSafeInteger(x.round) || (x.round as number) < 0 || (x.round as number) > limits.maxRound)
    return 'vote round out of range'
  if (!isBytes(x.blockHash) || x.blockHash.length !== HASH_BYTES) return 'vote blockHash must be 32 bytes'
  if (!isU64(x.timestampMs)) return 'vote timestampMs must be a u64 bigint'
  if (!Number.isSafeInteger(x.validatorIndex) || (x.validatorIndex as number) < 0) return 'bad validatorIndex'
  if (!isBytes(x.extension)) return 'vote extension must be bytes'
  if (x.extension.length > limits.maxExtensionBytes) return 'vote extension too large'
  if (x.extension.length > 0 && (x.type !== 2 || isNilHash(x.blockHash)))
    return 'only non-nil precommits may carry an extension'
  if (!isBytes(x.signature) || x.signature.length === 0 || x.signature.length > MAX_SIGNATURE_BYTES)
    return 'vote signature missing or too large'
  return null
}

export function checkProposalShape(p: unknown, limits: EngineLimits): string | null {
  if (typeof p !== 'object' || p === null) return 'proposal is not an object'
  const x = p as Record<string, unknown>
  if (typeof x.height !== 'bigint' || x.height < 1n || x.height > MAX_HEIGHT)
    return 'proposal height out of range'
  if (!Number.isSafeInteger(x.round) || (x.round as number) < 0 || (x.round as number) > limits.maxRound)
    return 'proposal round out of range'
  if (
    !Number.isSafeInteger(x.polRound) ||
    (x.polRound as number) < -1 ||
    (x.polRound as number) >= (x.round as number)
  )
    return 'proposal polRound must be in [-1, round)'
  if (!isBytes(x.blockHash) || x.blockHash.length !== HASH_BYTES || isNilHash(x.blockHash))
    return 'proposal blockHash must be a non-nil 32-byte hash'
  if (!isU64(x.timestampMs)) return 'proposal timestampMs must be a u64 bigint'
  if (!isBytes(x.signature) || x.signature.length === 0 || x.signature.length > MAX_SIGNATURE_BYTES)
    return 'proposal signature missing or too large'
  return null
}

export function checkCommitSigShape(s: unknown, maxExtensionBytes: number): string | null {
  if (typeof s !== 'object' || s === null) return 'commit signature is not an object'
  const x = s as Partial<CommitSig>
  if (!Number.isSafeInteger(x.validatorIndex) || (x.validatorIndex as number) < 0) return 'bad validatorIndex'
  if (!isU64(x.timestampMs)) return 'timestampMs must be a u64 bigint'
  if (!isBytes(x.extension) || x.extension.length > maxExtensionBytes) return 'bad extension'
  if (!isBytes(x.signature) || x.signature.length === 0 || x.signature.length > MAX_SIGNATURE_BYTES)
    return 'signature missing or too large'
  return null
}

export type { Proposal, Vote }
