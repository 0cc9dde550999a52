/**
 * What a relayer needs from one network: its certified head, state proofs of mesh keys, mesh
 * queries, and tx submission signed by the relayer's key. Two implementations: a NetworkNode in
 * this process (networks hosted together) and a node's HTTP API (`pulsemesh relayer`).
 */
import { type mesh, validatorSetOf } from '@pulsemesh/app'
import {
  encodeCommit,
  encodeHeader,
  encodeStateProof,
  encodeTx,
  fromHex,
  type KeyPair,
  sign,
  type TxBody,
  toHex,
  txSignBytes,
} from '@pulsemesh/core'
import { accountIdOf } from '@pulsemesh/app'
import type { NetworkNode } from '../chain/network-node.ts'

export interface CertifiedState {
  /** Height of the header that certifies the proof. */
  height: bigint
  header: Uint8Array
  commit: Uint8Array
  /** The validator set that signed `header` (it hashes to header.validatorsHash). */
  validators: mesh.ValidatorEntry[]
}
export interface KeyProof extends CertifiedState {
  value: Uint8Array | null
  proof: Uint8Array
}

export interface MeshEndpoint {
  readonly networkId: string
  head(): Promise<CertifiedState & { timeMs: bigint }>
  /** A proof of `key` (a mesh key) against the head state root, with the head's certificate. */
  prove(key: Uint8Array): Promise<KeyProof>
  query<T>(name: string, args?: Record<string, string>): Promise<T>
  /** Signs (relayer key) and submits a mesh tx; resolves when the mempool accepted it. */
  submit(kind: number, payload: Uint8Array): Promise<string>
  /** The committed header at `height` with its certificate and signing set (undefined: not there yet). */
  certifiedAt?(height: bigint): Promise<CertifiedState | undefined>
  /**
   * Calls `listener` after each committed block (everything a relayer reads changes only then);
   * returns the detach function. Absent = the relayer polls.
   */
  onBlock?(listener: () => void): () => void
}

export interface RelayerKey {
  secretKey: Uint8Array
  publicKey: KeyPair['publicKey']
}

function txBytes(
  key: RelayerKey,
  o: { networkId: string; nonce: bigint; fee: bigint; expiresAt: bigint; kind: number; payload: Uint8Array },
): Uint8Array {
  const body: TxBody = {
    networkId: o.networkId,
    sender: key.publicKey,
    nonce: o.nonce,
    fee: o.fee,
    expiresAt: o.expiresAt,
    memo: 'mesh relayer',
    kind: o.kind,
    payload: o.payload,
  }
  return encodeTx({ body, signature: sign(key.publicKey.scheme, key.secretKey, txSignBytes(body)) })
}

const entries = (set: { validators: readonly { publicKey: Uint8Array; votingPower: bigint }[] }) =>
  set.validators.map((v) => ({ publicKey: v.publicKey, power: v.votingPower }))

/**
 * One 'block' listener per node however many endpoints watch it (a hub relays to every network:
 * N relayers would otherwise each add one, past EventEmitter's warning at 10).
 */
const watchers = new WeakMap<NetworkNode, Set<() => void>>()

function watchBlocks(node: NetworkNode, listener: () => void): () => void {
  let set = watchers.get(node)
  if (set === undefined) {
    const s = new Set<() => void>()
    set = s
    watchers.set(node, s)
    node.on('block', () => {
      for (const l of s) l()
    })
  }
  set.add(listener)
  return () => set.delete(listener)
}

/** A network hosted in this process. */
export class LocalEndpoint implements MeshEndpoint {
  readonly networkId: string
  readonly node: NetworkNode
  private readonly key: RelayerKey
  constructor(node: NetworkNode, key: RelayerKey) {
    this.node = node
    this.key = key
    this.networkId = node.genesis.networkId
  }
  async head() {
    const h = this.node.headHeader
    if (h === undefined) throw new Error(`${this.networkId} has no block yet`)
    const set = await this.node.validatorSetAt(h.height)
    return {
      height: h.height,
      timeMs: h.timeMs,
      header: encodeHeader(h),
      commit: encodeCommit(this.node.headCommit),
      validators: entries(set),
    }
  }
  onBlock(listener: () => void): () => void {
    return watchBlocks(this.node, listener)
  }
  async certifiedAt(height: bigint): Promise<CertifiedState | undefined> {
    const b = height >= 1n && height <= this.node.height ? await this.node.getBlock(height) : undefined
    if (b === undefined) return undefined
    return {
      height,
      header: encodeHeader(b.block.header),
      commit: encodeCommit(b.commit),
      validators: entries(await this.node.validatorSetAt(height)),
    }
  }
  async prove(key: Uint8Array): Promise<KeyProof> {
    const r = await this.node.proveState(key)
    if (r.header === undefined) throw new Error(`${this.networkId} has no block yet`)
    const set = await this.node.validatorSetAt(r.height)
    return {
      height: r.height,
      header: encodeHeader(r.header),
      commit: encodeCommit(r.commit),
      validators: entries(set),
      value: r.value,
      proof: encodeStateProof(r.proof),
    }
  }
  async query<T>(name: string, args: Record<string, string> = {}): Promise<T> {
    return this.node.app.query(this.node.state, 'mesh', name, args, {
      params: this.node.genesis.params,
      height: this.node.height,
    }) as T
  }
  async submit(kind: number, payload: Uint8Array): Promise<string> {
    const p = this.node.genesis.params
    const account = accountIdOf(this.key.publicKey)
    const bytes = txBytes(this.key, {
      networkId: this.networkId,
      nonce: this.node.nextNonce(account),
      fee: p.minFee,
      expiresAt: this.node.height + (p.txLifetimeBlocksMax < 100n ? p.txLifetimeBlocksMax : 100n),
      kind,
      payload,
    })
    const d = await this.node.submitTx(bytes)
    return d.hashHex
  }
}

/** Minimal view of the SDK client this endpoint uses (keeps the dependency one-way and mockable). */
export interface HttpLike {
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>
}

/**
 * Block notifications from the same node (the SDK's `PulseStream`, /v1/ws): it resumes after a
 * reconnect from the height after the last one received, so no block is missed.
 */
export interface BlockFeed {
  subscribe(s: { channel: 'blocks'; network: string }, on: () => void): string
  unsubscribe(id: string): void
}

interface ProofJson {
  height: string
  header: string
  commit: string
  validators: { publicKey: string; power: string }[]
  value: string | null
  proof: string
}

/** A network served by a node's HTTP API (routes in api/mesh-routes.ts and the module-query route). */
export class HttpEndpoint implements MeshEndpoint {
  readonly networkId: string
  private readonly http: HttpLike
  private readonly key: RelayerKey
  /** Present with a block feed: a relayer then runs a pass per block instead of polling. */
  readonly onBlock?: (listener: () => void) => () => void
  constructor(http: HttpLike, networkId: string, key: RelayerKey, blocks?: BlockFeed) {
    this.http = http
    this.networkId = networkId
    this.key = key
    if (blocks)
      this.onBlock = (listener) => {
        const id = blocks.subscribe({ channel: 'blocks', network: networkId }, () => listener())
        return () => blocks.unsubscribe(id)
      }
  }
  private base() {
    return `/v1/networks/${encodeURIComponent(this.networkId)}`
  }
  private cert(r: ProofJson): CertifiedState {
    return {
      height: BigInt(r.height),
      header: fromHex(r.header),
      commit: fromHex(r.commit),
      validators: r.validators.map((v) => ({ publicKey: fromHex(v.publicKey), power: BigInt(v.power) })),
    }
  }
  async head() {
    const r = await this.http.request<ProofJson & { timeMs: string }>('GET', `${this.base()}/mesh/head`)
    return { ...this.cert(r), timeMs: BigInt(r.timeMs) }
  }
  async certifiedAt(height: bigint): Promise<CertifiedState | undefined> {
    try {
      const r = await this.http.request<Omit<ProofJson, 'value' | 'proof'>>(
        'GET',
        `${this.base()}/commits/${height}`,
      )
      return this.cert({ ...r, value: null, proof: '' })
    } catch (e) {
      if ((e as { status?: number }).status === 404) return undefined
      throw e
    }
  }
  async prove(key: Uint8Array): Promise<KeyProof> {
    const r = await this.http.request<ProofJson>('GET', `${this.base()}/mesh/proof/${toHex(key)}`)
    return { ...this.cert(r), value: r.value === null ? null : fromHex(r.value), proof: fromHex(r.proof) }
  }
  async query<T>(name: string, args: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(args).toString()
    const r = await this.http.request<{ result: T } | T>(
      'GET',
      `${this.base()}/modules/mesh/${name}${qs ? `?${qs}` : ''}`,
    )
    return (r as { result?: T }).result !== undefined ? (r as { result: T }).result : (r as T)
  }
  async submit(kind: number, payload: Uint8Array): Promise<string> {
    const account = accountIdOf(this.key.publicKey)
    const st = await this.http.request<{
      nonce: string
      height: string
      minFee: string
      txLifetimeBlocksMax: string
    }>('GET', `${this.base()}/mesh/submit-info/${toHex(account)}`)
    const life = BigInt(st.txLifetimeBlocksMax)
    const bytes = txBytes(this.key, {
      networkId: this.networkId,
      nonce: BigInt(st.nonce),
      fee: BigInt(st.minFee),
      expiresAt: BigInt(st.height) + (life < 100n ? life : 100n),
      kind,
      payload,
    })
    const r = await this.http.request<{ hash: string }>('POST', `${this.base()}/txs`, { tx: toHex(bytes) })
    return r.hash
  }
}

export { validatorSetOf }
