/**
 * Starts and stops networks when the hub's registry says so: watches the hub network's committed
 * blocks for `mesh_network_created` / `_updated` / `_retired` events. A network whose validator set
 * (current or at creation) includes this host's validator key is opened with the genesis every host
 * derives identically from the record (creation set, time = the creation block's BFT time) and the
 * mesh module following this hub's registry (validator-set updates reach the network's own chain
 * through `registry sync`, see the app README); a retired network is stopped (its data is kept).
 */
import { formatAddress, type Genesis, mesh } from '@pulsemesh/app'
import { type ChainEvent, equalBytes } from '@pulsemesh/core'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'

/** What the watcher needs from whatever hosts networks (MeshHost, or a config-driven node). */
export interface NetworkHosting {
  networks: Map<string, NetworkNode>
  net(id: string): NetworkNode
  /** `registryHub`: the network follows that hub's registry (its mesh module's `registryHub`). */
  addNetwork(g: Genesis, o?: { registryHub?: string }): Promise<NetworkNode>
  /** Stops hosting `id` (retired); its data stays in the store. */
  removeNetwork(id: string): Promise<void>
}

export interface RegistryWatcherOptions {
  host: NetworkHosting
  hubId: string
  /** Consensus public key of this host's validator. */
  validatorKey: Uint8Array
  addressPrefix?: string
  /** Initial supply of a new network's native asset, minted to the registry record's owner. */
  initialSupply?: bigint
  minFee?: bigint
  log?: (msg: string) => void
}

const REGISTRY_EVENTS = new Set(['mesh_network_created', 'mesh_network_updated', 'mesh_network_retired'])

/** The genesis every host derives from a registry record (validators: the record's creation set). */
export function genesisFromRecord(
  r: {
    id: string
    owner: Uint8Array
    validators: mesh.ValidatorEntry[]
    nativeAsset: string
    blockIntervalMs: number
  },
  o: { timeMs: bigint; addressPrefix?: string; initialSupply?: bigint; minFee?: bigint },
): Genesis {
  const prefix = o.addressPrefix ?? 'pm'
  return {
    networkId: r.id,
    genesisTimeMs: o.timeMs,
    params: {
      networkId: r.id,
      addressPrefix: prefix,
      feeAsset: r.nativeAsset,
      minFee: o.minFee ?? 1000n,
      blockIntervalMs: r.blockIntervalMs,
      txLifetimeBlocksMax: 10_000n,
      blockTxsMax: 10_000,
      blockBytesMax: 4 * 1024 * 1024,
    },
    assets: [{ id: r.nativeAsset, decimals: 6, maxSupply: 0n }],
    balances: [
      {
        address: formatAddress(r.owner, prefix),
        asset: r.nativeAsset,
        amount: o.initialSupply ?? 1_000_000_000_000n,
      },
    ],
    validators: r.validators.map((v, i) => ({
      name: `${r.id}-v${i}`,
      publicKey: v.publicKey,
      power: v.power,
    })),
  }
}

export class RegistryWatcher {
  private readonly o: RegistryWatcherOptions
  private readonly listener: (b: CommittedBlock) => void
  private chain: Promise<void> = Promise.resolve()
  readonly started: string[] = []
  readonly stopped: string[] = []

  constructor(o: RegistryWatcherOptions) {
    this.o = o
    this.listener = (b) => {
      for (const e of b.results.flatMap((r) => r.events) as ChainEvent[]) {
        if (!REGISTRY_EVENTS.has(e.type)) continue
        const id = e.attributes.find((a) => a.key === 'network')?.value
        if (id !== undefined)
          this.chain = this.chain
            .then(() => this.consider(id))
            .catch((err) => this.o.log?.(`registry: ${id}: ${(err as Error).message}`))
      }
    }
  }

  /** Starts watching; also opens registry networks recorded before this host started. */
  async start(): Promise<void> {
    const hub = this.o.host.net(this.o.hubId)
    hub.on('block', this.listener)
    for (const r of mesh.listNetworks(hub.state)) if (r.status === 'active') await this.consider(r.id)
  }

  stop(): void {
    this.o.host.net(this.o.hubId).off('block', this.listener)
  }

  /** Resolves when every registry event seen so far has been acted on. */
  settled(): Promise<void> {
    return this.chain
  }

  private async consider(id: string): Promise<void> {
    const hub = this.o.host.net(this.o.hubId)
    const r = mesh.getNetwork(hub.state, id)
    if (r === undefined) return
    const hosted = this.o.host.networks.has(id)
    if (r.status === 'retired') {
      if (!hosted) return
      await this.o.host.removeNetwork(id)
      this.stopped.push(id)
      this.o.log?.(`registry: network ${id} retired: stopped (data kept)`)
      return
    }
    if (hosted) return // set and params changes reach the running chain through registry sync
    const creation = mesh.genesisValidatorsOf(hub.state, r)
    const mine = (vs: mesh.ValidatorEntry[]) => vs.some((v) => equalBytes(v.publicKey, this.o.validatorKey))
    if (!mine(r.validators) && !mine(creation)) return
    // The record's creation height fixes the genesis time: every host derives the same one.
    const created = await hub.getBlock(r.createdAt)
    const timeMs = created?.block.header.timeMs ?? hub.genesis.genesisTimeMs
    const g = genesisFromRecord({ ...r, validators: creation }, { ...this.o, timeMs })
    await this.o.host.addNetwork(g, { registryHub: this.o.hubId })
    this.started.push(id)
    this.o.log?.(`registry: started network ${id} (${r.profile}, ${r.validators.length} validators)`)
  }
}
