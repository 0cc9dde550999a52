/** SSZ payloads of the mesh tx kinds and their decoded shapes. */
import { fromUtf8, isValidNetworkId, ssz, utf8 } from '@pulsemesh/core'
import type { ValidatorEntry } from './client.ts'
import { ValidatorListSSZ } from './state.ts'

const { ContainerType, ByteListType } = ssz
const HeaderBytes = new ByteListType(1024)
const CommitBytes = new ByteListType(12 * 1024)
const PacketBytes = new ByteListType(512)
const ProofBytes = new ByteListType(12 * 1024)
const Policy = new ByteListType(256)

export const PROFILES = ['bft', 'poe'] as const
export type ConsensusProfile = (typeof PROFILES)[number]

export const NetworkCreateSSZ = new ContainerType({
  id: ssz.NetworkIdSSZ,
  profile: ssz.Uint8,
  validators: ValidatorListSSZ,
  nativeAsset: ssz.AssetIdSSZ,
  blockIntervalMs: ssz.Uint32,
  compliancePolicy: Policy,
})
export const NetworkUpdateSSZ = new ContainerType({
  id: ssz.NetworkIdSSZ,
  validators: ValidatorListSSZ,
  blockIntervalMs: ssz.Uint32,
  compliancePolicy: Policy,
})
export const NetworkRetireSSZ = new ContainerType({ id: ssz.NetworkIdSSZ })
export const ClientCreateSSZ = new ContainerType({
  counterparty: ssz.NetworkIdSSZ,
  header: HeaderBytes,
  commit: CommitBytes,
  validators: ValidatorListSSZ,
  trustPeriodMs: ssz.Uint64,
})
export const ClientUpdateSSZ = new ContainerType({
  counterparty: ssz.NetworkIdSSZ,
  header: HeaderBytes,
  commit: CommitBytes,
  validators: ValidatorListSSZ,
})
/**
 * Evidence that the counterparty's validators certified two conflicting headers: header 2 empty
 * means "conflicts with what this client already trusts" (a stored header at the same height with
 * another hash, or a time at or before the latest trusted header's at a greater height).
 */
export const MisbehaviourSSZ = new ContainerType({
  counterparty: ssz.NetworkIdSSZ,
  header1: HeaderBytes,
  commit1: CommitBytes,
  validators1: ValidatorListSSZ,
  header2: HeaderBytes,
  commit2: CommitBytes,
  validators2: ValidatorListSSZ,
})
/** Tenant: its own registry record on the hub, proved against its light client of the hub. */
export const RegistrySyncSSZ = new ContainerType({
  record: new ByteListType(48 * 1024),
  proofHeight: ssz.Uint64,
  proof: ProofBytes,
})
export const MeshTransferSSZ = new ContainerType({
  destNetwork: ssz.NetworkIdSSZ,
  asset: ssz.AssetIdSSZ,
  amount: ssz.Uint128,
  receiver: ssz.Bytes20,
  timeoutHeight: ssz.Uint64,
  timeoutTimeMs: ssz.Uint64,
})
export const RecvPacketSSZ = new ContainerType({
  packet: PacketBytes,
  proofHeight: ssz.Uint64,
  proof: ProofBytes,
})
export const AcknowledgeSSZ = new ContainerType({
  packet: PacketBytes,
  ack: new ByteListType(128),
  proofHeight: ssz.Uint64,
  proof: ProofBytes,
})
export const TimeoutSSZ = RecvPacketSSZ

export interface NetworkCreatePayload {
  id: string
  profile: ConsensusProfile
  validators: ValidatorEntry[]
  nativeAsset: string
  blockIntervalMs: number
  compliancePolicy: string
}
export interface NetworkUpdatePayload {
  id: string
  validators: ValidatorEntry[]
  blockIntervalMs: number
  compliancePolicy: string
}
export interface ClientCreatePayload {
  counterparty: string
  header: Uint8Array
  commit: Uint8Array
  validators: ValidatorEntry[]
  trustPeriodMs: bigint
}
export interface ClientUpdatePayload {
  counterparty: string
  header: Uint8Array
  commit: Uint8Array
  validators: ValidatorEntry[]
}
export interface MisbehaviourPayload {
  counterparty: string
  header1: Uint8Array
  commit1: Uint8Array
  /** The set that signed header 1 (empty: the client's trusted set). */
  validators1: ValidatorEntry[]
  /** Empty: header 1 conflicts with this client's own trusted headers. */
  header2: Uint8Array
  commit2: Uint8Array
  validators2: ValidatorEntry[]
}
export interface RegistrySyncPayload {
  /** NetworkRecordSSZ bytes exactly as stored on the hub under MESH_KEYS.network(this network). */
  record: Uint8Array
  proofHeight: bigint
  proof: Uint8Array
}
export interface MeshTransferPayload {
  destNetwork: string
  asset: string
  amount: bigint
  receiver: Uint8Array
  timeoutHeight: bigint
  timeoutTimeMs: bigint
}
export interface ProvenPacketPayload {
  packet: Uint8Array
  proofHeight: bigint
  proof: Uint8Array
}
export interface AcknowledgePayload extends ProvenPacketPayload {
  ack: Uint8Array
}

/** Network ids are checked on decode: a bad one is MALFORMED_PAYLOAD. */
export function networkIdOf(b: Uint8Array): string {
  const s = fromUtf8(b)
  if (!isValidNetworkId(s)) throw new Error(`invalid network id ${JSON.stringify(s)}`)
  return s
}
export function profileOf(n: number): ConsensusProfile {
  const p = PROFILES[n]
  if (p === undefined) throw new Error(`unknown consensus profile ${n}`)
  return p
}
export { utf8 }
