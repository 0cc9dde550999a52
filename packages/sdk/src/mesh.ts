/** Reading cross-network (mesh) packets and checking their proofs client-side. */
import { mesh } from '@pulsemesh/app'
import { decodeStateProof, fromHex, verifyStateProof } from '@pulsemesh/core'
import { ProofError, type ValidatorJson, verifyCertifiedHeader } from './verify.ts'

export type MeshPacket = mesh.Packet
export const decodeMeshPacket = (hex: string): MeshPacket => mesh.decodePacket(fromHex(hex))
/** `{ success, error }` of an acknowledgement's bytes (hex). */
export const decodeMeshAck = (hex: string): mesh.Ack => mesh.decodeAck(fromHex(hex))
/** State key of a packet commitment on its source network (served by GET .../mesh/proof/:key). */
export const meshPacketKey = (source: string, dest: string, seq: bigint): Uint8Array =>
  mesh.MESH_KEYS.packet(source, dest, seq)
export const meshAckKey = (source: string, dest: string, seq: bigint): Uint8Array =>
  mesh.MESH_KEYS.ack(source, dest, seq)

export interface MeshProofResponse {
  height: string
  header: string
  commit: string
  validators: ValidatorJson[]
  value: string | null
  proof: string
}
/** Verifies a mesh state proof (value or absence of `key`) against a certified header's state root. */
export function verifyMeshProof(
  key: Uint8Array,
  r: MeshProofResponse,
): { height: bigint; value: Uint8Array | null } {
  const header = verifyCertifiedHeader(r.header, r.commit, r.validators)
  const value = r.value === null ? null : fromHex(r.value)
  if (!verifyStateProof(header.stateRoot, key, value, decodeStateProof(fromHex(r.proof))))
    throw new ProofError('mesh state proof does not verify against the certified state root')
  return { height: header.height, value }
}
