/**
 * The mesh module (prefix 0x07, tx kinds 0x0701..0x0709): the hub's registry of tenant networks,
 * on-chain light clients of counterparty networks, and ICS-20 style cross-network transfers.
 *
 * Transfer semantics (ICS-20 with network ids in place of port/channel):
 *  - sending a native asset escrows it in the bank account `escrowAccount(dest)`; the destination
 *    mints the voucher `transfer/<source>/<denom>`;
 *  - sending a voucher `transfer/<dest>/<denom>` back to `dest` burns it; the destination then
 *    releases `<denom>` from its escrow for the source;
 *  - the packet is kept in the source state until an acknowledgement (proved from the
 *    destination's state) or a timeout (proved by the ABSENCE of a receipt) removes it; an error
 *    acknowledgement or a timeout refunds the sender. Receipts make delivery at-most-once.
 */
import { equalBytes, fromUtf8, isValidAssetId, isValidNetworkId, toHex, utf8 } from '@pulsemesh/core'
import { validatorSetOf } from '../../validators.ts'
import { formatAddress } from '../../accounts.ts'
import { TxError } from '../../errors.ts'
import type { ConsensusHooks, ValidatorUpdate } from '../../executor.ts'
import type { AppModule, TxContext, TxKind } from '../../module.ts'
import { Overlay, type KVStore } from '../../state/kv.ts'
import {
  burn,
  getAsset,
  getBalance,
  getSupply,
  mint,
  NO_ISSUER,
  putAsset,
  requireAsset,
  transfer,
} from '../bank/ledger.ts'
import {
  checkMisbehaviour,
  createClient,
  frozenAt,
  getClient,
  getConsensusState,
  updateClient,
  type ValidatorEntry,
  validatorsHashOf,
  verifyMembership,
} from './client.ts'
import {
  type AcknowledgePayload,
  AcknowledgeSSZ,
  type ClientCreatePayload,
  ClientCreateSSZ,
  type ClientUpdatePayload,
  ClientUpdateSSZ,
  type NetworkCreatePayload,
  NetworkCreateSSZ,
  type NetworkUpdatePayload,
  NetworkUpdateSSZ,
  NetworkRetireSSZ,
  networkIdOf,
  PROFILES,
  profileOf,
  type ProvenPacketPayload,
  RecvPacketSSZ,
  TimeoutSSZ,
  type MeshTransferPayload,
  MeshTransferSSZ,
  type MisbehaviourPayload,
  MisbehaviourSSZ,
  type RegistrySyncPayload,
  RegistrySyncSSZ,
} from './payloads.ts'
import {
  decodeAck,
  decodePacket,
  encodeAck,
  encodePacket,
  escrowAccount,
  MESH_KEYS,
  MESH_PREFIX,
  MeshError,
  NetworkRecordSSZ,
  type Packet,
  ValidatorListSSZ,
  voucherDenom,
} from './state.ts'

export * from './client.ts'
export * from './payloads.ts'
export * from './state.ts'

export const MESH_KIND = {
  networkCreate: 0x0701,
  networkUpdate: 0x0702,
  networkRetire: 0x0703,
  clientCreate: 0x0704,
  clientUpdate: 0x0705,
  transfer: 0x0706,
  recvPacket: 0x0707,
  acknowledge: 0x0708,
  timeout: 0x0709,
  misbehaviour: 0x070a,
  registrySync: 0x070b,
} as const

// ------------------------------------------------------------------------ small state helpers

function getU64(store: KVStore, key: Uint8Array): bigint {
  const raw = store.get(key)
  return raw === undefined ? 0n : new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0)
}
function setU64(store: KVStore, key: Uint8Array, n: bigint): void {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  store.set(key, out)
}
const sub = (tag: number, s = '') => new Uint8Array([MESH_PREFIX, tag, ...utf8(s)])
/** Registry and client lists are kept as count + index entries (the state tree has no range scan). */
const LIST = {
  networkCount: () => sub(0x02),
  networkAt: (i: bigint) => new Uint8Array([MESH_PREFIX, 0x03, ...u64(i)]),
  clientCount: () => sub(0x22),
  clientAt: (i: bigint) => new Uint8Array([MESH_PREFIX, 0x23, ...u64(i)]),
  lowPending: MESH_KEYS.lowPending,
}
function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}
function append(store: KVStore, countKey: Uint8Array, at: (i: bigint) => Uint8Array, value: string): void {
  const n = getU64(store, countKey)
  store.set(at(n), utf8(value))
  setU64(store, countKey, n + 1n)
}
function list(store: KVStore, countKey: Uint8Array, at: (i: bigint) => Uint8Array, limit = 1000): string[] {
  const n = getU64(store, countKey)
  const out: string[] = []
  for (let i = 0n; i < n && out.length < limit; i++) out.push(fromUtf8(store.get(at(i))!))
  return out
}

export interface NetworkRecord {
  id: string
  owner: Uint8Array
  profile: (typeof PROFILES)[number]
  validators: ValidatorEntry[]
  nativeAsset: string
  blockIntervalMs: number
  compliancePolicy: string
  status: 'active' | 'retired'
  createdAt: bigint
  updatedAt: bigint
}
/** The set a registered network was created with: its genesis set (records older than this key: the record's). */
export function genesisValidatorsOf(store: KVStore, r: NetworkRecord): ValidatorEntry[] {
  const raw = store.get(MESH_KEYS.networkGenesisValidators(r.id))
  return raw === undefined ? r.validators : ValidatorListSSZ.deserialize(raw)
}
export function getNetwork(store: KVStore, id: string): NetworkRecord | undefined {
  const raw = store.get(MESH_KEYS.network(id))
  return raw === undefined ? undefined : decodeNetworkRecord(id, raw)
}
/** Decodes the registry record of `id` (NetworkRecordSSZ bytes as stored on the hub). */
export function decodeNetworkRecord(id: string, raw: Uint8Array): NetworkRecord {
  const v = NetworkRecordSSZ.deserialize(raw)
  return {
    id,
    owner: v.owner,
    profile: profileOf(v.profile),
    validators: v.validators,
    nativeAsset: fromUtf8(v.nativeAsset),
    blockIntervalMs: v.blockIntervalMs,
    compliancePolicy: fromUtf8(v.compliancePolicy),
    status: v.status === 1 ? 'retired' : 'active',
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
  }
}
function putNetwork(store: KVStore, r: NetworkRecord): void {
  store.set(
    MESH_KEYS.network(r.id),
    NetworkRecordSSZ.serialize({
      owner: r.owner,
      profile: PROFILES.indexOf(r.profile),
      validators: r.validators,
      nativeAsset: utf8(r.nativeAsset),
      blockIntervalMs: r.blockIntervalMs,
      compliancePolicy: utf8(r.compliancePolicy),
      status: r.status === 'retired' ? 1 : 0,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    }),
  )
}
export function listNetworks(store: KVStore): NetworkRecord[] {
  return list(store, LIST.networkCount(), LIST.networkAt).map((id) => getNetwork(store, id)!)
}

function checkValidators(vs: ValidatorEntry[]): void {
  if (vs.length === 0) throw new MeshError('INVALID_NETWORK', 'a network needs at least one validator')
  const seen = new Set<string>()
  for (const v of vs) {
    if (v.power <= 0n) throw new MeshError('INVALID_NETWORK', 'validator power must be positive')
    const h = toHex(v.publicKey)
    if (seen.has(h)) throw new MeshError('INVALID_NETWORK', 'duplicate validator key')
    seen.add(h)
  }
}
function requireOwnedNetwork(store: KVStore, id: string, sender: Uint8Array): NetworkRecord {
  const r = getNetwork(store, id)
  if (r === undefined) throw new MeshError('UNKNOWN_NETWORK', `no network ${id} in the registry`)
  if (toHex(r.owner) !== toHex(sender))
    throw new MeshError('NOT_NETWORK_OWNER', `only the owner may change ${id}`)
  if (r.status === 'retired') throw new MeshError('NETWORK_RETIRED', `${id} is retired`)
  return r
}

const ev = (type: string, attrs: Record<string, string>) => ({
  type,
  attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })),
})

// ------------------------------------------------------------------------ packet bookkeeping

export function getPacket(store: KVStore, src: string, dst: string, seq: bigint): Uint8Array | undefined {
  return store.get(MESH_KEYS.packet(src, dst, seq))
}
/** Pending (unacknowledged, not timed out) packets from `src` to `dst`, oldest first. */
export function pendingPackets(store: KVStore, src: string, dst: string, limit = 100): Packet[] {
  const next = getU64(store, MESH_KEYS.nextSequence(src, dst))
  const out: Packet[] = []
  for (let s = getU64(store, LIST.lowPending(src, dst)) || 1n; s < next && out.length < limit; s++) {
    const raw = getPacket(store, src, dst, s)
    if (raw !== undefined) out.push(decodePacket(raw))
  }
  return out
}
function deletePacket(store: KVStore, p: Packet): void {
  store.delete(MESH_KEYS.packet(p.sourceNetwork, p.destNetwork, p.sequence))
  // Advance the scan start past packets that are gone (amortised O(1) per packet).
  const lowKey = LIST.lowPending(p.sourceNetwork, p.destNetwork)
  const next = getU64(store, MESH_KEYS.nextSequence(p.sourceNetwork, p.destNetwork))
  let low = getU64(store, lowKey) || 1n
  while (low < next && getPacket(store, p.sourceNetwork, p.destNetwork, low) === undefined) low++
  setU64(store, lowKey, low)
}

/** Is `denom` (as known on this network) a voucher that came from `counterparty`? */
const isVoucherFrom = (denom: string, counterparty: string) => denom.startsWith(`transfer/${counterparty}/`)

/** Gives the sender back what `send` took (error acknowledgement or timeout). */
function refund(store: KVStore, p: Packet): void {
  if (isVoucherFrom(p.denom, p.destNetwork)) mint(store, p.sender, p.denom, p.amount)
  else transfer(store, escrowAccount(p.destNetwork), p.sender, p.denom, p.amount)
}

function decodePacketOrFail(b: Uint8Array): Packet {
  try {
    return decodePacket(b)
  } catch (e) {
    throw new MeshError('INVALID_PACKET', `undecodable packet: ${(e as Error).message}`)
  }
}

function packetEvent(type: string, p: Packet, extra: Record<string, string> = {}) {
  return ev(type, {
    sequence: p.sequence.toString(),
    source: p.sourceNetwork,
    dest: p.destNetwork,
    denom: p.denom,
    amount: p.amount.toString(),
    sender: toHex(p.sender),
    receiver: toHex(p.receiver),
    ...extra,
  })
}

// ------------------------------------------------------------------------ tx kinds

const networkCreateKind: TxKind<NetworkCreatePayload> = {
  kind: MESH_KIND.networkCreate,
  name: 'mesh/network-create',
  decode: (b) => {
    const v = NetworkCreateSSZ.deserialize(b)
    return {
      id: networkIdOf(v.id),
      profile: profileOf(v.profile),
      validators: v.validators,
      nativeAsset: fromUtf8(v.nativeAsset),
      blockIntervalMs: v.blockIntervalMs,
      compliancePolicy: fromUtf8(v.compliancePolicy),
    }
  },
  encode: (p) =>
    NetworkCreateSSZ.serialize({
      id: utf8(p.id),
      profile: PROFILES.indexOf(p.profile),
      validators: p.validators,
      nativeAsset: utf8(p.nativeAsset),
      blockIntervalMs: p.blockIntervalMs,
      compliancePolicy: utf8(p.compliancePolicy),
    }),
  execute(store, ctx, p) {
    if (p.id === ctx.networkId) throw new MeshError('NETWORK_EXISTS', `${p.id} is this network`)
    if (getNetwork(store, p.id) !== undefined) throw new MeshError('NETWORK_EXISTS', `network ${p.id} exists`)
    if (!isValidAssetId(p.nativeAsset) || p.nativeAsset.includes('/'))
      throw new MeshError('INVALID_NETWORK', `invalid native asset ${p.nativeAsset}`)
    if (p.blockIntervalMs < 50 || p.blockIntervalMs > 600_000)
      throw new MeshError('INVALID_NETWORK', 'block interval must be within 50 ms .. 10 min')
    checkValidators(p.validators)
    putNetwork(store, {
      ...p,
      owner: ctx.sender,
      status: 'active',
      createdAt: ctx.height,
      updatedAt: ctx.height,
    })
    append(store, LIST.networkCount(), LIST.networkAt, p.id)
    store.set(MESH_KEYS.networkGenesisValidators(p.id), ValidatorListSSZ.serialize(p.validators))
    ctx.emit(
      ev('mesh_network_created', {
        network: p.id,
        profile: p.profile,
        owner: formatAddress(ctx.sender, ctx.params.addressPrefix),
        native_asset: p.nativeAsset,
        block_interval_ms: String(p.blockIntervalMs),
        validators: String(p.validators.length),
      }),
    )
  },
}

const networkUpdateKind: TxKind<NetworkUpdatePayload> = {
  kind: MESH_KIND.networkUpdate,
  name: 'mesh/network-update',
  decode: (b) => {
    const v = NetworkUpdateSSZ.deserialize(b)
    return {
      id: networkIdOf(v.id),
      validators: v.validators,
      blockIntervalMs: v.blockIntervalMs,
      compliancePolicy: fromUtf8(v.compliancePolicy),
    }
  },
  encode: (p) =>
    NetworkUpdateSSZ.serialize({
      id: utf8(p.id),
      validators: p.validators,
      blockIntervalMs: p.blockIntervalMs,
      compliancePolicy: utf8(p.compliancePolicy),
    }),
  execute(store, ctx, p) {
    const r = requireOwnedNetwork(store, p.id, ctx.sender)
    if (p.blockIntervalMs < 50 || p.blockIntervalMs > 600_000)
      throw new MeshError('INVALID_NETWORK', 'block interval must be within 50 ms .. 10 min')
    checkValidators(p.validators)
    putNetwork(store, { ...r, ...p, updatedAt: ctx.height })
    ctx.emit(ev('mesh_network_updated', { network: p.id, block_interval_ms: String(p.blockIntervalMs) }))
  },
}

const networkRetireKind: TxKind<{ id: string }> = {
  kind: MESH_KIND.networkRetire,
  name: 'mesh/network-retire',
  decode: (b) => ({ id: networkIdOf(NetworkRetireSSZ.deserialize(b).id) }),
  encode: (p) => NetworkRetireSSZ.serialize({ id: utf8(p.id) }),
  execute(store, ctx, p) {
    const r = requireOwnedNetwork(store, p.id, ctx.sender)
    putNetwork(store, { ...r, status: 'retired', updatedAt: ctx.height })
    ctx.emit(ev('mesh_network_retired', { network: p.id }))
  },
}

export interface MeshModuleOptions {
  /**
   * The hub whose registry this network follows (a network started from a registry record). Set:
   * `registry sync` txs carrying this network's record proved from that hub apply its validator
   * set (at H+2, like staking) and status. Every validator of the network must set the same value.
   */
  registryHub?: string
  /**
   * Accounts allowed to create light clients (the trust roots). Empty: anyone may (development;
   * a client still only ever advances on verified commits, but its first header is trusted).
   */
  clientCreators?: Uint8Array[]
}

function clientCreateKind(o: MeshModuleOptions): TxKind<ClientCreatePayload> {
  const allowed = new Set((o.clientCreators ?? []).map(toHex))
  return {
    kind: MESH_KIND.clientCreate,
    name: 'mesh/client-create',
    decode: (b) => {
      const v = ClientCreateSSZ.deserialize(b)
      return { ...v, counterparty: networkIdOf(v.counterparty) }
    },
    encode: (p) => ClientCreateSSZ.serialize({ ...p, counterparty: utf8(p.counterparty) }),
    execute(store, ctx, p) {
      if (allowed.size > 0 && !allowed.has(toHex(ctx.sender)))
        throw new MeshError('NOT_AUTHORIZED', 'this account may not create light clients')
      if (p.counterparty === ctx.networkId)
        throw new MeshError('HEADER_INVALID', 'a network cannot track itself')
      const c = createClient(store, { ...p, creator: ctx.sender })
      // A network in this chain's registry may only be tracked from its registered validator set
      // (nobody can squat a registered name with validators of their own).
      const rec = getNetwork(store, p.counterparty)
      if (rec !== undefined) {
        if (rec.status === 'retired') throw new MeshError('NETWORK_RETIRED', `${p.counterparty} is retired`)
        if (
          !equalBytes(
            validatorsHashOf(validatorSetOf(rec.validators)),
            validatorsHashOf(validatorSetOf(p.validators)),
          )
        )
          throw new MeshError(
            'VALIDATORS_MISMATCH',
            `client validators differ from the registry record of ${p.counterparty}`,
          )
      }
      append(store, LIST.clientCount(), LIST.clientAt, p.counterparty)
      ctx.emit(ev('mesh_client_created', { counterparty: p.counterparty, height: c.latestHeight.toString() }))
    },
  }
}

const clientUpdateKind: TxKind<ClientUpdatePayload> = {
  kind: MESH_KIND.clientUpdate,
  name: 'mesh/client-update',
  decode: (b) => {
    const v = ClientUpdateSSZ.deserialize(b)
    return { ...v, counterparty: networkIdOf(v.counterparty) }
  },
  encode: (p) => ClientUpdateSSZ.serialize({ ...p, counterparty: utf8(p.counterparty) }),
  execute(store, ctx, p) {
    const { height } = updateClient(store, ctx.timeMs, p)
    ctx.emit(ev('mesh_client_updated', { counterparty: p.counterparty, height: height.toString() }))
  },
}

/**
 * Anyone may submit proof that the counterparty's validators signed conflicting headers; the
 * client freezes for good (no updates, no proofs: packets from it are refused with CLIENT_FROZEN).
 */
const misbehaviourKind: TxKind<MisbehaviourPayload> = {
  kind: MESH_KIND.misbehaviour,
  name: 'mesh/client-misbehaviour',
  decode: (b) => {
    const v = MisbehaviourSSZ.deserialize(b)
    return { ...v, counterparty: networkIdOf(v.counterparty) }
  },
  encode: (p) => MisbehaviourSSZ.serialize({ ...p, counterparty: utf8(p.counterparty) }),
  execute(store, ctx, p) {
    const m = checkMisbehaviour(store, p)
    setU64(store, MESH_KEYS.frozen(p.counterparty), m.height)
    ctx.emit(
      ev('mesh_client_frozen', {
        counterparty: p.counterparty,
        height: m.height.toString(),
        kind: m.kind,
        submitter: formatAddress(ctx.sender, ctx.params.addressPrefix),
      }),
    )
  },
}

function getValidatorList(store: KVStore, key: Uint8Array): ValidatorEntry[] | undefined {
  const raw = store.get(key)
  return raw === undefined ? undefined : ValidatorListSSZ.deserialize(raw)
}

/**
 * A network started from the hub's registry learns of `network update` / `retire` through its own
 * record, proved against its light client of the hub (anyone may carry it; relayers do). A newer
 * record (updatedAt) replaces the mirror; a changed validator set becomes validator updates at the
 * end of this block (effective at H+2): removed keys get power 0.
 */
function registrySyncKind(o: MeshModuleOptions): TxKind<RegistrySyncPayload> {
  return {
    kind: MESH_KIND.registrySync,
    name: 'mesh/registry-sync',
    decode: (b) => RegistrySyncSSZ.deserialize(b),
    encode: (p) => RegistrySyncSSZ.serialize(p),
    execute(store, ctx, p) {
      const hub = o.registryHub
      if (hub === undefined)
        throw new MeshError('NOT_AUTHORIZED', `${ctx.networkId} does not follow a registry`)
      verifyMembership(store, ctx.timeMs, {
        counterparty: hub,
        height: p.proofHeight,
        key: MESH_KEYS.network(ctx.networkId),
        value: p.record,
        proof: p.proof,
      })
      const r = decodeNetworkRecord(ctx.networkId, p.record)
      const prev = store.get(MESH_KEYS.registryMirror())
      if (prev !== undefined && decodeNetworkRecord(ctx.networkId, prev).updatedAt >= r.updatedAt)
        throw new MeshError(
          'REGISTRY_NOT_NEWER',
          `record of ${hub}@${r.updatedAt} is not newer than the mirror`,
        )
      store.set(MESH_KEYS.registryMirror(), p.record)
      let changes = 0
      if (r.status === 'active') {
        const cur = getValidatorList(store, MESH_KEYS.registrySet()) ?? []
        const next = new Map(r.validators.map((v) => [toHex(v.publicKey), v]))
        const updates: ValidatorEntry[] = []
        for (const v of cur)
          if (!next.has(toHex(v.publicKey))) updates.push({ publicKey: v.publicKey, power: 0n })
        const before = new Map(cur.map((v) => [toHex(v.publicKey), v.power]))
        for (const v of r.validators) if (before.get(toHex(v.publicKey)) !== v.power) updates.push(v)
        if (updates.length > 0) {
          const pending = getValidatorList(store, MESH_KEYS.registryPendingUpdates()) ?? []
          store.set(MESH_KEYS.registryPendingUpdates(), ValidatorListSSZ.serialize([...pending, ...updates]))
          store.set(MESH_KEYS.registrySet(), ValidatorListSSZ.serialize(r.validators))
        }
        changes = updates.length
      }
      ctx.emit(
        ev('mesh_registry_synced', {
          hub,
          updated_at: r.updatedAt.toString(),
          status: r.status,
          validators: String(r.validators.length),
          validator_changes: String(changes),
          block_interval_ms: String(r.blockIntervalMs),
        }),
      )
    },
  }
}

const transferKind: TxKind<MeshTransferPayload> = {
  kind: MESH_KIND.transfer,
  name: 'mesh/transfer',
  decode: (b) => {
    const v = MeshTransferSSZ.deserialize(b)
    return { ...v, destNetwork: networkIdOf(v.destNetwork), asset: fromUtf8(v.asset) }
  },
  encode: (p) => MeshTransferSSZ.serialize({ ...p, destNetwork: utf8(p.destNetwork), asset: utf8(p.asset) }),
  execute(store, ctx, p) {
    const src = ctx.networkId
    if (p.destNetwork === src) throw new MeshError('WRONG_DESTINATION', 'cannot transfer to this network')
    if (getClient(store, p.destNetwork) === undefined)
      throw new MeshError(
        'UNKNOWN_CLIENT',
        `no light client of ${p.destNetwork}: its acknowledgements could not be verified`,
      )
    const frozen = frozenAt(store, p.destNetwork)
    if (frozen !== undefined)
      throw new MeshError(
        'CLIENT_FROZEN',
        `the client of ${p.destNetwork} is frozen (misbehaviour at ${frozen})`,
      )
    if (p.timeoutHeight === 0n && p.timeoutTimeMs === 0n)
      throw new MeshError('INVALID_PACKET', 'a transfer needs a timeout height or time')
    if (p.amount <= 0n) throw new TxError('INVALID_AMOUNT', 'amount must be positive')
    const info = requireAsset(store, p.asset)
    if (isVoucherFrom(p.asset, p.destNetwork)) burn(store, ctx.sender, p.asset, p.amount)
    else transfer(store, ctx.sender, escrowAccount(p.destNetwork), p.asset, p.amount)
    const seqKey = MESH_KEYS.nextSequence(src, p.destNetwork)
    const seq = getU64(store, seqKey) || 1n
    setU64(store, seqKey, seq + 1n)
    const lowKey = LIST.lowPending(src, p.destNetwork)
    if (getU64(store, lowKey) === 0n) setU64(store, lowKey, seq)
    const packet: Packet = {
      sequence: seq,
      sourceNetwork: src,
      destNetwork: p.destNetwork,
      denom: p.asset,
      amount: p.amount,
      sender: ctx.sender,
      receiver: p.receiver,
      timeoutHeight: p.timeoutHeight,
      timeoutTimeMs: p.timeoutTimeMs,
      decimals: info.decimals,
    }
    const bytes = encodePacket(packet)
    store.set(MESH_KEYS.packet(src, p.destNetwork, seq), bytes)
    ctx.emit(packetEvent('mesh_send_packet', packet, { packet: toHex(bytes) }))
  },
}

function decodeProven(b: Uint8Array, ssz: typeof RecvPacketSSZ): ProvenPacketPayload {
  return ssz.deserialize(b)
}

/** What the destination does with a verified packet; an error here becomes an error ack. */
function deliver(store: KVStore, ctx: TxContext, p: Packet): string {
  const home = `transfer/${ctx.networkId}/`
  if (p.denom.startsWith(home)) {
    // Coming home: release the escrow kept for the source network.
    const base = p.denom.slice(home.length)
    transfer(store, escrowAccount(p.sourceNetwork), p.receiver, base, p.amount)
    return base
  }
  const voucher = voucherDenom(p.sourceNetwork, p.denom)
  if (!isValidAssetId(voucher)) throw new MeshError('INVALID_PACKET', `voucher id ${voucher} is too long`)
  if (p.decimals > 18) throw new MeshError('INVALID_PACKET', `denom metadata: ${p.decimals} decimals`)
  if (getAsset(store, voucher) === undefined)
    putAsset(store, { id: voucher, decimals: p.decimals, issuer: NO_ISSUER, maxSupply: 0n })
  mint(store, p.receiver, voucher, p.amount)
  return voucher
}

const recvPacketKind: TxKind<ProvenPacketPayload> = {
  kind: MESH_KIND.recvPacket,
  name: 'mesh/recv-packet',
  decode: (b) => decodeProven(b, RecvPacketSSZ),
  encode: (p) => RecvPacketSSZ.serialize(p),
  execute(store, ctx, pl) {
    const p = decodePacketOrFail(pl.packet)
    if (p.destNetwork !== ctx.networkId)
      throw new MeshError('WRONG_DESTINATION', `packet is for ${p.destNetwork}, this is ${ctx.networkId}`)
    if (!isValidNetworkId(p.sourceNetwork)) throw new MeshError('INVALID_PACKET', 'invalid source network')
    const receiptKey = MESH_KEYS.receipt(p.sourceNetwork, p.destNetwork, p.sequence)
    if (store.get(receiptKey) !== undefined)
      throw new MeshError(
        'PACKET_ALREADY_RECEIVED',
        `packet ${p.sourceNetwork}#${p.sequence} was already received`,
      )
    if (
      (p.timeoutHeight !== 0n && ctx.height >= p.timeoutHeight) ||
      (p.timeoutTimeMs !== 0n && ctx.timeMs >= p.timeoutTimeMs)
    )
      throw new MeshError('PACKET_TIMED_OUT', `packet ${p.sourceNetwork}#${p.sequence} timed out`)
    verifyMembership(store, ctx.timeMs, {
      counterparty: p.sourceNetwork,
      height: pl.proofHeight,
      key: MESH_KEYS.packet(p.sourceNetwork, p.destNetwork, p.sequence),
      value: pl.packet,
      proof: pl.proof,
    })
    store.set(receiptKey, new Uint8Array([1]))
    // The transfer itself runs in its own overlay: if it fails, the receipt and an error ack
    // still commit, so the source can refund (ICS-20 error acknowledgement).
    const app = new Overlay(store)
    let ack = { success: true, error: '' }
    let denom = ''
    try {
      denom = deliver(app, ctx, p)
      app.commit()
    } catch (e) {
      if (!(e instanceof TxError)) throw e
      app.discard()
      ack = { success: false, error: e.code }
    }
    store.set(MESH_KEYS.ack(p.sourceNetwork, p.destNetwork, p.sequence), encodeAck(ack))
    ctx.emit(
      packetEvent('mesh_recv_packet', p, {
        success: String(ack.success),
        error: ack.error,
        local_denom: denom,
      }),
    )
  },
}

/** Checks that `pl.packet` is still pending here (we sent it and nothing has settled it). */
function requirePending(store: KVStore, ctx: TxContext, raw: Uint8Array): Packet {
  const p = decodePacketOrFail(raw)
  if (p.sourceNetwork !== ctx.networkId)
    throw new MeshError('UNKNOWN_PACKET', 'packet was not sent by this network')
  const stored = getPacket(store, p.sourceNetwork, p.destNetwork, p.sequence)
  if (stored === undefined || toHex(stored) !== toHex(raw))
    throw new MeshError('UNKNOWN_PACKET', `packet #${p.sequence} to ${p.destNetwork} is not pending`)
  return p
}

const acknowledgeKind: TxKind<AcknowledgePayload> = {
  kind: MESH_KIND.acknowledge,
  name: 'mesh/acknowledge',
  decode: (b) => AcknowledgeSSZ.deserialize(b),
  encode: (p) => AcknowledgeSSZ.serialize(p),
  execute(store, ctx, pl) {
    const p = requirePending(store, ctx, pl.packet)
    let ack: { success: boolean; error: string }
    try {
      ack = decodeAck(pl.ack)
    } catch {
      throw new MeshError('INVALID_PACKET', 'undecodable acknowledgement')
    }
    verifyMembership(store, ctx.timeMs, {
      counterparty: p.destNetwork,
      height: pl.proofHeight,
      key: MESH_KEYS.ack(p.sourceNetwork, p.destNetwork, p.sequence),
      value: pl.ack,
      proof: pl.proof,
    })
    deletePacket(store, p)
    if (!ack.success) refund(store, p)
    ctx.emit(packetEvent('mesh_acknowledge_packet', p, { success: String(ack.success), error: ack.error }))
  },
}

const timeoutKind: TxKind<ProvenPacketPayload> = {
  kind: MESH_KIND.timeout,
  name: 'mesh/timeout',
  decode: (b) => decodeProven(b, TimeoutSSZ),
  encode: (p) => TimeoutSSZ.serialize(p),
  execute(store, ctx, pl) {
    const p = requirePending(store, ctx, pl.packet)
    const cs = getConsensusState(store, p.destNetwork, pl.proofHeight)
    const due =
      (p.timeoutHeight !== 0n && pl.proofHeight >= p.timeoutHeight) ||
      (p.timeoutTimeMs !== 0n && cs !== undefined && cs.timeMs >= p.timeoutTimeMs)
    if (cs !== undefined && !due)
      throw new MeshError(
        'PACKET_NOT_TIMED_OUT',
        `packet #${p.sequence} has not timed out at ${p.destNetwork}@${pl.proofHeight}`,
      )
    // Absence of the receipt at a height at or past the timeout: it can never be received.
    verifyMembership(store, ctx.timeMs, {
      counterparty: p.destNetwork,
      height: pl.proofHeight,
      key: MESH_KEYS.receipt(p.sourceNetwork, p.destNetwork, p.sequence),
      value: null,
      proof: pl.proof,
    })
    deletePacket(store, p)
    refund(store, p)
    ctx.emit(packetEvent('mesh_timeout_packet', p))
  },
}

function clientView(store: KVStore, id: string) {
  const c = getClient(store, id)
  if (c === undefined) return null
  const cs = getConsensusState(store, id, c.latestHeight)!
  const frozen = frozenAt(store, id)
  return {
    counterparty: id,
    status: frozen === undefined ? 'active' : 'frozen',
    frozenAt: frozen === undefined ? null : frozen.toString(),
    latestHeight: c.latestHeight.toString(),
    latestHash: toHex(c.latestHash),
    latestTimeMs: cs.timeMs.toString(),
    stateRoot: toHex(cs.stateRoot),
    trustPeriodMs: c.trustPeriodMs.toString(),
    validators: c.validators.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power.toString() })),
  }
}
function networkView(r: NetworkRecord) {
  return {
    id: r.id,
    owner: toHex(r.owner),
    profile: r.profile,
    validators: r.validators.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power.toString() })),
    nativeAsset: r.nativeAsset,
    blockIntervalMs: r.blockIntervalMs,
    compliancePolicy: r.compliancePolicy,
    status: r.status,
    createdAt: r.createdAt.toString(),
    updatedAt: r.updatedAt.toString(),
  }
}
const bigArg = (s: string | undefined, d: bigint) => {
  if (s === undefined) return d
  if (!/^[0-9]{1,19}$/.test(s)) throw new MeshError('INVALID_PACKET', `not a number: ${s}`)
  return BigInt(s)
}

export function createMeshModule(o: MeshModuleOptions = {}): AppModule & ConsensusHooks {
  return {
    name: 'mesh',
    prefix: MESH_PREFIX,
    // Only a registry-following network keeps its set here (other networks' genesis state is unchanged).
    initGenesis:
      o.registryHub === undefined
        ? undefined
        : (store, g) =>
            store.set(
              MESH_KEYS.registrySet(),
              ValidatorListSSZ.serialize(
                g.validators.map((v) => ({ publicKey: v.publicKey, power: v.power })),
              ),
            ),
    validatorUpdates(store): ValidatorUpdate[] {
      const pending = getValidatorList(store, MESH_KEYS.registryPendingUpdates())
      if (pending === undefined) return []
      store.delete(MESH_KEYS.registryPendingUpdates())
      return pending.map((v) => ({ publicKey: v.publicKey, power: v.power }))
    },
    txKinds: [
      networkCreateKind,
      networkUpdateKind,
      networkRetireKind,
      clientCreateKind(o),
      clientUpdateKind,
      transferKind,
      recvPacketKind,
      acknowledgeKind,
      timeoutKind,
      misbehaviourKind,
      registrySyncKind(o),
    ],
    queries: {
      networks: (store) => listNetworks(store).map(networkView),
      network: (store, a) => {
        const r = getNetwork(store, a.id ?? '')
        if (r === undefined) return null
        const genesisValidators = genesisValidatorsOf(store, r).map((v) => ({
          publicKey: toHex(v.publicKey),
          power: v.power.toString(),
        }))
        return { ...networkView(r), genesisValidators }
      },
      /** Registry-following networks: the hub, and the last record of this network proved from it. */
      registry: (store, _a, ctx) => {
        const raw = store.get(MESH_KEYS.registryMirror())
        const set = getValidatorList(store, MESH_KEYS.registrySet())
        return {
          hub: o.registryHub ?? null,
          record: raw === undefined ? null : networkView(decodeNetworkRecord(ctx.params.networkId, raw)),
          validators: set?.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power.toString() })) ?? null,
        }
      },
      clients: (store) => list(store, LIST.clientCount(), LIST.clientAt).map((id) => clientView(store, id)),
      client: (store, a) => clientView(store, a.network ?? ''),
      /** Pending packets from this network to `dest` (what a relayer must deliver). */
      packets: (store, a, ctx) =>
        pendingPackets(
          store,
          ctx.params.networkId,
          a.dest ?? '',
          Number(bigArg(a.limit, 100n) > 1000n ? 1000n : bigArg(a.limit, 100n)),
        ).map((p) => ({ sequence: p.sequence.toString(), packet: toHex(encodePacket(p)) })),
      /** Whether packet `seq` from `source` was received here, and its acknowledgement. */
      receipt: (store, a, ctx) => {
        const seq = bigArg(a.seq, 0n)
        const received = store.get(MESH_KEYS.receipt(a.source ?? '', ctx.params.networkId, seq)) !== undefined
        const ack = store.get(MESH_KEYS.ack(a.source ?? '', ctx.params.networkId, seq))
        return { received, ack: ack === undefined ? null : toHex(ack) }
      },
      escrow: (store, a) => ({
        network: a.network,
        asset: a.asset,
        amount: getBalance(store, escrowAccount(a.network ?? ''), a.asset ?? '').toString(),
      }),
      /**
       * Vouchers outstanding here for `asset` native to `origin` (0 before the first arrival), the
       * other side of `escrow` on the origin: a reader compares the two without probing for an
       * asset that may not exist yet.
       */
      vouchers: (store, a) => ({
        origin: a.origin,
        asset: a.asset,
        supply: getSupply(store, voucherDenom(a.origin ?? '', a.asset ?? '')).toString(),
      }),
    },
  }
}

export const meshModule: AppModule = createMeshModule()
