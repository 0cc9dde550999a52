/**
 * Mesh state layout (module prefix 0x07), SSZ schemas and the module's typed errors.
 *
 * Keys that another network must prove (packet commitments on the source, receipts and
 * acknowledgements on the destination) are computable from the packet alone, so a relayer
 * and a verifier agree on them without asking anybody.
 */
import { concatBytes, sha256, ssz, u64be, utf8 } from '@pulsemesh/core'
import { TxError, type TxErrorCode } from '../../errors.ts'

export const MESH_PREFIX = 0x07

export const MESH_ERROR_CODES = [
  'INVALID_NETWORK',
  'NETWORK_EXISTS',
  'UNKNOWN_NETWORK',
  'NOT_NETWORK_OWNER',
  'NETWORK_RETIRED',
  'NOT_AUTHORIZED',
  'CLIENT_EXISTS',
  'UNKNOWN_CLIENT',
  'CLIENT_EXPIRED',
  'HEADER_INVALID',
  'HEADER_NOT_NEWER',
  'VALIDATORS_MISMATCH',
  'COMMIT_INVALID',
  'INSUFFICIENT_TRUST',
  'UNKNOWN_HEADER',
  'HEADER_EXPIRED',
  'PROOF_INVALID',
  'WRONG_DESTINATION',
  'INVALID_PACKET',
  'PACKET_ALREADY_RECEIVED',
  'PACKET_TIMED_OUT',
  'PACKET_NOT_TIMED_OUT',
  'UNKNOWN_PACKET',
  'CLIENT_FROZEN',
  'MISBEHAVIOUR_INVALID',
  'REGISTRY_NOT_NEWER',
] as const
export type MeshErrorCode = (typeof MESH_ERROR_CODES)[number]

/** A mesh tx failure: the tx fails (fee kept), every other write is discarded. */
export class MeshError extends TxError {
  constructor(code: MeshErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code as unknown as TxErrorCode, message, meta)
    this.name = 'MeshError'
  }
}

const { ContainerType, ListCompositeType, ByteListType } = ssz

export const ValidatorEntrySSZ = new ContainerType({ publicKey: ssz.Bytes32, power: ssz.Uint64 })
export const ValidatorListSSZ = new ListCompositeType(ValidatorEntrySSZ, 1024)
const Text = (max: number) => new ByteListType(max)

/** Registry record of a tenant network (hub only). */
export const NetworkRecordSSZ = new ContainerType({
  owner: ssz.Bytes20,
  /** 0 = bft, 1 = poe (Proof of Emotion). */
  profile: ssz.Uint8,
  validators: ValidatorListSSZ,
  nativeAsset: ssz.AssetIdSSZ,
  blockIntervalMs: ssz.Uint32,
  /** Opaque compliance policy (placeholder: a policy document id or hash). */
  compliancePolicy: Text(256),
  /** 0 = active, 1 = retired. */
  status: ssz.Uint8,
  createdAt: ssz.Uint64,
  updatedAt: ssz.Uint64,
})

/** What a network trusts about a counterparty (one light client per counterparty network id). */
export const ClientStateSSZ = new ContainerType({
  latestHeight: ssz.Uint64,
  latestHash: ssz.Bytes32,
  /** The set that signed the latest trusted header (its hash is that header's validatorsHash). */
  validators: ValidatorListSSZ,
  nextValidatorsHash: ssz.Bytes32,
  trustPeriodMs: ssz.Uint64,
  creator: ssz.Bytes20,
})
/** A verified header of the counterparty: what proofs are checked against. */
export const ConsensusStateSSZ = new ContainerType({
  timeMs: ssz.Uint64,
  stateRoot: ssz.Bytes32,
  blockHash: ssz.Bytes32,
})

export const PacketSSZ = new ContainerType({
  sequence: ssz.Uint64,
  sourceNetwork: ssz.NetworkIdSSZ,
  destNetwork: ssz.NetworkIdSSZ,
  /** Denomination trace as known on the source (`emo`, `transfer/hub/emo`). */
  denom: ssz.AssetIdSSZ,
  amount: ssz.Uint128,
  sender: ssz.Bytes20,
  receiver: ssz.Bytes20,
  /** The packet is refused by the destination at or after this height (0 = none). */
  timeoutHeight: ssz.Uint64,
  /** ... or at or after this BFT time in ms (0 = none). */
  timeoutTimeMs: ssz.Uint64,
  /**
   * Denomination metadata: the decimals of `denom` on the source (its bank asset record), so the
   * destination's voucher displays like the original (ICS-20 leaves metadata out; we carry it).
   */
  decimals: ssz.Uint8,
})
export const AckSSZ = new ContainerType({ success: ssz.Uint8, error: Text(64) })

export interface Packet {
  sequence: bigint
  sourceNetwork: string
  destNetwork: string
  denom: string
  amount: bigint
  sender: Uint8Array
  receiver: Uint8Array
  timeoutHeight: bigint
  timeoutTimeMs: bigint
  /** Decimals of `denom` on the source network (denomination metadata). */
  decimals: number
}
export interface Ack {
  success: boolean
  error: string
}

export function encodePacket(p: Packet): Uint8Array {
  return PacketSSZ.serialize({
    ...p,
    sourceNetwork: utf8(p.sourceNetwork),
    destNetwork: utf8(p.destNetwork),
    denom: utf8(p.denom),
  })
}
export function decodePacket(b: Uint8Array): Packet {
  const v = PacketSSZ.deserialize(b)
  const dec = new TextDecoder('utf-8', { fatal: true })
  return {
    ...v,
    sourceNetwork: dec.decode(v.sourceNetwork),
    destNetwork: dec.decode(v.destNetwork),
    denom: dec.decode(v.denom),
  }
}
export function encodeAck(a: Ack): Uint8Array {
  return AckSSZ.serialize({ success: a.success ? 1 : 0, error: utf8(a.error) })
}
export function decodeAck(b: Uint8Array): Ack {
  const v = AckSSZ.deserialize(b)
  return { success: v.success === 1, error: new TextDecoder().decode(v.error) }
}

// ------------------------------------------------------------------------------------ keys

const k = (sub: number, ...rest: Uint8Array[]) => concatBytes(new Uint8Array([MESH_PREFIX, sub]), ...rest)
/** A length-prefixed id, so `a` + `bc` and `ab` + `c` never collide. */
const id = (s: string) => {
  const b = utf8(s)
  return concatBytes(new Uint8Array([b.length]), b)
}

export const MESH_KEYS = {
  network: (networkId: string) => k(0x01, utf8(networkId)),
  networkPrefix: () => k(0x01),
  /** Hub: the validator set a network was created with (its genesis set; updates change the record). */
  networkGenesisValidators: (networkId: string) => k(0x04, utf8(networkId)),
  /** Tenant following a registry: the last registry record of itself proved from the hub. */
  registryMirror: () => k(0x30),
  /** Tenant following a registry: the validator set its registry record currently names. */
  registrySet: () => k(0x31),
  /** Tenant following a registry: validator changes to report at the end of this block. */
  registryPendingUpdates: () => k(0x32),
  client: (counterparty: string) => k(0x20, utf8(counterparty)),
  clientPrefix: () => k(0x20),
  consensusState: (counterparty: string, height: bigint) => k(0x21, id(counterparty), u64be(height)),
  /** Present once misbehaviour of the counterparty was proved: the height it was proved at. */
  frozen: (counterparty: string) => k(0x24, utf8(counterparty)),
  /** On the source: the packet itself, until acknowledged or timed out. */
  packet: (source: string, dest: string, seq: bigint) => k(0x10, id(source), id(dest), u64be(seq)),
  packetPrefix: (source: string, dest: string) => k(0x10, id(source), id(dest)),
  /** On the destination: written once when a packet is received (no double delivery). */
  receipt: (source: string, dest: string, seq: bigint) => k(0x11, id(source), id(dest), u64be(seq)),
  /** On the destination: the acknowledgement bytes, proved back to the source. */
  ack: (source: string, dest: string, seq: bigint) => k(0x12, id(source), id(dest), u64be(seq)),
  nextSequence: (source: string, dest: string) => k(0x13, id(source), id(dest)),
  /** Lowest sequence that may still be pending, per (source, dest): where a pending scan starts. */
  lowPending: (source: string, dest: string) => k(0x14, id(source), id(dest)),
}

/** The bank account that holds native assets escrowed for transfers to `counterparty`. */
export function escrowAccount(counterparty: string): Uint8Array {
  return sha256(utf8(`mesh/escrow/${counterparty}`)).subarray(0, 20)
}

/** Voucher denomination for `denom` arriving from `source`: `transfer/<source>/<denom>`. */
export function voucherDenom(source: string, denom: string): string {
  return `transfer/${source}/${denom}`
}
