/**
 * A PulseMesh node process: one LevelDB, one verify pool, the networks it hosts, one HTTP API.
 * Config lives in <home>/config.json; genesis files in <home>/genesis/<network>.json; keys in
 * <home>/keys (see keys/keystore.ts).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import {
  App,
  bankModule,
  exchangeModule,
  type Genesis,
  genesisToJson,
  meshModule,
  parseGenesis,
  stakingModule,
} from '@pulsemesh/app'
import { addressFromPublicKey, PulseError } from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import type { AuthConfig } from './api/auth.ts'
import { limitPerNetwork, type NetworkRateLimitConfig, type RateLimitConfig } from './api/rate-limit.ts'
import { startRegistryHosting } from './mesh/host-registry.ts'
import { ApiMetrics } from './api/metrics.ts'
import { buildApi } from './api/server.ts'
import type { StreamOptions } from './api/streams.ts'
import type { WebhookOptions } from './api/webhooks.ts'
import { NetworkNode } from './chain/network-node.ts'
import { installNodeCrypto } from './crypto/node-backend.ts'
import { VerifyPool } from './crypto/verify-pool.ts'
import { Keystore } from './keys/keystore.ts'
import { ChainStore } from './storage/chain-store.ts'
import { EmotionAgent } from './emotion/agent.ts'
import { driveAgent, simulatedKit } from './emotion/devnet.ts'
import { nodeChainView } from './emotion/node-view.ts'
import { EMOTIONALCHAIN_ID, emotionalChainProfile, emotionModulesFor } from './emotion/profile.ts'
import { connectToHub, startHubRelayers } from './mesh/devnet-connect.ts'
import type { Relayer } from './mesh/relayer.ts'
import { LocalValidatorNetwork } from './consensus/devnet.ts'
import type { P2PConfig } from './p2p/p2p-node.ts'
import type { ConsensusConfig, Networking } from './p2p/networking.ts'

export interface HostConfig {
  api: { host: string; port: number }
  networks: {
    genesis: string
    validatorKey?: string
    produce?: boolean
    /**
     * Run this network's validators in this process (BFT consensus over an in-process hub, each with
     * its own data dir under data/local-<network>): keystore names of their consensus keys. The API
     * serves the first validator's node. Such networks also get the staking module.
     */
    consensus?: { validatorKeys: string[]; checkpointInterval?: number }
    /**
     * EmotionalChain only (module parameters are not in the genesis, so every validator of the
     * network must use the same values): epoch length, attestation nonce window, and `agent` =
     * run the Proof of Emotion agent of profile validator `validator` (simulated devices) here.
     */
    emotion?: { blocksPerEpoch?: number; nonceWindowBlocks?: number; agent?: { validator: number } }
    /** Consensus timing of this network over p2p; overrides the top-level `consensus` field by field. */
    timing?: ConsensusConfig
  }[]
  /**
   * Devnet relayer role: once every listed network has a block, record them in `hub`'s registry
   * (signed by `registrarKey`), create light clients hub <-> each (signed by `relayerKey`, skipped
   * when present), and relay hub <-> each in this process.
   */
  meshRelay?: {
    hub: string
    networks: string[]
    registrarKey: string
    relayerKey: string
    intervalMs?: number
  }
  /** JWT/API-key auth (see packages/node/README.md "HTTP API"); absent = open dev node. */
  auth?: AuthConfig
  /** Token bucket per caller; default 600 burst, 100/s; false = off. */
  rateLimit?: RateLimitConfig | false
  /**
   * Per-network API quota (one bucket per hosted network, all callers together): `default` for
   * every network, `networks.<id>` to override; absent = none.
   */
  networkRateLimit?: NetworkRateLimitConfig | false
  /** Webhook delivery settings (retries, breaker, limits); false = no webhooks. */
  webhooks?: Omit<WebhookOptions, 'db' | 'onFailure'> | false
  /** WebSocket stream limits; false = no /v1/ws. */
  streams?: Omit<StreamOptions, 'metrics'> | false
  /** libp2p networking (see packages/node/README.md "Networking"); absent = no peers. */
  p2p?: P2PConfig
  /** Consensus timing for multi-validator networks run over p2p. */
  consensus?: ConsensusConfig
}

const DEFAULT_RATE_LIMIT: RateLimitConfig = { capacity: 600, refillPerSecond: 100 }

export interface RunningHost {
  url: string
  networks: Map<string, NetworkNode>
  networking?: Networking
  api: FastifyInstance
  stop(): Promise<void>
}

export function readConfig(home: string): HostConfig {
  try {
    return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as HostConfig
  } catch (e) {
    // The default devnet's root is a wallet (keys only); its nodes are the v<i> / f<j> homes.
    const hint = existsSync(join(home, 'devnet.json'))
      ? `${home} is the wallet of a multi-process devnet: run it with \`pulsemesh devnet\`, or one node with --home ${join(home, 'v0')}`
      : 'run `pulsemesh init` first'
    throw new PulseError(
      'CONFIG_INVALID',
      `cannot read ${join(home, 'config.json')}: ${(e as Error).message}; ${hint}`,
    )
  }
}

export async function startHost(
  home: string,
  opts: { log?: (msg: string) => void; port?: number } = {},
): Promise<RunningHost> {
  installNodeCrypto()
  const log = opts.log ?? (() => {})
  const cfg = readConfig(home)
  const store = await ChainStore.open(join(home, 'data'))
  const pool = new VerifyPool()
  const keys = new Keystore(home)
  const networks = new Map<string, NetworkNode>()
  const validatorKeys = new Map<string, { seed: Uint8Array; publicKey: Uint8Array }>()
  /** Networks this node hosts without a key: over p2p it follows them as a full node. */
  const follow = new Set<string>()
  let networking: Networking | undefined
  const locals: LocalValidatorNetwork[] = []
  const timing: Record<string, ConsensusConfig> = {}
  try {
    for (const n of cfg.networks) {
      const genesisJson = readFileSync(join(home, n.genesis), 'utf8')
      const genesis = parseGenesis(JSON.parse(genesisJson))
      if (n.consensus?.validatorKeys.length) {
        const local = await LocalValidatorNetwork.start({
          genesis,
          genesisJson,
          keys: n.consensus.validatorKeys.map((name) => {
            const k = keys.load(name)
            return { seed: k.secret, publicKey: k.publicKey.bytes }
          }),
          dataDir: join(home, 'data', `local-${genesis.networkId}`),
          verifyPool: pool,
          modules: [bankModule, exchangeModule, stakingModule, meshModule],
          timeouts: cfg.consensus?.timeouts,
          commitDelayMs: cfg.consensus?.commitDelayMs,
          checkpointInterval:
            n.consensus.checkpointInterval === undefined ? undefined : BigInt(n.consensus.checkpointInterval),
        })
        locals.push(local)
        for (const v of local.validators) {
          v!.driver.on('error', (e: Error) => log(`[${genesis.networkId}/v${v!.index}] ${e.message}`))
          v!.node.on('fork', (f: { reason: string }) => log(`[${genesis.networkId}] HALTED: ${f.reason}`))
        }
        networks.set(genesis.networkId, local.validators[0]!.node)
        log(
          `network ${genesis.networkId}: height ${local.validators[0]!.node.height}, ${local.validators.length} local validators`,
        )
        continue
      }
      const key = n.validatorKey ? keys.load(n.validatorKey) : undefined
      const node = await NetworkNode.open({
        // EmotionalChain genesis: the profile's modules (bank, staking weighted by emotion, emotion)
        app: new App(
          genesis.params,
          emotionModulesFor(genesis, { emotion: emotionParams(n.emotion) }) ?? [
            bankModule,
            exchangeModule,
            meshModule,
          ],
        ),
        genesis,
        genesisJson,
        store: store.network(genesis.networkId),
        verifyPool: pool,
        validatorKey: key ? { seed: key.secret, publicKey: key.publicKey.bytes } : undefined,
      })
      node.on('error', (e: Error) => log(`[${genesis.networkId}] ${e.message}`))
      node.on('fatal', (e: Error) => {
        log(`[${genesis.networkId}] FATAL storage failure, stopping: ${e.message}`)
        process.exitCode = 1
        process.kill(process.pid, 'SIGTERM')
      })
      // With p2p, a multi-validator network runs BFT consensus (p2p/networking.ts) instead.
      if (key && cfg.p2p && genesis.validators.length > 1)
        validatorKeys.set(genesis.networkId, { seed: key.secret, publicKey: key.publicKey.bytes })
      else if (key && n.produce !== false) node.startProducing()
      if (!key) follow.add(genesis.networkId)
      networks.set(genesis.networkId, node)
      if (n.timing) timing[genesis.networkId] = n.timing
      log(`network ${genesis.networkId}: height ${node.height}, ${key ? 'validator' : 'full node'}`)
    }
    if (cfg.p2p)
      // Imported on demand: libp2p adds ~0.7 s to start-up, which nodes without p2p never pay.
      networking = await (await import('./p2p/networking.ts')).Networking.start({
        home,
        config: cfg.p2p,
        networks,
        validatorKeys,
        follow,
        consensus: cfg.consensus,
        networkConsensus: timing,
        log,
      })
  } catch (e) {
    await networking?.stop()
    for (const l of locals) await l.stop()
    await pool.close()
    await store.close()
    throw e
  }
  const registry = await startRegistryHosting({ cfg, networks, store, pool, keys, networking, log })
  const extras = startDevnetRoles({ cfg, home, networks, keys, log })
  const dataDir = join(home, 'data')
  const net = networking
  const api = buildApi({
    networks,
    // With p2p, /metrics also carries the p2p series (peers, gossip by topic, penalties, sync).
    metrics: net ? new ApiMetrics(networks, { p2p: () => net.figures() }) : undefined,
    peers: net ? () => net.p2p.connectedPeers().length : undefined,
    auth:
      cfg.auth?.jwksFile && !isAbsolute(cfg.auth.jwksFile)
        ? { ...cfg.auth, jwksFile: join(home, cfg.auth.jwksFile) }
        : cfg.auth,
    rateLimit: cfg.rateLimit ?? DEFAULT_RATE_LIMIT,
    streams: cfg.streams,
    webhooks: cfg.webhooks === false ? undefined : { db: store.db, ...(cfg.webhooks ?? {}) },
    readiness: async () => {
      let storageWritable = true
      try {
        accessSync(dataDir, constants.W_OK)
      } catch {
        storageWritable = false
      }
      // Over p2p: not ready while block sync is more than 2 blocks behind the best peer.
      const checks: Record<string, boolean> = { storageWritable }
      if (net) checks.caughtUp = net.caughtUp()
      return checks
    },
  })
  const port = opts.port ?? cfg.api.port
  // Per-network API quota (mesh): each hosted network's requests share that network's bucket.
  if (cfg.networkRateLimit) limitPerNetwork(api, cfg.networkRateLimit)
  await api.listen({ host: cfg.api.host, port })
  const addr = api.server.address()
  const url = `http://${cfg.api.host}:${typeof addr === 'object' && addr ? addr.port : port}`
  return {
    url,
    networks,
    networking,
    api,
    async stop() {
      registry?.stop()
      await extras.stop()
      for (const n of networks.values()) n.stopProducing()
      await networking?.stop()
      await api.close()
      for (const l of locals) await l.stop()
      for (const n of networks.values()) await n.idle()
      await pool.close()
      await store.close()
    },
  }
}

function emotionParams(e: HostConfig['networks'][number]['emotion']) {
  if (e === undefined) return undefined
  return {
    ...(e.blocksPerEpoch === undefined ? {} : { blocksPerEpoch: BigInt(e.blocksPerEpoch) }),
    ...(e.nonceWindowBlocks === undefined ? {} : { nonceWindowBlocks: e.nonceWindowBlocks }),
  }
}

/**
 * The devnet roles a node may have besides its networks: Proof of Emotion agents (network entry
 * `emotion.agent`) and the hub relayer (`meshRelay`). Both start in the background: they need
 * blocks, and blocks need the other validator processes.
 */
function startDevnetRoles(o: {
  cfg: HostConfig
  home: string
  networks: Map<string, NetworkNode>
  keys: Keystore
  log: (m: string) => void
}): { stop(): Promise<void> } {
  let stopped = false
  const detach: (() => void)[] = []
  const relayers: Relayer[] = []
  for (const n of o.cfg.networks) {
    const a = n.emotion?.agent
    if (a === undefined) continue
    const node = [...o.networks.values()].find((x) => x.genesis.networkId === EMOTIONALCHAIN_ID)
    if (node === undefined) throw new PulseError('CONFIG_INVALID', 'emotion.agent: no emotionalchain network')
    if (!Number.isSafeInteger(a.validator) || a.validator < 0 || a.validator > 63)
      throw new PulseError('CONFIG_INVALID', 'emotion.agent.validator must be 0..63')
    const v = emotionalChainProfile({ validators: a.validator + 1 }).validators[a.validator]!
    const blocksPerEpoch = BigInt(n.emotion?.blocksPerEpoch ?? 60)
    const agent = new EmotionAgent({
      dir: join(o.home, 'data', 'emotion-agent'),
      networkId: EMOTIONALCHAIN_ID,
      blocksPerEpoch,
      devices: simulatedKit(a.validator),
      deviceKey: v.device,
      validatorKey: v.key,
      chain: nodeChainView(node),
      fee: node.genesis.params.minFee,
      registration: { tier: 'medical', manufacturer: 0, certificate: v.certificate },
    })
    detach.push(
      driveAgent(
        agent,
        node,
        blocksPerEpoch,
        () => stopped,
        (e) => o.log(`[emotion agent v${a.validator}] ${(e as Error).message}`),
      ),
    )
    o.log(`emotion agent of validator ${a.validator} on simulated devices (${agent.dir})`)
  }
  const r = o.cfg.meshRelay
  let setup: Promise<void> = Promise.resolve()
  if (r) {
    const net = (id: string) => {
      const x = o.networks.get(id)
      if (x === undefined)
        throw new PulseError('CONFIG_INVALID', `meshRelay: network ${id} is not hosted here`)
      return x
    }
    const hub = net(r.hub)
    const others = r.networks.map(net)
    const key = (name: string) => {
      const k = o.keys.load(name)
      return { secretKey: k.secret, publicKey: k.publicKey }
    }
    const registrarKey = key(r.registrarKey)
    const relayerKey = key(r.relayerKey)
    setup = (async () => {
      // Retried: the first attempts can time out while the other validators are still starting.
      for (let attempt = 0; !stopped; attempt++) {
        try {
          if ([hub, ...others].some((x) => x.height < 1n)) {
            await sleep(250)
            continue
          }
          await connectToHub({
            hub,
            networks: others,
            registrarKey,
            relayerKey,
            profileOf: (id) => (emotionModulesFor(net(id).genesis) ? 'poe' : 'bft'),
            cancelled: () => stopped,
            log: o.log,
          })
          if (stopped) return
          relayers.push(
            ...startHubRelayers(hub, others, relayerKey, { intervalMs: r.intervalMs ?? 250, log: o.log }),
          )
          o.log(`mesh: relaying ${r.hub} <-> ${r.networks.join(', ')}`)
          return
        } catch (e) {
          o.log(
            `mesh: setting up ${r.hub} <-> ${r.networks.join(', ')} failed (${(e as Error).message}); retrying`,
          )
          for (let t = Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4)); t > 0 && !stopped; t -= 250)
            await sleep(250)
        }
      }
    })()
  }
  return {
    async stop() {
      stopped = true
      for (const d of detach) d()
      await setup
      await Promise.all(relayers.map((x) => x.stop()))
    },
  }
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms))

export interface InitOptions {
  networkId: string
  port: number
  blockIntervalMs: number
  /** Address prefix and fee asset of the network. */
  addressPrefix: string
  feeAsset: string
  nowMs: bigint
}

/** Creates <home> with a validator key, a funded demo key, a genesis and a config. Idempotent per key name. */
export function initHome(
  home: string,
  o: InitOptions,
): { genesis: Genesis; demoAddress: string; validatorAddress: string } {
  mkdirSync(join(home, 'genesis'), { recursive: true })
  const keys = new Keystore(home)
  const vname = `validator-${o.networkId}`
  const validator = keys.has(vname) ? keys.load(vname) : keys.create(vname, 'ed25519')
  const demo = keys.has('demo') ? keys.load('demo') : keys.create('demo', 'ed25519')
  const demoAddress = addressFromPublicKey(demo.publicKey, o.addressPrefix)
  const genesis: Genesis = {
    networkId: o.networkId,
    genesisTimeMs: o.nowMs,
    params: {
      networkId: o.networkId,
      addressPrefix: o.addressPrefix,
      feeAsset: o.feeAsset,
      minFee: 1000n,
      blockIntervalMs: o.blockIntervalMs,
      txLifetimeBlocksMax: 10_000n,
      blockTxsMax: 20_000,
      blockBytesMax: 8 * 1024 * 1024,
    },
    // 6 decimals: 1 PULSE = 1,000,000 base units.
    assets: [{ id: o.feeAsset, decimals: 6, maxSupply: 0n }],
    balances: [{ address: demoAddress, asset: o.feeAsset, amount: 1_000_000_000_000_000n }],
    validators: [{ name: vname, publicKey: validator.publicKey.bytes, power: 10n }],
  }
  const file = join('genesis', `${o.networkId}.json`)
  writeFileSync(join(home, file), JSON.stringify(genesisToJson(genesis), null, 2) + '\n')
  const cfg: HostConfig = {
    api: { host: '127.0.0.1', port: o.port },
    networks: [{ genesis: file, validatorKey: vname }],
  }
  writeFileSync(join(home, 'config.json'), JSON.stringify(cfg, null, 2) + '\n')
  return {
    genesis,
    demoAddress,
    validatorAddress: addressFromPublicKey(validator.publicKey, o.addressPrefix),
  }
}
