/**
 * Many networks in one process, cheap while idle (the mesh issue): every network has its own
 * NetworkNode (consensus instance, mempool, state tree, validator set, parameters, key space in the
 * shared LevelDB), but none owns a timer. One scheduler timer serves them all: a network produces
 * a block only when a tx arrives (at its block interval after the previous block) plus an
 * optional slow heartbeat, so an idle network costs no CPU and only its in-memory state.
 *
 * Quotas per network: mempool bytes (the mempool's own limit), a storage quota in bytes of state
 * (keys + values; checked before each block: a network over quota stops producing and reports
 * it); API requests per network are limited by the API (`limitPerNetwork`, api/rate-limit.ts).
 */
import { EventEmitter } from 'node:events'
import {
  type AppModule,
  App,
  bankModule,
  createMeshModule,
  type Genesis,
  genesisToJson,
} from '@pulsemesh/app'
import type { DecodedTx } from '@pulsemesh/app'
import { isValidNetworkId, PulseError } from '@pulsemesh/core'
import {
  type CommittedBlock,
  NetworkNode,
  type SignatureVerifier,
  type ValidatorKey,
} from '../chain/network-node.ts'
import type { ChainStore } from '../storage/chain-store.ts'
import { LocalEndpoint, type RelayerKey } from './endpoint.ts'
import { Relayer, type RelayerOptions } from './relayer.ts'

export interface MeshQuotas {
  /** Mempool bytes per network (default 4 MiB: a tenant cannot take the node's memory). */
  mempoolBytes?: number
  /** State bytes (keys + values) per network (default 256 MiB); over it the network stops producing. */
  stateBytes?: number
}

export interface MeshHostOptions {
  store: ChainStore
  verifyPool: SignatureVerifier
  validatorKey: ValidatorKey
  /** Blocks with no txs every this many ms (0 = never, the default: blocks on demand only). */
  heartbeatMs?: number
  quotas?: MeshQuotas
  /**
   * App modules of a network (default: bank + mesh; mesh following `registryHub` for networks the
   * registry started).
   */
  modules?: (g: Genesis, o: { registryHub?: string }) => AppModule[]
  log?: (msg: string) => void
}

export interface NetworkStats {
  networkId: string
  height: string
  mempoolTxs: number
  stateEntries: number
  stateBytes: number
  overQuota: boolean
}

export class MeshHost extends EventEmitter {
  readonly networks = new Map<string, NetworkNode>()
  private readonly o: MeshHostOptions
  private readonly lastBlockAt = new Map<string, number>()
  /** Network id -> when its next block is due (ms since epoch). */
  private readonly due = new Map<string, number>()
  private readonly overQuota = new Set<string>()
  /** Block intervals the registry changed (network update, applied through registry sync). */
  private readonly intervals = new Map<string, number>()
  /** The network whose block is being produced (removeNetwork waits for it). */
  private producing: string | undefined
  private readonly relayers: Relayer[] = []
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private ticking = false
  private stopped = false

  constructor(o: MeshHostOptions) {
    super()
    this.o = o
  }

  /** Opens (or reopens from storage) one network and schedules it. */
  async addNetwork(genesis: Genesis, o: { registryHub?: string } = {}): Promise<NetworkNode> {
    const id = genesis.networkId
    if (this.networks.has(id)) throw new Error(`network ${id} is already hosted`)
    const modules = this.o.modules?.(genesis, o) ?? [
      bankModule,
      createMeshModule({ registryHub: o.registryHub }),
    ]
    const node = await NetworkNode.open({
      app: new App(genesis.params, modules),
      genesis,
      genesisJson: JSON.stringify(genesisToJson(genesis)),
      store: this.o.store.network(id),
      verifyPool: this.o.verifyPool,
      validatorKey: this.o.validatorKey,
      mempool: { bytesMax: this.o.quotas?.mempoolBytes ?? 4 * 1024 * 1024 },
    })
    node.on('tx', (_d: DecodedTx) => this.wake(id))
    node.on('error', (e: Error) => this.o.log?.(`[${id}] ${e.message}`))
    this.networks.set(id, node)
    this.lastBlockAt.set(id, Date.now())
    if (node.height === 0n)
      this.wake(id) // the first block makes the network provable
    else this.scheduleHeartbeat(id)
    return node
  }

  /**
   * Stops hosting `id` (the registry retired it): no more blocks, relayers of it stop, the node
   * leaves `networks`; its data stays in the store (reopening the same genesis continues it).
   */
  async removeNetwork(id: string): Promise<void> {
    const n = this.networks.get(id)
    if (n === undefined) return
    this.networks.delete(id)
    this.due.delete(id)
    this.lastBlockAt.delete(id)
    this.overQuota.delete(id)
    this.intervals.delete(id)
    for (const r of this.relayers.filter((x) => x.a.ep.networkId === id || x.b.ep.networkId === id)) {
      await r.stop()
      this.relayers.splice(this.relayers.indexOf(r), 1)
    }
    while (this.producing === id) await new Promise((r) => setTimeout(r, 5))
    n.removeAllListeners('tx')
    await n.idle()
    this.emit('removed', id)
  }

  /**
   * Development mode: a network exists as soon as a peer joins its name. The genesis is derived
   * from the name alone (plus this host's validator key), with a zero fee floor so nobody needs
   * funds. Production networks come from the hub registry (RegistryWatcher), never from here.
   */
  async join(name: string): Promise<NetworkNode> {
    return this.networks.get(name) ?? this.addNetwork(devNetworkGenesis(name, this.o.validatorKey.publicKey))
  }

  /** Relays between two hosted networks (both need light clients of each other). */
  relay(a: string, b: string, key: RelayerKey, o: RelayerOptions = {}): Relayer {
    const r = new Relayer(new LocalEndpoint(this.net(a), key), new LocalEndpoint(this.net(b), key), {
      log: this.o.log,
      ...o,
    })
    this.relayers.push(r)
    r.start()
    return r
  }

  net(id: string): NetworkNode {
    const n = this.networks.get(id)
    if (n === undefined) throw new Error(`network ${id} is not hosted here`)
    return n
  }

  stats(): NetworkStats[] {
    return [...this.networks.values()].map((n) => ({
      networkId: n.genesis.networkId,
      height: n.height.toString(),
      mempoolTxs: n.mempool.size,
      stateEntries: n.state.tree.size,
      stateBytes: n.stateBytes,
      overQuota: this.overQuota.has(n.genesis.networkId),
    }))
  }

  /** A tx arrived: produce at the network's block interval after its previous block. */
  private wake(id: string): void {
    const n = this.networks.get(id)
    if (n === undefined || this.stopped) return
    const at = (this.lastBlockAt.get(id) ?? 0) + (this.intervals.get(id) ?? n.genesis.params.blockIntervalMs)
    const cur = this.due.get(id)
    if (cur === undefined || at < cur) this.setDue(id, at)
  }

  private scheduleHeartbeat(id: string): void {
    const hb = this.o.heartbeatMs ?? 0
    if (hb > 0) this.setDue(id, (this.lastBlockAt.get(id) ?? Date.now()) + hb)
    else this.due.delete(id)
  }

  private setDue(id: string, at: number): void {
    this.due.set(id, at)
    this.arm(at)
  }

  /** One timer for the whole host, armed for the earliest due network. */
  private arm(at: number): void {
    if (this.stopped || at >= this.timerAt) return
    if (this.timer) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => void this.tick(), Math.max(0, at - Date.now()))
    this.timer.unref?.()
  }

  private async tick(): Promise<void> {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    if (this.ticking || this.stopped) return
    this.ticking = true
    try {
      const now = Date.now()
      const ready = [...this.due].filter(([, at]) => at <= now).map(([id]) => id)
      for (const id of ready) {
        this.due.delete(id)
        await this.produce(id)
      }
    } finally {
      this.ticking = false
    }
    let next = Number.POSITIVE_INFINITY
    for (const at of this.due.values()) if (at < next) next = at
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
  }

  private async produce(id: string): Promise<void> {
    const n = this.networks.get(id)
    if (n === undefined) return
    const quota = this.o.quotas?.stateBytes ?? 256 * 1024 * 1024
    if (n.stateBytes > quota) {
      if (!this.overQuota.has(id)) {
        this.overQuota.add(id)
        this.o.log?.(`[${id}] storage quota exceeded (${n.stateBytes} > ${quota} state bytes): not producing`)
        this.emit('quota', id)
      }
      return
    }
    if (n.halted) return
    this.producing = id
    try {
      const b = await n.produceBlock()
      this.noteRegistrySync(id, b)
      this.emit('block', id, b)
    } catch (e) {
      this.o.log?.(`[${id}] block failed: ${(e as Error).message}`)
    } finally {
      this.producing = undefined
    }
    if (!this.networks.has(id)) return
    this.lastBlockAt.set(id, Date.now())
    if (n.mempool.size > 0) this.wake(id)
    else this.scheduleHeartbeat(id)
  }

  /** A registry sync in this block may have changed the network's block interval (node-local timing). */
  private noteRegistrySync(id: string, b: CommittedBlock): void {
    for (const r of b.results)
      for (const e of r.events) {
        if (e.type !== 'mesh_registry_synced') continue
        const ms = Number(e.attributes.find((a) => a.key === 'block_interval_ms')?.value)
        if (Number.isSafeInteger(ms) && ms >= 50) this.intervals.set(id, ms)
      }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    for (const r of this.relayers) await r.stop()
    while (this.ticking) await new Promise((r) => setTimeout(r, 5))
    for (const n of this.networks.values()) await n.idle()
  }
}

/** The genesis of an ad-hoc development network named `name` (see MeshHost.join). */
export function devNetworkGenesis(name: string, validatorPublicKey: Uint8Array): Genesis {
  if (!isValidNetworkId(name))
    throw new PulseError('INVALID_NETWORK', `invalid network name ${JSON.stringify(name)}`)
  return {
    networkId: name,
    genesisTimeMs: 1_700_000_000_000n,
    params: {
      networkId: name,
      addressPrefix: 'pm',
      feeAsset: 'dev',
      minFee: 0n,
      blockIntervalMs: 500,
      txLifetimeBlocksMax: 10_000n,
      blockTxsMax: 10_000,
      blockBytesMax: 4 * 1024 * 1024,
    },
    assets: [{ id: 'dev', decimals: 6, maxSupply: 0n }],
    balances: [],
    validators: [{ name: `${name}-dev`, publicKey: validatorPublicKey, power: 10n }],
  }
}
