/**
 * Client-side verification of what a node returns: a commit certificate against the validator set,
 * the header it certifies, then a tx (Merkle inclusion in the header's tx root) or an account
 * balance (state proof against the header's state root). Nothing here trusts the node.
 */
import {
  blockHash,
  decodeCommit,
  decodeHeader,
  decodeMerkleProof,
  decodeStateProof,
  fromHex,
  type Header,
  PulseError,
  toHex,
  verify,
  verifyMerkleProof,
  verifyStateProof,
  voteSignBytes,
} from '@pulsemesh/core'
import { verifyCommit } from '@pulsemesh/consensus/commit.ts'
import { validatorSetOf } from '@pulsemesh/app'

export interface ValidatorJson {
  publicKey: string
  power: string
}

export class ProofError extends PulseError<'PROOF_INVALID'> {
  constructor(message: string) {
    super('PROOF_INVALID', message)
  }
}

/** Checks that > 2/3 of `validators` signed `headerHex`; returns the decoded header. */
export function verifyCertifiedHeader(
  headerHex: string,
  commitHex: string,
  validators: ValidatorJson[],
): Header {
  const header = decodeHeader(fromHex(headerHex))
  const commit = decodeCommit(fromHex(commitHex))
  const set = validatorSetOf(
    validators.map((v) => ({ publicKey: fromHex(v.publicKey), power: BigInt(v.power) })),
  )
  try {
    verifyCommit(
      commit,
      set,
      {
        voteSignBytes: (v) => voteSignBytes(header.networkId, v),
        verify: (pk, msg, sig) => verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
      },
      { height: header.height, blockHash: blockHash(header) },
    )
  } catch (e) {
    throw new ProofError(`commit certificate does not verify: ${(e as Error).message}`)
  }
  return header
}

export interface TxProofResponse {
  tx: string
  proof: string
  header: string
  commit: string
  validators: ValidatorJson[]
}
/** Verifies that a tx is in a block certified by the validators. */
export function verifyTxProof(r: TxProofResponse): { height: bigint; header: Header } {
  const header = verifyCertifiedHeader(r.header, r.commit, r.validators)
  const proof = decodeMerkleProof(fromHex(r.proof))
  // An RFC 6962 root does not commit to the leaf count: pin it to the header's.
  if (proof.total !== header.txCount)
    throw new ProofError('proof leaf count differs from the header tx count')
  if (!verifyMerkleProof(header.txRoot, fromHex(r.tx), proof))
    throw new ProofError('tx is not under the header tx root')
  return { height: header.height, header }
}

export interface AccountProofResponse {
  key: string
  value: string | null
  stateRoot: string
  proof: string
  header: string | null
  commit: string
  validators: ValidatorJson[]
}
/** Verifies a state value (or its absence) against a certified header's state root. */
export function verifyAccountProof(r: AccountProofResponse): { height: bigint; value: Uint8Array | null } {
  if (r.header === null) throw new ProofError('no block yet: nothing certifies the genesis state')
  const header = verifyCertifiedHeader(r.header, r.commit, r.validators)
  if (toHex(header.stateRoot) !== r.stateRoot)
    throw new ProofError('state root differs from the certified header')
  const value = r.value === null ? null : fromHex(r.value)
  if (!verifyStateProof(header.stateRoot, fromHex(r.key), value, decodeStateProof(fromHex(r.proof)))) {
    throw new ProofError('state proof does not verify against the state root')
  }
  return { height: header.height, value }
}
