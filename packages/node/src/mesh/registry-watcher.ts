/**
 * Starts networks when the hub's registry says so: watches the hub network's committed blocks for
 * `mesh_network_created` events and, for every new network whose validator set includes this
 * host's validator key, derives its genesis from the registry record and opens it in the host.
 * Every host derives the same genesis from the same record (time = the hub block's BFT time).
 */
import { formatAddress, type Genesis, mesh } from '@pulsemesh/app'
import { equalBytes, type ChainEvent } from '@pulsemesh/core'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'

/** What the watcher needs from whatever hosts networks (MeshHost, or a config-driven node). */
export interface NetworkHosting {
  networks: Map<string, NetworkNode>
  net(id: string): NetworkNode
  addNetwork(g: Genesis): Promise<NetworkNode>
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

/** The genesis every host derives from a registry record. */
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

  constructor(o: RegistryWatcherOptions) {
    this.o = o
    this.listener = (b) => {
      const created = b.results
        .flatMap((r) => r.events)
        .filter((e: ChainEvent) => e.type === 'mesh_network_created')
      for (const e of created) {
        const id = e.attributes.find((a) => a.key === 'network')?.value
        if (id !== undefined) this.chain = this.chain.then(() => this.consider(id, b.header.timeMs))
      }
    }
  }

  /** Starts watching; also opens registry networks recorded before this host started. */
  async start(): Promise<void> {
    const hub = this.o.host.net(this.o.hubId)
    hub.on('block', this.listener)
    for (const r of mesh.listNetworks(hub.state)) {
      if (r.status === 'active') await this.consider(r.id, hub.genesis.genesisTimeMs)
    }
  }

  stop(): void {
    this.o.host.net(this.o.hubId).off('block', this.listener)
  }

  /** Resolves when every network seen so far has been considered. */
  settled(): Promise<void> {
    return this.chain
  }

  private async consider(id: string, timeMs: bigint): Promise<void> {
    if (this.o.host.networks.has(id)) return
    const hub = this.o.host.net(this.o.hubId)
    const r = mesh.getNetwork(hub.state, id)
    if (r === undefined || r.status !== 'active') return
    if (!r.validators.some((v) => equalBytes(v.publicKey, this.o.validatorKey))) return
    // The record's creation height fixes the genesis time: every host derives the same one.
    const created = await hub.getBlock(r.createdAt)
    const g = genesisFromRecord(r, { ...this.o, timeMs: created?.block.header.timeMs ?? timeMs })
    await this.o.host.addNetwork(g)
    this.started.push(id)
    this.o.log?.(`registry: started network ${id} (${r.profile}, ${r.validators.length} validators)`)
  }
}
