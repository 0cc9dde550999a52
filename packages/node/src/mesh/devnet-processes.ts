/**
 * The default devnet (`npm start`, `pulsemesh devnet`): N validator PROCESSES (default 4), each
 * hosting the same four networks — hub, emotionalchain, tenant-a, tenant-b — as N-validator BFT
 * networks (one validator per process per network) over one libp2p host per process, plus
 * optional non-validator full nodes.
 *
 * Layout under <dir> (written once; later runs reuse it, so the chains continue):
 *   devnet.json      kind, ports, peer ids, addresses (this file marks the layout)
 *   keys/            the wallet: `demo` (funded on every network) and `relayer`, for the CLI's --home
 *   v<i>/            validator i: config.json, genesis/, keys (`validator` for hub and tenants,
 *                    `validator-emotionalchain` = profile validator i), data/ (LevelDB, sign
 *                    state, peer key, emotion agent folder)
 *   f<j>/            full node j: same genesis, no validator keys
 * Ports from `basePort` (member k = validator i or 50 + full node j): API base+k, TCP base+100+k,
 * WS base+200+k; basePort 0 = free ports picked on the first run.
 *
 * Process v0 also runs the hub relayer role (host.ts `meshRelay`): it records the other three
 * networks in the hub registry, creates the light clients and relays hub <-> each. Every
 * validator process runs the Proof of Emotion agent of its own emotionalchain validator.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Genesis, genesisToJson } from '@pulsemesh/app'
import type { TimeoutParams } from '@pulsemesh/consensus'
import { addressFromPublicKey, PulseError } from '@pulsemesh/core'
import { EMO, EMOTIONALCHAIN_ID, emotionalChainProfile } from '../emotion/profile.ts'
import type { HostConfig } from '../host.ts'
import { Keystore } from '../keys/keystore.ts'
import {
  freePort,
  type LaunchOptions,
  type Layout,
  type MemberLayout,
  ProcessDevnet,
} from '../p2p/devnet-processes.ts'
import { PEER_KEY_FILE, writePeerKey } from '../p2p/peer-key.ts'

export const DEVNET_KIND = 'mesh-processes'
const FULL_NODE_OFFSET = 50

export interface DevnetNetwork {
  id: string
  native: string
  profile: 'bft' | 'poe'
  addressPrefix: string
}
export const DEVNET_NETWORKS: DevnetNetwork[] = [
  { id: 'hub', native: 'pulse', profile: 'bft', addressPrefix: 'pm' },
  { id: EMOTIONALCHAIN_ID, native: EMO, profile: 'poe', addressPrefix: EMO },
  { id: 'tenant-a', native: 'acoin', profile: 'bft', addressPrefix: 'pm' },
  { id: 'tenant-b', native: 'bcoin', profile: 'bft', addressPrefix: 'pm' },
]

export interface MeshProcessDevnetOptions extends LaunchOptions {
  dir: string
  /** Validator processes (2..16, default 4). */
  validators?: number
  /** Non-validator full-node processes (0..16). */
  fullNodes?: number
  /** API port of v0 (see the layout above); 0 = free ports. */
  basePort?: number
  /** Block interval of hub and tenants (default 500 ms). */
  blockIntervalMs?: number
  /** Block interval of emotionalchain (default 2000 ms). */
  emotionBlockIntervalMs?: number
  /** Blocks per emotion epoch (default 20). */
  epochBlocks?: number
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
  /** An idle hub or tenant network makes an empty block this often (default 30 s). */
  heartbeatMs?: number
}

export interface MeshDevnetLayout extends Layout {
  kind: typeof DEVNET_KIND
  validators: number
  networks: DevnetNetwork[]
  /** The CLI wallet home (keys demo and relayer). */
  wallet: string
  /** demo's address per network (prefixes differ: pm…, emo…). */
  demo: Record<string, string>
  basePort: number
  /** Full-node members (after the validators in `members`). */
  fullNodes: number
}

const DEMO_AMOUNT = 1_000_000_000_000_000n
const RELAYER_AMOUNT = 1_000_000_000_000n

/** What is at <dir>: nothing, this devnet's layout, or something else (with a sentence for the user). */
export function inspectDevnetDir(
  dir: string,
): { state: 'empty' } | { state: 'devnet'; layout: MeshDevnetLayout } | { state: 'other'; what: string } {
  const layoutFile = join(dir, 'devnet.json')
  if (existsSync(layoutFile)) {
    const l = JSON.parse(readFileSync(layoutFile, 'utf8')) as Partial<MeshDevnetLayout>
    if (l.kind === DEVNET_KIND) return { state: 'devnet', layout: l as MeshDevnetLayout }
    return {
      state: 'other',
      what: `a ${l.members?.length ?? '?'}-process devnet of network ${l.networkId ?? '?'} only (older layout)`,
    }
  }
  if (existsSync(join(dir, 'config.json'))) return { state: 'other', what: 'a one-process single-node home' }
  return { state: 'empty' }
}

/**
 * `npm start` on a checkout that ran the older one-validator devnet: that home (a config.json, no
 * devnet.json) is moved to `singleDir`, where `devnet --single` runs it. Returns the sentence to
 * print, or undefined when there was nothing to move (or `singleDir` is taken: then the layout
 * check reports the foreign home instead of overwriting anything).
 */
export function moveOldSingleDevnet(dir: string, singleDir: string): string | undefined {
  const seen = inspectDevnetDir(dir)
  if (seen.state !== 'other' || !seen.what.includes('single-node') || existsSync(singleDir)) return undefined
  renameSync(dir, singleDir)
  return `moved the single-validator devnet of an older version from ${dir} to ${singleDir} (run it with \`pulsemesh devnet --single\`)`
}

async function portsFor(base: number, k: number): Promise<[number, number, number]> {
  if (base === 0) return [await freePort(), await freePort(), await freePort()]
  return [base + k, base + 100 + k, base + 200 + k]
}

function loadOrCreate(ks: Keystore, name: string) {
  return ks.has(name) ? ks.load(name) : ks.create(name, 'ed25519')
}

/** Writes the layout on the first run; later runs reuse it and only add missing full nodes. */
export async function prepareMeshProcessDevnet(o: MeshProcessDevnetOptions): Promise<MeshDevnetLayout> {
  const dir = resolve(o.dir)
  const seen = inspectDevnetDir(dir)
  if (seen.state === 'other')
    throw new PulseError(
      'DEVNET_STALE',
      `${dir} holds ${seen.what}, not the multi-process mesh devnet; move it away or pass another --home`,
    )
  const n = o.validators ?? (seen.state === 'devnet' ? seen.layout.validators : 4)
  const f = o.fullNodes ?? 0
  if (!Number.isSafeInteger(n) || n < 2 || n > 16)
    throw new PulseError('BAD_OPTION', '--validators must be 2..16 for the process devnet')
  if (!Number.isSafeInteger(f) || f < 0 || f > 16)
    throw new PulseError('BAD_OPTION', '--full-nodes must be 0..16')
  if (seen.state === 'devnet') {
    const l = seen.layout
    if (l.validators !== n)
      throw new PulseError(
        'DEVNET_STALE',
        `${dir} holds a devnet of ${l.validators} validators; pass --validators ${l.validators} or another --home`,
      )
    if (f > l.fullNodes) await addFullNodes(l, f, dir)
    return l
  }
  return writeLayout(o, dir, n, f)
}

function validatorConfig(
  l: Pick<MeshDevnetLayout, 'networks'>,
  o: MeshProcessDevnetOptions,
  i: number,
): HostConfig['networks'] {
  const epoch = o.epochBlocks ?? 20
  return l.networks.map((net) =>
    net.id === EMOTIONALCHAIN_ID
      ? {
          genesis: join('genesis', `${net.id}.json`),
          validatorKey: 'validator-emotionalchain',
          emotion: {
            blocksPerEpoch: epoch,
            // attestations are made in the first half of an epoch; their nonce must stay fresh
            nonceWindowBlocks: Math.min(20, epoch),
            agent: { validator: i },
          },
          // Emotion epochs count blocks: emotionalchain keeps its block rhythm while the others idle.
          timing: { emptyBlocksIntervalMs: 0 },
        }
      : { genesis: join('genesis', `${net.id}.json`), validatorKey: 'validator' },
  )
}

/**
 * Idle networks make no empty blocks except a heartbeat; a tx starts a height once the block
 * interval since the last one has passed.
 */
function consensusOf(o: Partial<MeshProcessDevnetOptions>): HostConfig['consensus'] {
  return {
    timeouts: o.timeouts,
    commitDelayMs: o.commitDelayMs,
    emptyBlocksIntervalMs: o.heartbeatMs ?? 30_000,
  }
}

function p2pConfig(m: MemberLayout, peers: MemberLayout[]): NonNullable<HostConfig['p2p']> {
  return {
    listen: [`/ip4/127.0.0.1/tcp/${m.tcpPort}`, `/ip4/127.0.0.1/tcp/${m.wsPort}/ws`],
    bootstrap: peers.filter((p) => p !== m).map((p) => `/ip4/127.0.0.1/tcp/${p.tcpPort}/p2p/${p.peerId}`),
    redialMaxMs: 2000,
  }
}

async function newMember(home: string, name: string, base: number, k: number): Promise<MemberLayout> {
  mkdirSync(join(home, 'genesis'), { recursive: true })
  const pk = await generateKeyPair('Ed25519')
  writePeerKey(join(home, 'data', PEER_KEY_FILE), pk)
  const [apiPort, tcpPort, wsPort] = await portsFor(base, k)
  return { name, home, apiPort, tcpPort, wsPort, peerId: peerIdFromPrivateKey(pk).toString() }
}

async function writeLayout(o: MeshProcessDevnetOptions, dir: string, n: number, f: number) {
  const base = o.basePort ?? 8645
  const wallet = new Keystore(dir)
  const demo = loadOrCreate(wallet, 'demo')
  const relayer = loadOrCreate(wallet, 'relayer')
  const validators: MemberLayout[] = []
  for (let i = 0; i < n; i++) validators.push(await newMember(join(dir, `v${i}`), `v${i}`, base, i))
  const profile = emotionalChainProfile({
    validators: n,
    blockIntervalMs: o.emotionBlockIntervalMs ?? 2000,
    genesisTimeMs: BigInt(Date.now()),
    extraBalances: [
      { address: addressFromPublicKey(demo.publicKey, EMO), amount: DEMO_AMOUNT },
      { address: addressFromPublicKey(relayer.publicKey, EMO), amount: RELAYER_AMOUNT },
    ],
  })
  const bftKeys = validators.map((m, i) => {
    const ks = new Keystore(m.home)
    const v = profile.validators[i]!
    if (!ks.has('validator-emotionalchain'))
      ks.importSecret('validator-emotionalchain', 'ed25519', v.key.secretKey, v.key.publicKey)
    return loadOrCreate(ks, 'validator')
  })
  // v0 signs the registry records (as demo) and relays (as relayer).
  const v0 = new Keystore(validators[0]!.home)
  for (const [name, k] of [
    ['demo', demo],
    ['relayer', relayer],
  ] as const)
    if (!v0.has(name)) v0.importSecret(name, k.scheme, k.secret, k.publicKey)
  const genesisTimeMs = BigInt(Date.now())
  const genesis = new Map<string, Genesis>()
  for (const net of DEVNET_NETWORKS) {
    if (net.id === EMOTIONALCHAIN_ID) {
      genesis.set(net.id, profile.genesis)
      continue
    }
    genesis.set(net.id, {
      networkId: net.id,
      genesisTimeMs,
      params: {
        networkId: net.id,
        addressPrefix: net.addressPrefix,
        feeAsset: net.native,
        minFee: 1000n,
        blockIntervalMs: o.blockIntervalMs ?? 500,
        txLifetimeBlocksMax: 10_000n,
        blockTxsMax: 10_000,
        blockBytesMax: 4 * 1024 * 1024,
      },
      assets: [{ id: net.native, decimals: 6, maxSupply: 0n }],
      balances: [
        {
          address: addressFromPublicKey(demo.publicKey, net.addressPrefix),
          asset: net.native,
          amount: DEMO_AMOUNT,
        },
        {
          address: addressFromPublicKey(relayer.publicKey, net.addressPrefix),
          asset: net.native,
          amount: RELAYER_AMOUNT,
        },
      ],
      validators: bftKeys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey.bytes, power: 10n })),
    })
  }
  const layout: MeshDevnetLayout = {
    kind: DEVNET_KIND,
    networkId: 'hub',
    validators: n,
    fullNodes: 0,
    networks: DEVNET_NETWORKS,
    wallet: dir,
    demoAddress: addressFromPublicKey(demo.publicKey, 'pm'),
    demo: Object.fromEntries(
      DEVNET_NETWORKS.map((x) => [x.id, addressFromPublicKey(demo.publicKey, x.addressPrefix)]),
    ),
    basePort: base,
    members: validators,
  }
  // Genesis files of every member are the same bytes.
  mkdirSync(join(dir, 'genesis'), { recursive: true })
  for (const [id, g] of genesis)
    writeFileSync(join(dir, 'genesis', `${id}.json`), `${JSON.stringify(genesisToJson(g), null, 2)}\n`)
  const cfgOf = (i: number): HostConfig => ({
    api: { host: '127.0.0.1', port: validators[i]!.apiPort },
    networks: validatorConfig(layout, o, i),
    rateLimit: false,
    p2p: p2pConfig(validators[i]!, validators),
    consensus: consensusOf(o),
    ...(i === 0
      ? {
          meshRelay: {
            hub: 'hub',
            networks: DEVNET_NETWORKS.filter((x) => x.id !== 'hub').map((x) => x.id),
            registrarKey: 'demo',
            relayerKey: 'relayer',
          },
        }
      : {}),
  })
  for (let i = 0; i < n; i++) {
    copyGenesis(dir, validators[i]!.home)
    writeFileSync(join(validators[i]!.home, 'config.json'), `${JSON.stringify(cfgOf(i), null, 2)}\n`)
  }
  // The layout file goes last: its presence means the homes are complete.
  writeFileSync(join(dir, 'devnet.json'), `${JSON.stringify(layout, null, 2)}\n`)
  if (f > 0) await addFullNodes(layout, f, dir)
  return layout
}

function copyGenesis(dir: string, home: string): void {
  mkdirSync(join(home, 'genesis'), { recursive: true })
  for (const net of DEVNET_NETWORKS) {
    const file = join('genesis', `${net.id}.json`)
    writeFileSync(join(home, file), readFileSync(join(dir, file)))
  }
}

/**
 * Full nodes: no validator keys; they dial every validator and follow the chains by block sync.
 * Their network entries are v0's minus keys and agent — module parameters (emotion epochs) must be
 * the validators' or the full node computes other state roots — whatever options this run got.
 */
async function addFullNodes(l: MeshDevnetLayout, f: number, dir: string): Promise<void> {
  const validators = l.members.slice(0, l.validators)
  const v0 = JSON.parse(readFileSync(join(validators[0]!.home, 'config.json'), 'utf8')) as HostConfig
  const networks = v0.networks.map(({ validatorKey: _, ...n }) => {
    if (n.emotion === undefined) return n
    const { agent: __, ...emotion } = n.emotion
    return { ...n, emotion }
  })
  for (let j = l.fullNodes; j < f; j++) {
    const m = await newMember(join(dir, `f${j}`), `f${j}`, l.basePort, FULL_NODE_OFFSET + j)
    copyGenesis(dir, m.home)
    const cfg: HostConfig = {
      api: { host: '127.0.0.1', port: m.apiPort },
      networks,
      rateLimit: false,
      p2p: p2pConfig(m, validators),
      consensus: v0.consensus,
    }
    writeFileSync(join(m.home, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`)
    l.members.push(m)
    l.fullNodes = j + 1
    writeFileSync(join(dir, 'devnet.json'), `${JSON.stringify(l, null, 2)}\n`)
  }
}

export interface MeshProcessDevnet {
  net: ProcessDevnet
  layout: MeshDevnetLayout
  /** Members started: all validators and the first `fullNodes` full nodes. */
  started: number
}

/** Prepares (first run) and starts the validator and full-node processes; resolves when every API answers. */
export async function startMeshProcessDevnet(o: MeshProcessDevnetOptions): Promise<MeshProcessDevnet> {
  const layout = await prepareMeshProcessDevnet(o)
  const count = layout.validators + (o.fullNodes ?? 0)
  const net = await ProcessDevnet.launch({ ...layout, members: layout.members.slice(0, count) }, o)
  return { net, layout, started: count }
}
