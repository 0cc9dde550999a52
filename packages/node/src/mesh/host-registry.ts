/**
 * Registry hosting for a config-driven node (`pulsemesh start`): with `"mesh": { "hostRegistry":
 * true, "hub": "hub", "validatorKey": "<keystore name>" }` in config.json, the node watches the hub
 * network's registry and opens every registered network that lists this validator key, producing
 * its blocks with that key. Networks appear in the node's API as soon as they are opened (the
 * API serves the same networks map).
 */
import { App, bankModule, type Genesis, genesisToJson, meshModule } from '@pulsemesh/app'
import { NetworkNode, type SignatureVerifier } from '../chain/network-node.ts'
import type { Keystore } from '../keys/keystore.ts'
import type { ChainStore } from '../storage/chain-store.ts'
import { RegistryWatcher } from './registry-watcher.ts'

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
  const host = {
    networks: o.networks,
    net: (id: string) => {
      const n = o.networks.get(id)
      if (n === undefined) throw new Error(`network ${id} is not hosted here`)
      return n
    },
    addNetwork: async (g: Genesis) => {
      const node = await NetworkNode.open({
        app: new App(g.params, [bankModule, meshModule]),
        genesis: g,
        genesisJson: JSON.stringify(genesisToJson(g)),
        store: o.store.network(g.networkId),
        verifyPool: o.pool,
        validatorKey,
      })
      node.on('error', (e: Error) => o.log(`[${g.networkId}] ${e.message}`))
      node.startProducing()
      o.networks.set(g.networkId, node)
      return node
    },
  }
  const w = new RegistryWatcher({ host, hubId, validatorKey: validatorKey.publicKey, log: o.log })
  await w.start()
  return w
}
