/**
 * On-chain light clients of counterparty networks (DESIGN §4 proofs). A client holds the latest
 * trusted header of its counterparty and the validator set that signed it; `updateClient` accepts
 * a newer header only if > 2/3 of the header's own set signed it (verifyCommit) and that set is
 * either the trusted one, the one the trusted header announced as next, or signed by > 1/3 of
 * the trusted set (verifyCommitTrusting, skipping verification). Every accepted header's state
 * root is kept as a consensus state: packets are then proved against it by Merkle proof.
 */
import { verifyCommit, verifyCommitTrusting } from '@pulsemesh/consensus/commit.ts'
import {
  blockHash,
  type Commit,
  decodeCommit,
  decodeHeader,
  decodeStateProof,
  encodeValidator,
  equalBytes,
  type Header,
  merkleRoot,
  toHex,
  verify,
  verifyStateProof,
  voteSignBytes,
} from '@pulsemesh/core'
import type { KVStore } from '../../state/kv.ts'
import { type ValidatorSet, validatorSetOf } from '../../validators.ts'
import type { MisbehaviourPayload } from './payloads.ts'
import { ClientStateSSZ, ConsensusStateSSZ, MESH_KEYS, MeshError } from './state.ts'

export interface ValidatorEntry {
  publicKey: Uint8Array
  power: bigint
}
export interface ClientState {
  latestHeight: bigint
  latestHash: Uint8Array
  validators: ValidatorEntry[]
  nextValidatorsHash: Uint8Array
  trustPeriodMs: bigint
  creator: Uint8Array
}
export interface ConsensusState {
  timeMs: bigint
  stateRoot: Uint8Array
  blockHash: Uint8Array
}

/** A header may be at most this far ahead of the verifying block's time (clock drift). */
export const MAX_CLOCK_DRIFT_MS = 60_000n

export function getClient(store: KVStore, counterparty: string): ClientState | undefined {
  const raw = store.get(MESH_KEYS.client(counterparty))
  return raw === undefined ? undefined : ClientStateSSZ.deserialize(raw)
}
export function putClient(store: KVStore, counterparty: string, c: ClientState): void {
  store.set(MESH_KEYS.client(counterparty), ClientStateSSZ.serialize(c))
}
/** The height at which misbehaviour of `counterparty` was proved, if it was (the client is frozen). */
export function frozenAt(store: KVStore, counterparty: string): bigint | undefined {
  const raw = store.get(MESH_KEYS.frozen(counterparty))
  return raw === undefined ? undefined : new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0)
}
/** The client of `counterparty`; a frozen one is refused (nothing from it is trusted any more). */
export function requireClient(store: KVStore, counterparty: string): ClientState {
  const c = getClient(store, counterparty)
  if (c === undefined) throw new MeshError('UNKNOWN_CLIENT', `no light client of ${counterparty}`)
  const f = frozenAt(store, counterparty)
  if (f !== undefined)
    throw new MeshError('CLIENT_FROZEN', `the client of ${counterparty} is frozen (misbehaviour at ${f})`, {
      frozenAt: f.toString(),
    })
  return c
}
export function getConsensusState(
  store: KVStore,
  counterparty: string,
  height: bigint,
): ConsensusState | undefined {
  const raw = store.get(MESH_KEYS.consensusState(counterparty, height))
  return raw === undefined ? undefined : ConsensusStateSSZ.deserialize(raw)
}

/** Same ordering and hash as the node's header commitment (validatorSetHash). */
export function validatorsHashOf(set: ValidatorSet): Uint8Array {
  return merkleRoot(
    set.validators.map((v) => encodeValidator({ publicKey: v.publicKey, votingPower: v.votingPower })),
  )
}

function verifierFor(networkId: string) {
  return {
    voteSignBytes: (v: Parameters<typeof voteSignBytes>[1]) => voteSignBytes(networkId, v),
    verify: (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) =>
      verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
  }
}

function decodeCertified(
  counterparty: string,
  headerBytes: Uint8Array,
  commitBytes: Uint8Array,
): { header: Header; commit: Commit; hash: Uint8Array } {
  let header: Header
  let commit: Commit
  try {
    header = decodeHeader(headerBytes)
    commit = decodeCommit(commitBytes)
  } catch (e) {
    throw new MeshError('HEADER_INVALID', `undecodable header or commit: ${(e as Error).message}`)
  }
  if (header.networkId !== counterparty)
    throw new MeshError('HEADER_INVALID', `header is of ${header.networkId}, client tracks ${counterparty}`)
  return { header, commit, hash: blockHash(header) }
}

/** Checks > 2/3 of `set` signed this header; the set must be the one the header commits to. */
function checkSelfCertified(
  counterparty: string,
  header: Header,
  commit: Commit,
  hash: Uint8Array,
  set: ValidatorSet,
) {
  if (!equalBytes(validatorsHashOf(set), header.validatorsHash))
    throw new MeshError('VALIDATORS_MISMATCH', 'validator set does not match the header validatorsHash')
  try {
    verifyCommit(commit, set, verifierFor(counterparty), { height: header.height, blockHash: hash })
  } catch (e) {
    throw new MeshError('COMMIT_INVALID', `commit does not verify: ${(e as Error).message}`, {
      reason: (e as { code?: string }).code,
    })
  }
}

function storeConsensusState(store: KVStore, counterparty: string, header: Header, hash: Uint8Array): void {
  store.set(
    MESH_KEYS.consensusState(counterparty, header.height),
    ConsensusStateSSZ.serialize({ timeMs: header.timeMs, stateRoot: header.stateRoot, blockHash: hash }),
  )
}

const toSet = (vs: ValidatorEntry[]) => validatorSetOf(vs)

/** Creates the client of `counterparty` from a header its own validators certified (the trust root). */
export function createClient(
  store: KVStore,
  o: {
    counterparty: string
    header: Uint8Array
    commit: Uint8Array
    validators: ValidatorEntry[]
    trustPeriodMs: bigint
    creator: Uint8Array
  },
): ClientState {
  if (getClient(store, o.counterparty) !== undefined)
    throw new MeshError('CLIENT_EXISTS', `a client of ${o.counterparty} exists`)
  if (o.trustPeriodMs <= 0n) throw new MeshError('HEADER_INVALID', 'trust period must be positive')
  const { header, commit, hash } = decodeCertified(o.counterparty, o.header, o.commit)
  checkSelfCertified(o.counterparty, header, commit, hash, toSet(o.validators))
  const c: ClientState = {
    latestHeight: header.height,
    latestHash: hash,
    validators: o.validators,
    nextValidatorsHash: header.nextValidatorsHash,
    trustPeriodMs: o.trustPeriodMs,
    creator: o.creator,
  }
  putClient(store, o.counterparty, c)
  storeConsensusState(store, o.counterparty, header, hash)
  return c
}

/**
 * Advances the client to a newer header. `validators` is the set that signed it; empty means
 * "unchanged" (the trusted set is used and must match the header's validatorsHash).
 */
export function updateClient(
  store: KVStore,
  nowMs: bigint,
  o: { counterparty: string; header: Uint8Array; commit: Uint8Array; validators: ValidatorEntry[] },
): { client: ClientState; height: bigint } {
  const c = requireClient(store, o.counterparty)
  const trusted = getConsensusState(store, o.counterparty, c.latestHeight)!
  if (nowMs - trusted.timeMs >= c.trustPeriodMs)
    throw new MeshError(
      'CLIENT_EXPIRED',
      `the trusted header of ${o.counterparty} is older than the trust period`,
      {
        trustedHeight: c.latestHeight.toString(),
      },
    )
  const { header, commit, hash } = decodeCertified(o.counterparty, o.header, o.commit)
  if (header.height <= c.latestHeight)
    throw new MeshError('HEADER_NOT_NEWER', `header ${header.height} is not above trusted ${c.latestHeight}`)
  if (header.timeMs <= trusted.timeMs) throw new MeshError('HEADER_INVALID', 'header time does not advance')
  if (header.timeMs > nowMs + MAX_CLOCK_DRIFT_MS)
    throw new MeshError('HEADER_INVALID', 'header time is in the future')
  const signers = o.validators.length > 0 ? o.validators : c.validators
  const set = toSet(signers)
  checkSelfCertified(o.counterparty, header, commit, hash, set)
  const trustedSet = toSet(c.validators)
  const sameSet = equalBytes(header.validatorsHash, validatorsHashOf(trustedSet))
  const announced =
    header.height === c.latestHeight + 1n && equalBytes(header.validatorsHash, c.nextValidatorsHash)
  if (!sameSet && !announced) {
    try {
      verifyCommitTrusting(commit, set, trustedSet, verifierFor(o.counterparty))
    } catch (e) {
      throw new MeshError(
        'INSUFFICIENT_TRUST',
        `not enough of the trusted set signed: ${(e as Error).message}`,
        {
          reason: (e as { code?: string }).code,
        },
      )
    }
  }
  const next: ClientState = {
    ...c,
    latestHeight: header.height,
    latestHash: hash,
    validators: signers,
    nextValidatorsHash: header.nextValidatorsHash,
  }
  putClient(store, o.counterparty, next)
  storeConsensusState(store, o.counterparty, header, hash)
  return { client: next, height: header.height }
}

/**
 * Verifies `key` -> `value` (null: absent) in the counterparty state at `height`. Returns that
 * header's time (timeouts compare against it).
 */
export function verifyMembership(
  store: KVStore,
  nowMs: bigint,
  o: { counterparty: string; height: bigint; key: Uint8Array; value: Uint8Array | null; proof: Uint8Array },
): ConsensusState {
  const c = requireClient(store, o.counterparty)
  const cs = getConsensusState(store, o.counterparty, o.height)
  if (cs === undefined)
    throw new MeshError('UNKNOWN_HEADER', `no trusted header of ${o.counterparty} at height ${o.height}`)
  if (nowMs - cs.timeMs >= c.trustPeriodMs)
    throw new MeshError(
      'HEADER_EXPIRED',
      `header ${o.height} of ${o.counterparty} is outside the trust period`,
    )
  let ok = false
  try {
    ok = verifyStateProof(cs.stateRoot, o.key, o.value, decodeStateProof(o.proof))
  } catch {
    ok = false
  }
  if (!ok)
    throw new MeshError(
      'PROOF_INVALID',
      `state proof does not verify against ${o.counterparty}@${o.height}`,
      {
        key: toHex(o.key),
      },
    )
  return cs
}

/**
 * A header the client would have to accept: > 2/3 of its own set signed it and that set is the
 * trusted one or was signed by > 1/3 of the trusted set (the same trust rule as `updateClient`).
 */
function checkTrustedHeader(
  counterparty: string,
  c: ClientState,
  headerBytes: Uint8Array,
  commitBytes: Uint8Array,
  validators: ValidatorEntry[],
): { header: Header; hash: Uint8Array } {
  const { header, commit, hash } = decodeCertified(counterparty, headerBytes, commitBytes)
  const set = toSet(validators.length > 0 ? validators : c.validators)
  checkSelfCertified(counterparty, header, commit, hash, set)
  const trustedSet = toSet(c.validators)
  if (!equalBytes(header.validatorsHash, validatorsHashOf(trustedSet))) {
    try {
      verifyCommitTrusting(commit, set, trustedSet, verifierFor(counterparty))
    } catch (e) {
      throw new MeshError(
        'INSUFFICIENT_TRUST',
        `not enough of the trusted set signed: ${(e as Error).message}`,
      )
    }
  }
  return { header, hash }
}

/**
 * Misbehaviour (ICS-07 style): the counterparty's validators signed two headers that cannot both
 * be honest — same height, different blocks (a fork), or heights and times that go in opposite
 * directions (BFT time must increase). Each header must carry a commit this client would accept.
 * Returns the height to freeze at; the caller freezes the client. Expiry does not matter here:
 * freezing only ever removes trust.
 */
export function checkMisbehaviour(
  store: KVStore,
  o: MisbehaviourPayload,
): { height: bigint; kind: 'fork' | 'time' } {
  const c = requireClient(store, o.counterparty) // UNKNOWN_CLIENT, CLIENT_FROZEN
  const a = checkTrustedHeader(o.counterparty, c, o.header1, o.commit1, o.validators1)
  // The other side: a second certified header, or what this client trusts already.
  let b: { height: bigint; timeMs: bigint; hash: Uint8Array }
  const conflicts: { height: bigint; timeMs: bigint; hash: Uint8Array }[] = []
  if (o.header2.length > 0) {
    const h2 = checkTrustedHeader(o.counterparty, c, o.header2, o.commit2, o.validators2)
    conflicts.push({ height: h2.header.height, timeMs: h2.header.timeMs, hash: h2.hash })
  } else {
    const same = getConsensusState(store, o.counterparty, a.header.height)
    if (same !== undefined)
      conflicts.push({ height: a.header.height, timeMs: same.timeMs, hash: same.blockHash })
    const latest = getConsensusState(store, o.counterparty, c.latestHeight)!
    conflicts.push({ height: c.latestHeight, timeMs: latest.timeMs, hash: c.latestHash })
  }
  for (b of conflicts) {
    if (b.height === a.header.height) {
      if (!equalBytes(b.hash, a.hash)) return { height: a.header.height, kind: 'fork' }
      continue
    }
    const [lo, hi] = b.height < a.header.height ? [b, a.header] : [a.header, b]
    if (hi.timeMs <= lo.timeMs) return { height: a.header.height, kind: 'time' }
  }
  throw new MeshError('MISBEHAVIOUR_INVALID', 'the headers do not conflict')
}
