/**
 * Registry hosting for a config-driven node (`pulsemesh start`): with `"mesh": { "hostRegistry":
 * true, "hub": "hub", "validatorKey": "<keystore name>" }` in config.json, the node watches the hub
 * network's registry and opens every registered network that lists this validator key (now or at
 * creation). With a `p2p` section, a multi-validator network runs as a real BFT network on the
 * node's libp2p host (gossip topics, block sync, ConsensusDriver signing with that key at heights
 * whose set holds it); a single-validator one is produced locally. Retired networks are stopped
 * (data kept). Networks appear in the node's API as soon as they are opened (the API serves the
 * same networks map) and leave it when stopped.
 */
import { App, bankModule, createMeshModule, type Genesis, genesisToJson } from '@pulsemesh/app'
import { NetworkNode, type SignatureVerifier } from '../chain/network-node.ts'
import type { Keystore } from '../keys/keystore.ts'
import type { Networking } from '../p2p/networking.ts'
import type { ChainStore } from '../storage/chain-store.ts'
import { type NetworkHosting, RegistryWatcher } from './registry-watcher.ts'

export interface MeshHostConfig {
  hostRegistry?: boolean
  /** Network id of the hub whose registry is followed (default "hub"). */
  hub?: string
  /** Keystore name of the validator key registry networks are run with. */
  validatorKey?: string
}

export async function startRegistryHosting(o: {
  /** The node's config.json; only its `mesh` field is read. */
  cfg: object
  networks: Map<string, NetworkNode>
  store: ChainStore
  pool: SignatureVerifier
  keys: Keystore
  /** The node's libp2p networking, when it has a `p2p` section (multi-validator networks need it). */
  networking?: Networking
  log: (msg: string) => void
}): Promise<RegistryWatcher | undefined> {
  const m = (o.cfg as { mesh?: MeshHostConfig }).mesh
  if (!m?.hostRegistry) return undefined
  const hubId = m.hub ?? 'hub'
  if (!o.networks.has(hubId))
    throw new Error(`mesh.hostRegistry: this node does not host the hub network ${hubId}`)
  if (!m.validatorKey) throw new Error('mesh.hostRegistry needs mesh.validatorKey (a keystore name)')
  const k = o.keys.load(m.validatorKey)
  const validatorKey = { seed: k.secret, publicKey: k.publicKey.bytes }
  const host: NetworkHosting = {
    networks: o.networks,
    net: (id: string) => {
      const n = o.networks.get(id)
      if (n === undefined) throw new Error(`network ${id} is not hosted here`)
      return n
    },
    addNetwork: async (g: Genesis, opts = {}) => {
      const bft = g.validators.length > 1
      // One signature is not a > 2/3 certificate of a larger set: without p2p it cannot run.
      if (bft && o.networking === undefined)
        throw new Error(
          `${g.networkId} has ${g.validators.length} validators: hosting it needs a p2p section`,
        )
      const node = await NetworkNode.open({
        app: new App(g.params, [bankModule, createMeshModule({ registryHub: opts.registryHub })]),
        genesis: g,
        genesisJson: JSON.stringify(genesisToJson(g)),
        store: o.store.network(g.networkId),
        verifyPool: o.pool,
        validatorKey,
      })
      node.on('error', (e: Error) => o.log(`[${g.networkId}] ${e.message}`))
      o.networks.set(g.networkId, node)
      if (o.networking === undefined) node.startProducing()
      // Over p2p even a one-validator network runs the driver: a registry update can add validators.
      else await o.networking.addNetwork(g.networkId, node, validatorKey)
      return node
    },
    removeNetwork: async (id: string) => {
      const node = o.networks.get(id)
      if (node === undefined) return
      node.stopProducing()
      await o.networking?.removeNetwork(id)
      o.networks.delete(id)
      await node.idle()
    },
  }
  const w = new RegistryWatcher({ host, hubId, validatorKey: validatorKey.publicKey, log: o.log })
  await w.start()
  return w
}
