/**
 * The mesh devnet: one node process hosting the hub (with the network registry), the
 * EmotionalChain network and two tenant networks, each with its own native asset, light clients
 * between the hub and every other network, an in-process relayer per pair, and the registry
 * watcher. `meshDevnetGenesis` is the multi-network genesis/config generation; `runMeshDevnet`
 * starts it all with the node API (plus mesh routes) on one port.
 *
 * Limits: every network is single-validator here (the devnet key), and EmotionalChain runs as a
 * plain BFT network with its EMO asset (its Proof of Emotion profile runs with `devnet --profile`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectToHub } from './devnet-connect.ts'
import { type Genesis, genesisToJson, parseGenesis } from './devnet-deps.ts'
import { bankModule, createMeshModule, exchangeModule } from '@pulsemesh/app'
import { addressFromPublicKey } from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import { buildApi } from '../api/server.ts'
import { installNodeCrypto } from '../crypto/node-backend.ts'
import { VerifyPool } from '../crypto/verify-pool.ts'
import { Keystore } from '../keys/keystore.ts'
import { ChainStore } from '../storage/chain-store.ts'
import { MeshHost } from './mesh-host.ts'
import { RegistryWatcher } from './registry-watcher.ts'
import type { Relayer } from './relayer.ts'

export interface MeshNetworkPlan {
  id: string
  native: string
  profile: 'bft' | 'poe'
}
export const MESH_DEVNET_NETWORKS: MeshNetworkPlan[] = [
  { id: 'hub', native: 'pulse', profile: 'bft' },
  { id: 'emotionalchain', native: 'emo', profile: 'poe' },
  { id: 'tenant-a', native: 'acoin', profile: 'bft' },
  { id: 'tenant-b', native: 'bcoin', profile: 'bft' },
]

export interface MeshDevnetOptions {
  blockIntervalMs: number
  nowMs: bigint
  networks?: MeshNetworkPlan[]
}

/** Writes keys (validator, demo, relayer) and one genesis per network into `home`. Idempotent. */
export function meshDevnetGenesis(home: string, o: MeshDevnetOptions): Genesis[] {
  mkdirSync(join(home, 'genesis'), { recursive: true })
  const keys = new Keystore(home)
  const load = (n: string) => (keys.has(n) ? keys.load(n) : keys.create(n, 'ed25519'))
  const validator = load('validator-mesh')
  const demo = load('demo')
  const relayer = load('relayer')
  const out: Genesis[] = []
  for (const n of o.networks ?? MESH_DEVNET_NETWORKS) {
    const file = join(home, 'genesis', `${n.id}.json`)
    if (existsSync(file)) {
      out.push(parseGenesis(JSON.parse(readFileSync(file, 'utf8'))))
      continue
    }
    const g: Genesis = {
      networkId: n.id,
      genesisTimeMs: o.nowMs,
      params: {
        networkId: n.id,
        addressPrefix: 'pm',
        feeAsset: n.native,
        minFee: 1000n,
        blockIntervalMs: o.blockIntervalMs,
        txLifetimeBlocksMax: 10_000n,
        blockTxsMax: 10_000,
        blockBytesMax: 4 * 1024 * 1024,
      },
      assets: [{ id: n.native, decimals: 6, maxSupply: 0n }],
      balances: [
        {
          address: addressFromPublicKey(demo.publicKey, 'pm'),
          asset: n.native,
          amount: 1_000_000_000_000_000n,
        },
        {
          address: addressFromPublicKey(relayer.publicKey, 'pm'),
          asset: n.native,
          amount: 1_000_000_000_000n,
        },
      ],
      validators: [{ name: 'validator-mesh', publicKey: validator.publicKey.bytes, power: 10n }],
    }
    writeFileSync(file, `${JSON.stringify(genesisToJson(g), null, 2)}\n`)
    out.push(g)
  }
  return out
}

export interface RunningMeshDevnet {
  url: string
  host: MeshHost
  api: FastifyInstance
  relayers: Relayer[]
  demoAddress: string
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('mesh devnet: timed out waiting for blocks')
    await sleep(10)
  }
}

/** Starts the mesh devnet in `home` (initialised on first run) with its API on `port`. */
export async function runMeshDevnet(
  home: string,
  o: { port: number; blockIntervalMs: number; heartbeatMs?: number; log?: (m: string) => void },
): Promise<RunningMeshDevnet> {
  installNodeCrypto()
  const genesis = meshDevnetGenesis(home, { blockIntervalMs: o.blockIntervalMs, nowMs: BigInt(Date.now()) })
  const keys = new Keystore(home)
  const v = keys.load('validator-mesh')
  const rk = keys.load('relayer')
  const demo = keys.load('demo')
  const relayerKey = { secretKey: rk.secret, publicKey: rk.publicKey }
  const store = await ChainStore.open(join(home, 'data'))
  const pool = new VerifyPool()
  const host = new MeshHost({
    store,
    verifyPool: pool,
    validatorKey: { seed: v.secret, publicKey: v.publicKey.bytes },
    heartbeatMs: o.heartbeatMs ?? 30_000,
    log: o.log,
    // every devnet network runs the exchange too: vouchers trade on the hub, HTLC swaps between networks
    modules: (_g, mo) => [bankModule, exchangeModule, createMeshModule({ registryHub: mo.registryHub })],
  })
  for (const g of genesis) await host.addNetwork(g)
  await waitFor(() => [...host.networks.values()].every((n) => n.height >= 1n), 30_000)
  const demoKey = { secretKey: demo.secret, publicKey: demo.publicKey }
  // Registry records for the hosted networks, light clients both ways hub <-> each network.
  const others = MESH_DEVNET_NETWORKS.filter((p) => p.id !== 'hub')
  await connectToHub({
    hub: host.net('hub'),
    networks: others.map((p) => host.net(p.id)),
    registrarKey: demoKey,
    relayerKey,
    profileOf: (id) => others.find((p) => p.id === id)?.profile ?? 'bft',
    log: o.log,
  })
  const watcher = new RegistryWatcher({ host, hubId: 'hub', validatorKey: v.publicKey.bytes, log: o.log })
  await watcher.start()
  const relayers = MESH_DEVNET_NETWORKS.filter((p) => p.id !== 'hub').map((p) =>
    host.relay('hub', p.id, relayerKey, { intervalMs: Math.max(50, Math.floor(o.blockIntervalMs / 2)) }),
  )
  const api = buildApi({ networks: host.networks, rateLimit: false })
  await api.listen({ host: '127.0.0.1', port: o.port })
  const addr = api.server.address()
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : o.port}`
  return {
    url,
    host,
    api,
    relayers,
    demoAddress: addressFromPublicKey(demo.publicKey, 'pm'),
    async stop() {
      watcher.stop()
      await api.close()
      await host.stop()
      await pool.close()
      await store.close()
    },
  }
}
