/**
 * A devnet of N validator PROCESSES on 127.0.0.1 (`pulsemesh devnet --validators N`, the fault
 * tests and the network benchmark): each validator has its own home (keys, LevelDB, sign state,
 * peer key), API port and libp2p ports; all share one genesis and bootstrap to each other.
 * Children are forked with an IPC channel, which carries the test controls of networking.ts
 * (status, partition).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Genesis, genesisToJson } from '@pulsemesh/app'
import type { TimeoutParams } from '@pulsemesh/consensus'
import { addressFromPublicKey, PulseError } from '@pulsemesh/core'
import type { HostConfig } from '../host.ts'
import { Keystore } from '../keys/keystore.ts'
import { freePort } from './free-port.ts'
import { PEER_KEY_FILE, writePeerKey } from './peer-key.ts'

export { freePort }

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
const LOG_LINES_MAX = 400

export interface ProcessDevnetOptions {
  validators: number
  /** Non-validator full nodes (members validators..validators+fullNodes-1, homes <dir>/f<j>). */
  fullNodes?: number
  /** Devnet root; validator i lives in <dir>/v<i>. Reused if it already holds a devnet. */
  dir: string
  /** API port of validator 0 (others follow); 0 = free ports picked at start. */
  basePort?: number
  blockIntervalMs?: number
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
  /** > 0: no empty blocks while idle except one per this many ms (consensus.emptyBlocksIntervalMs). */
  emptyBlocksIntervalMs?: number
  networkId?: string
  /** More funded accounts in the genesis (benchmarks: one sender per load stream). */
  extraBalances?: { address: string; amount: bigint }[]
  /** Called with each output line of a child (default: kept in a ring buffer only). */
  onLine?: (index: number, line: string) => void
  env?: NodeJS.ProcessEnv
}

export interface DevnetMember {
  index: number
  /** Printed name: v<i> for validators, f<j> for full nodes. */
  name: string
  home: string
  apiUrl: string
  peerId: string
  p2pAddr: string
  child?: ChildProcess
  logs: string[]
}

/** Where one member process lives and listens (written once, reused by later runs). */
export interface MemberLayout {
  name?: string
  home: string
  apiPort: number
  tcpPort: number
  wsPort: number
  peerId: string
}

export interface Layout {
  networkId: string
  demoAddress: string
  members: MemberLayout[]
}

/** Options of `ProcessDevnet.launch` (the process handling; the layout is the caller's). */
export type LaunchOptions = Pick<ProcessDevnetOptions, 'onLine' | 'env'> & {
  /**
   * Bound on one member's start-up, until its /livez answers (default 120 s). Generous because a
   * start on a loaded 2-core CI machine (type stripping, libp2p, LevelDB, every hosted network)
   * has been seen to take over 30 s; a member that exits fails at once instead.
   */
  readyTimeoutMs?: number
  /** Grace after SIGTERM before SIGKILL (default 10 s). */
  killAfterMs?: number
}

/** Writes homes, keys, the shared genesis and the configs (once; a second call reuses them). */
async function prepare(o: ProcessDevnetOptions): Promise<Layout> {
  const layoutFile = join(o.dir, 'devnet.json')
  if (existsSync(layoutFile)) {
    const l = JSON.parse(readFileSync(layoutFile, 'utf8')) as Layout
    if (l.members.length !== o.validators + (o.fullNodes ?? 0))
      throw new PulseError('CONFIG_INVALID', `${o.dir} holds a devnet of ${l.members.length} nodes`)
    return l
  }
  const networkId = o.networkId ?? 'hub'
  const n = o.validators
  const total = n + (o.fullNodes ?? 0)
  const ports: number[] = []
  for (let i = 0; i < total * 3; i++) ports.push(o.basePort ? o.basePort + i : await freePort())
  const homes = Array.from({ length: total }, (_, i) => resolve(o.dir, i < n ? `v${i}` : `f${i - n}`))
  const vname = `validator-${networkId}`
  for (const h of homes) mkdirSync(join(h, 'genesis'), { recursive: true })
  const keys = homes.slice(0, n).map((h) => {
    const ks = new Keystore(h)
    return ks.has(vname) ? ks.load(vname) : ks.create(vname, 'ed25519')
  })
  const demoKs = new Keystore(homes[0])
  const demo = demoKs.has('demo') ? demoKs.load('demo') : demoKs.create('demo', 'ed25519')
  const demoAddress = addressFromPublicKey(demo.publicKey, 'pm')
  const genesis: Genesis = {
    networkId,
    genesisTimeMs: BigInt(Date.now()),
    params: {
      networkId,
      addressPrefix: 'pm',
      feeAsset: 'pulse',
      minFee: 1000n,
      blockIntervalMs: o.blockIntervalMs ?? 500,
      txLifetimeBlocksMax: 10_000n,
      blockTxsMax: 20_000,
      blockBytesMax: 8 * 1024 * 1024,
    },
    assets: [{ id: 'pulse', decimals: 6, maxSupply: 0n }],
    balances: [
      { address: demoAddress, asset: 'pulse', amount: 1_000_000_000_000_000n },
      ...(o.extraBalances ?? []).map((b) => ({ ...b, asset: 'pulse' })),
    ],
    validators: keys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey.bytes, power: 10n })),
  }
  const genesisJson = JSON.stringify(genesisToJson(genesis), null, 2) + '\n'
  const members: Layout['members'] = []
  for (let i = 0; i < total; i++) {
    const pk = await generateKeyPair('Ed25519')
    writePeerKey(join(homes[i], 'data', PEER_KEY_FILE), pk)
    members.push({
      home: homes[i],
      apiPort: ports[i],
      tcpPort: ports[total + i],
      wsPort: ports[2 * total + i],
      peerId: peerIdFromPrivateKey(pk).toString(),
    })
  }
  for (let i = 0; i < total; i++) {
    const m = members[i]
    writeFileSync(join(m.home, 'genesis', `${networkId}.json`), genesisJson)
    const cfg: HostConfig = {
      api: { host: '127.0.0.1', port: m.apiPort },
      networks: [{ genesis: join('genesis', `${networkId}.json`), validatorKey: i < n ? vname : undefined }],
      rateLimit: false,
      p2p: {
        listen: [`/ip4/127.0.0.1/tcp/${m.tcpPort}`, `/ip4/127.0.0.1/tcp/${m.wsPort}/ws`],
        // Validators list each other; full nodes list the validators (and are learned by them).
        bootstrap: members
          .filter((_, j) => j !== i && j < n)
          .map((p) => `/ip4/127.0.0.1/tcp/${p.tcpPort}/p2p/${p.peerId}`),
        redialMaxMs: 2000,
      },
      consensus: {
        timeouts: o.timeouts,
        commitDelayMs: o.commitDelayMs,
        emptyBlocksIntervalMs: o.emptyBlocksIntervalMs,
      },
    }
    writeFileSync(join(m.home, 'config.json'), JSON.stringify(cfg, null, 2) + '\n')
  }
  const layout: Layout = { networkId, demoAddress, members }
  writeFileSync(layoutFile, JSON.stringify(layout, null, 2) + '\n')
  return layout
}

export class ProcessDevnet {
  readonly members: DevnetMember[]
  readonly networkId: string
  readonly demoAddress: string
  private readonly o: LaunchOptions
  private nextReq = 1

  private constructor(o: LaunchOptions, l: Layout) {
    this.o = o
    this.networkId = l.networkId
    this.demoAddress = l.demoAddress
    this.members = l.members.map((m, index) => ({
      index,
      name: m.name ?? `v${index}`,
      home: m.home,
      apiUrl: `http://127.0.0.1:${m.apiPort}`,
      peerId: m.peerId,
      p2pAddr: `/ip4/127.0.0.1/tcp/${m.tcpPort}/p2p/${m.peerId}`,
      logs: [],
    }))
  }

  /** Prepares the devnet (first run) and starts every validator process; resolves when all APIs answer. */
  static async start(o: ProcessDevnetOptions): Promise<ProcessDevnet> {
    return ProcessDevnet.launch(await prepare(o), o)
  }

  /** Starts one `pulsemesh start` process per member of a prepared layout; resolves when all APIs answer. */
  static async launch(l: Layout, o: LaunchOptions = {}): Promise<ProcessDevnet> {
    const net = new ProcessDevnet(o, l)
    try {
      for (const m of net.members) net.spawn(m.index)
      await Promise.all(net.members.map((m) => net.waitReady(m.index)))
    } catch (e) {
      await net.stop()
      throw e
    }
    return net
  }

  private spawn(i: number): void {
    const m = this.members[i]
    const child = fork(MAIN, ['--home', m.home, 'start'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // V8 code cache across the N children and restarts: start-up is mostly module compilation.
      env: { NODE_COMPILE_CACHE: join(tmpdir(), 'pulsemesh-compile-cache'), ...process.env, ...this.o.env },
    })
    m.child = child
    const onData = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line) continue
        m.logs.push(line)
        if (m.logs.length > LOG_LINES_MAX) m.logs.shift()
        this.o.onLine?.(i, line)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', () => {
      if (m.child === child) m.child = undefined
    })
  }

  /** Polls the member's /livez every 100 ms until it answers (bounded by `readyTimeoutMs`). */
  async waitReady(i: number): Promise<void> {
    const m = this.members[i]
    const deadline = performance.now() + (this.o.readyTimeoutMs ?? 120_000)
    while (performance.now() < deadline) {
      if (!m.child) throw new PulseError('DEVNET_EXITED', `${m.name} exited: ${m.logs.slice(-10).join('\n')}`)
      try {
        const r = await fetch(`${m.apiUrl}/livez`)
        if (r.ok) return
      } catch {}
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new PulseError('DEVNET_TIMEOUT', `${m.name} did not start: ${m.logs.slice(-10).join('\n')}`)
  }

  /** Sends an IPC control message and waits for the answer with the same id. */
  request<T = Record<string, unknown>>(
    i: number,
    msg: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<T> {
    const child = this.members[i].child
    if (!child) return Promise.reject(new PulseError('DEVNET_EXITED', `validator ${i} is not running`))
    const id = this.nextReq++
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        child.off('message', on)
        rej(new PulseError('DEVNET_TIMEOUT', `no answer from validator ${i}`))
      }, timeoutMs)
      const on = (m: unknown) => {
        if ((m as { id?: number })?.id !== id) return
        clearTimeout(t)
        child.off('message', on)
        res(m as T)
      }
      child.on('message', on)
      child.send({ ...msg, id })
    })
  }

  status(i: number) {
    return this.request<{
      peerId: string
      peers: string[]
      heights: Record<string, string>
      [k: string]: unknown
    }>(i, { p2p: 'status' })
  }

  /** Lets validator i talk only to the validators in `peers` (indexes); null heals. */
  async partition(i: number, peers: number[] | null): Promise<void> {
    await this.request(i, {
      p2p: 'partition',
      allow: peers === null ? null : peers.map((j) => this.members[j].peerId),
    })
  }

  /** Sends `signal` and waits for the exit (SIGKILL: a crash; SIGTERM: a clean stop). */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.members[i].child
    if (!child) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill(signal)
    const t = setTimeout(() => child.kill('SIGKILL'), this.o.killAfterMs ?? 10_000)
    await exited
    clearTimeout(t)
  }

  async restart(i: number): Promise<void> {
    await this.kill(i, 'SIGTERM')
    this.spawn(i)
    await this.waitReady(i)
  }

  /** Starts a validator that was killed. */
  async revive(i: number): Promise<void> {
    if (this.members[i].child) return
    this.spawn(i)
    await this.waitReady(i)
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.index, 'SIGTERM')))
  }
}
