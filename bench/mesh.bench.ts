/**
 * Mesh benchmark: many networks in one node process, and cross-network transfers.
 *  - start MESH_BENCH_NETWORKS (default 1000) networks in one MeshHost (one LevelDB), report time
 *    to start, heap + RSS per idle network, and CPU per idle network over an idle window;
 *  - transfer latency p50/p99 from submit on the source to the voucher on the destination
 *    (100 ms blocks, in-host relayer, passes on blocks), the same with a relayer that polls every
 *    10 ms instead (same run: what waking on blocks changed), and transfers/s through one relayer.
 *  - MESH_BENCH_BFT_NETWORKS (default 20) idle multi-validator networks (4 validators each, BFT
 *    ConsensusDriver with no empty blocks but a 60 s heartbeat) in the same process: blocks and
 *    CPU over an idle window (each validator has its own LevelDB here, as in the in-process
 *    devnet, so their memory is not representative of one node hosting many networks).
 * Comparisons: memory per network vs the 5 MB target, latency vs the two-block floor (a transfer
 * needs a source block and a destination block), idle CPU vs one core.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  accountIdOf,
  bankModule,
  createMeshModule,
  type Genesis,
  genesisToJson,
  getBalance,
  MESH_KIND,
} from '@pulsemesh/app'
import { keyFromByte, makeGenesis, validator } from '../packages/app/test/helpers.ts'
import { installNodeCrypto } from '../packages/node/src/crypto/node-backend.ts'
import { LocalValidatorNetwork } from '../packages/node/src/consensus/devnet.ts'
import { LocalEndpoint, type MeshEndpoint } from '../packages/node/src/mesh/endpoint.ts'
import { MeshHost } from '../packages/node/src/mesh/mesh-host.ts'
import { clientCreatePayload, Relayer } from '../packages/node/src/mesh/relayer.ts'
import { ChainStore } from '../packages/node/src/storage/chain-store.ts'
import { verify } from '@pulsemesh/core'

installNodeCrypto()
const inlineVerifier = {
  verify: async (j: {
    scheme: 'ed25519' | 'secp256k1'
    publicKey: Uint8Array
    msg: Uint8Array
    sig: Uint8Array
  }) => verify({ scheme: j.scheme, bytes: j.publicKey }, j.msg, j.sig),
}
const alice = keyFromByte(1)
const bob = keyFromByte(2)
const relayerKey = keyFromByte(3)
const kinds = createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const gc = () => (globalThis as { gc?: () => void }).gc?.()

function genesisOf(id: string, blockIntervalMs = 100): Genesis {
  const g = makeGenesis([alice, bob, relayerKey])
  return {
    ...g,
    networkId: id,
    params: { ...g.params, networkId: id, blockIntervalMs, txLifetimeBlocksMax: 1000n },
  }
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
async function until(cond: () => boolean, ms = 60_000) {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(2)
  if (!cond()) throw new Error('timed out')
}

export async function run(): Promise<Record<string, unknown>> {
  const N = Number(process.env.MESH_BENCH_NETWORKS ?? 1000)
  const dir = mkdtempSync(join(tmpdir(), 'pm-bench-mesh-'))
  const store = await ChainStore.open(join(dir, 'data'))
  const host = new MeshHost({
    store,
    verifyPool: inlineVerifier,
    validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
  })
  try {
    // ---------------------------------------------------------------- many idle networks
    gc()
    const heap0 = process.memoryUsage()
    const t0 = performance.now()
    for (let i = 0; i < N; i++) await host.addNetwork(genesisOf(`n${i}`))
    const openMs = performance.now() - t0
    await until(() => [...host.networks.values()].every((n) => n.height >= 1n), 600_000)
    const startMs = performance.now() - t0
    await sleep(500)
    gc()
    const heap1 = process.memoryUsage()
    const idleWindowMs = 3000
    const cpu0 = process.cpuUsage()
    const h0 = [...host.networks.values()].reduce((s, n) => s + Number(n.height), 0)
    await sleep(idleWindowMs)
    const cpu = process.cpuUsage(cpu0)
    const h1 = [...host.networks.values()].reduce((s, n) => s + Number(n.height), 0)
    const heapPerNetMB = (heap1.heapUsed - heap0.heapUsed) / N / 1e6
    const rssPerNetMB = (heap1.rss - heap0.rss) / N / 1e6
    const idleCpuMsPerSecond = (cpu.user + cpu.system) / 1000 / (idleWindowMs / 1000)

    // ---------------------------------------------------------------- transfers through one relayer
    const [a, b] = [host.net('n0'), host.net('n1')]
    const ep = (n: typeof a, k = relayerKey) => new LocalEndpoint(n, k)
    await ep(a).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(b)))
    await ep(b).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(a)))
    await until(() => a.height >= 2n && b.height >= 2n)
    const relayer = host.relay('n0', 'n1', relayerKey, { intervalMs: 10, batch: 500 })
    const receiver = accountIdOf(bob.publicKey)
    const voucher = () => getBalance(b.state, receiver, 'transfer/n0/gold')
    const send = (k: typeof alice, amount: bigint) =>
      ep(a, k).submit(
        MESH_KIND.transfer,
        enc(MESH_KIND.transfer, {
          destNetwork: 'n1',
          asset: 'gold',
          amount,
          receiver,
          timeoutHeight: 1_000_000n,
          timeoutTimeMs: 0n,
        }),
      )
    const latencies = async () => {
      const out: number[] = []
      for (let i = 0; i < 30; i++) {
        const before = voucher()
        const s = performance.now()
        await send(alice, 1n)
        await until(() => voucher() > before)
        out.push(performance.now() - s)
      }
      return out
    }
    const lat = await latencies()
    // Same run, a relayer that cannot hear blocks (endpoints without onBlock): it polls every 10 ms.
    await relayer.stop()
    const polled = (e: LocalEndpoint): MeshEndpoint => ({
      networkId: e.networkId,
      head: () => e.head(),
      prove: (k) => e.prove(k),
      query: <T>(n: string, args?: Record<string, string>) => e.query<T>(n, args),
      submit: (k, p) => e.submit(k, p),
      certifiedAt: (h) => e.certifiedAt(h),
    })
    const poller = new Relayer(polled(ep(a)), polled(ep(b)), { intervalMs: 10, batch: 500 })
    poller.start()
    const latPolling = await latencies()
    await poller.stop()
    relayer.start()
    // Throughput: a burst from several senders, all delivered by the one relayer.
    const senders = [alice, relayerKey]
    const burst = 400
    const before = voucher()
    const s = performance.now()
    for (let i = 0; i < burst; i++) await send(senders[i % senders.length]!, 1n)
    await until(() => voucher() >= before + BigInt(burst), 300_000)
    const burstMs = performance.now() - s
    const blockMs = a.genesis.params.blockIntervalMs
    // ---------------------------------------------------------------- idle BFT networks
    await relayer.stop() // its fallback passes would count as the BFT networks' idle CPU
    const bft = await idleBft(join(dir, 'bft'), Number(process.env.MESH_BENCH_BFT_NETWORKS ?? 20))
    return {
      networks: N,
      openMs: Math.round(openMs),
      startMsIncludingFirstBlocks: Math.round(startMs),
      startMsPerNetwork: +(startMs / N).toFixed(2),
      heapPerIdleNetworkMB: +heapPerNetMB.toFixed(3),
      rssPerIdleNetworkMB: +rssPerNetMB.toFixed(3),
      memoryVsTarget5MB: +(Math.max(heapPerNetMB, rssPerNetMB) / 5).toFixed(3),
      idleBlocksProduced: h1 - h0,
      idleCpuMsPerSecondAllNetworks: +idleCpuMsPerSecond.toFixed(2),
      idleCpuPerNetworkVsOneCore: +(idleCpuMsPerSecond / 1000 / N).toExponential(2),
      transferBlockIntervalMs: blockMs,
      transferLatencyP50Ms: Math.round(pct(lat, 50)),
      transferLatencyP99Ms: Math.round(pct(lat, 99)),
      transferLatencyPolling10msP50Ms: Math.round(pct(latPolling, 50)),
      transferLatencyPolling10msP99Ms: Math.round(pct(latPolling, 99)),
      latencyP50VsTwoBlockIntervals: +(pct(lat, 50) / (2 * blockMs)).toFixed(2),
      burstTransfers: burst,
      transfersPerSecondOneRelayer: Math.round((burst / burstMs) * 1000),
      relayerStats: relayer.stats,
      ...bft,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    }
  } finally {
    await host.stop()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `M` idle 4-validator networks in this process, each running the BFT ConsensusDriver per
 * validator with `emptyBlocksIntervalMs` (no empty blocks while idle, a heartbeat every 60 s):
 * blocks and CPU over an idle window after start-up.
 */
async function idleBft(dir: string, M: number): Promise<Record<string, unknown>> {
  const keys = [0, 1, 2, 3].map((i) => keyFromByte(100 + i))
  const vkeys = keys.map((k) => ({ seed: k.secretKey, publicKey: k.publicKey.bytes }))
  const nets: LocalValidatorNetwork[] = []
  const windowMs = 5000
  const cpuMs = async () => {
    const c0 = process.cpuUsage()
    await sleep(windowMs)
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / 1000 / (windowMs / 1000)
  }
  // What the process spends with no BFT network (the mesh host's idle networks, timers, GC).
  const baseline = await cpuMs()
  try {
    const t0 = performance.now()
    for (let i = 0; i < M; i++) {
      const g0 = genesisOf(`bft${i}`, 100)
      const g: Genesis = {
        ...g0,
        validators: keys.map((k, j) => ({ name: `v${j}`, publicKey: k.publicKey.bytes, power: 10n })),
      }
      nets.push(
        await LocalValidatorNetwork.start({
          genesis: g,
          genesisJson: JSON.stringify(genesisToJson(g)),
          keys: vkeys,
          dataDir: join(dir, `n${i}`),
          verifyPool: inlineVerifier,
          modules: [bankModule, createMeshModule()],
          commitDelayMs: 100,
          emptyBlocksIntervalMs: 60_000,
        }),
      )
    }
    const startMs = performance.now() - t0
    const height = () => nets.reduce((s, n) => s + Number(n.validators[0]!.node.height), 0)
    await sleep(2000) // start-up heights (first block) settle
    const h0 = height()
    const withBft = await cpuMs()
    const cpuMsPerSecond = Math.max(0, withBft - baseline)
    return {
      bftIdleNetworks: M,
      bftValidatorsPerNetwork: keys.length,
      bftStartMs: Math.round(startMs),
      bftIdleBlocksInWindow: height() - h0,
      bftIdleWindowMs: windowMs,
      bftIdleCpuMsPerSecondAllNetworks: +cpuMsPerSecond.toFixed(2),
      bftIdleCpuBaselineMsPerSecond: +baseline.toFixed(2),
      bftIdleCpuPerNetworkVsOneCore: +(cpuMsPerSecond / 1000 / M).toExponential(2),
    }
  } finally {
    for (const n of nets) await n.stop()
  }
}
