/**
 * Network benchmark: 4 validator PROCESSES on this machine, libp2p between them (gossip + sync),
 * load from a generator in its own process (bench/network-load.ts) through the batch submit route.
 *
 *  - saturation: committed transfers/s while a backlog of pre-signed transfers is submitted in
 *    batches to all four validators, as a fraction of the machine's limit for this setup: every
 *    validator verifies every tx once, so the limit is (raw Ed25519 verifies/s of all cores) / 4,
 *    measured in the same run with verify-pool's measureRawVerifyRate (before the devnet starts and
 *    again right after saturation; the limit uses their mean, both are reported);
 *  - latency: commit latency p50/p99 at exactly 1,000 tx/s offered (open loop: one batch every
 *    20 ms, latency from the batch's due time to the block's arrival on a WebSocket subscription to
 *    validator 0, i.e. after its fsync), and the same at 100 tx/s (below saturation);
 *  - wire: gossip payload bytes received by all validators per committed tx, as sent (zstd frames)
 *    and as they would weigh uncompressed (the same messages' decompressed sizes), plus block sync
 *    bytes with and without compression from a validator restarted after the load.
 *
 * Consensus runs idle-cheap (emptyBlocksIntervalMs 10 s): a height starts as soon as txs wait and
 * the minimum interval (commitDelayMs) has passed.
 */
import { fork } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addressFromPublicKey, generateKeyPair } from '@pulsemesh/core'
import { installNodeCrypto } from '@pulsemesh/node/crypto/node-backend.ts'
import { measureRawVerifyRate, VerifyPool } from '@pulsemesh/node/crypto/verify-pool.ts'
import { ProcessDevnet } from '@pulsemesh/node/p2p/devnet-processes.ts'

const NET = 'hub'
const SENDERS = 128
const SEED_BASE = 0xbe00
const SATURATION_TXS_PER_SENDER = 60
const SATURATION_BATCH = 256
const LATENCY_RATE = 1000
const LATENCY_SECONDS = 10
const LATENCY_BATCH_MS = 20
/** A rate this shared machine sustains, to show the pipeline's latency below saturation. */
const LIGHT_RATE = 100
const LIGHT_SECONDS = Number(process.env.PM_BENCH_LIGHT_SECONDS ?? 5)
const COMMIT_DELAY_MS = Number(process.env.PM_BENCH_COMMIT_DELAY_MS ?? 10)
/**
 * PM_BENCH_PHASES=light,heavy (any of sat, light, heavy, sync; default all): run only some phases
 * while iterating. A partial run's figures are not comparable with a full one's (no backlog before).
 */
const PHASES = new Set((process.env.PM_BENCH_PHASES ?? 'sat,light,heavy,sync').split(','))
/** With PULSEMESH_CONSENSUS_TRACE=<dir> (passed on to the validators too): submits and block arrivals in <dir>/bench.log. */
const TRACE_DIR = process.env.PULSEMESH_CONSENSUS_TRACE
const benchTrace = (at: number, what: string) => {
  if (TRACE_DIR) appendFileSync(`${TRACE_DIR}/bench.log`, `${at.toFixed(3)} ${what}\n`)
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.timeOrigin + performance.now()

interface P2PStatus {
  heights: Record<string, string>
  stats: { receivedBytes: number; receivedRawBytes: number; published: number; received: number }
  sync: Record<string, { fetchedBytes: number; fetchedRawBytes: number; fetchedBlocks: number }>
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

/** fetch with a few retries: a loaded validator's keep-alive socket may close under us. */
async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
  for (let k = 0; ; k++) {
    try {
      return await fetch(url, init)
    } catch (e) {
      if (k >= 4) throw e
      await sleep(50 * 2 ** k)
    }
  }
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetchRetry(url)
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`)
  return (await r.json()) as T
}

/** The load generator process: `ask` sends one command and resolves with its answer. */
function startLoad() {
  const child = fork(new URL('./network-load.ts', import.meta.url), [], { stdio: 'inherit' })
  let pending: ((m: Record<string, unknown>) => void) | undefined
  child.on('message', (m) => pending?.(m as Record<string, unknown>))
  return {
    ask<T = Record<string, unknown>>(m: Record<string, unknown>): Promise<T> {
      return new Promise((resolve) => {
        pending = resolve as (m: Record<string, unknown>) => void
        child.send(m)
      })
    },
    stop() {
      child.kill()
    },
  }
}

/**
 * Blocks as validator 0 commits them (WebSocket `blocks` channel, pushed after the fsync): the time
 * each tx hash is first seen, and per-block sizes.
 */
async function watchBlocks(apiUrl: string) {
  const seenAt = new Map<string, number>()
  const blocks: { height: number; txs: number; at: number }[] = []
  const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/v1/ws`)
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error('websocket to validator 0 failed'))
  })
  ws.onmessage = (e) => {
    const at = now()
    const m = JSON.parse(String(e.data)) as { type: string; height?: string; txs?: string[] }
    if (m.type !== 'block') return
    for (const t of m.txs ?? []) seenAt.set(t, at)
    blocks.push({ height: Number(m.height), txs: m.txs?.length ?? 0, at })
    if (TRACE_DIR)
      benchTrace(
        at,
        `block ${m.height} txs=${m.txs?.length ?? 0} ${(m.txs ?? []).map((t) => t.slice(0, 8)).join(',')}`,
      )
  }
  ws.send(JSON.stringify({ op: 'subscribe', id: 'b', channel: 'blocks', network: NET }))
  return { seenAt, blocks, close: () => ws.close() }
}

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  // The raw verify rate is measured before the devnet starts and again right after saturation (the
  // devnet idle): on a machine shared with other work the two differ, and the limit is their mean.
  const pool = new VerifyPool()
  const rawBefore = (await measureRawVerifyRate(pool, 30_000)).verifiesPerSecond
  let poolOpen = true

  const senderAddresses: string[] = []
  for (let i = 0; i < SENDERS; i++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, SEED_BASE + i)
    senderAddresses.push(addressFromPublicKey(generateKeyPair('ed25519', seed).publicKey, 'pm'))
  }
  const dir = mkdtempSync(join(tmpdir(), 'pm-netbench-'))
  const net = await ProcessDevnet.start({
    validators: 4,
    dir,
    blockIntervalMs: 200,
    // Minimum interval between heights; heights start only when txs wait (or every 10 s).
    commitDelayMs: COMMIT_DELAY_MS,
    emptyBlocksIntervalMs: 10_000,
    timeouts: {
      proposeBaseMs: 3000,
      proposeDeltaMs: 500,
      prevoteBaseMs: 500,
      prevoteDeltaMs: 250,
      precommitBaseMs: 500,
      precommitDeltaMs: 250,
    },
    extraBalances: senderAddresses.map((address) => ({ address, amount: 1_000_000_000_000n })),
  })
  const load = startLoad()
  try {
    const api = net.members.map((m) => `${m.apiUrl}/v1/networks/${NET}`)
    const height = async () => BigInt((await getJson<{ height: string }>(`${api[0]}/status`)).height)
    while ((await height()) < 1n) await sleep(100)
    await load.ask({
      type: 'init',
      apis: net.members.map((m) => m.apiUrl),
      network: NET,
      to: net.demoAddress,
      senders: SENDERS,
      seedBase: SEED_BASE,
    })
    const watch = await watchBlocks(net.members[0].apiUrl)
    const stats0 = (await Promise.all(net.members.map((m) => net.status(m.index)))) as unknown as P2PStatus[]
    const waitSeen = async (hashes: string[]) => {
      for (let k = 0; k < 1200 && hashes.some((h) => !watch.seenAt.has(h)); k++) await sleep(50)
    }

    // ---- saturation ----
    const sat = PHASES.has('sat')
      ? await load.ask<{ hashes: string[]; startAt: number; endAt: number; refused: number }>({
          type: 'saturate',
          txsPerSender: SATURATION_TXS_PER_SENDER,
          batchTxs: SATURATION_BATCH,
        })
      : { hashes: [], startAt: now(), endAt: now(), refused: 0 }
    await waitSeen(sat.hashes)
    const satCommitted = sat.hashes.filter((h) => watch.seenAt.has(h)).length
    const satEnd = Math.max(sat.startAt + 1, ...sat.hashes.map((h) => watch.seenAt.get(h) ?? 0))
    const satSeconds = (satEnd - sat.startAt) / 1000
    const committedTps = satCommitted / satSeconds
    const satBlocks = watch.blocks.filter((b) => b.at >= sat.startAt && b.at <= satEnd)
    const rawAfter = (await measureRawVerifyRate(pool, 30_000)).verifiesPerSecond
    await pool.close()
    poolOpen = false
    const raw = (rawBefore + rawAfter) / 2
    const limitTps = raw / 4
    await sleep(1000)

    // ---- latency at 1,000 tx/s offered, and at a light load for comparison ----
    const latencyAt = async (tps: number, seconds: number) => {
      const blocksBefore = watch.blocks.length
      const lat = await load.ask<{
        items: [string, number][]
        refused: number
        lagMaxMs: number
        seconds: number
      }>({ type: 'rate', tps, seconds, batchMs: LATENCY_BATCH_MS })
      if (TRACE_DIR) for (const [h, t] of lat.items) benchTrace(t, `submit ${h.slice(0, 8)}`)
      await waitSeen(lat.items.map(([h]) => h))
      const latencies = lat.items
        .filter(([h]) => watch.seenAt.has(h))
        .map(([h, t]) => watch.seenAt.get(h)! - t)
      const latBlocks = watch.blocks.slice(blocksBefore).filter((b) => b.txs > 0)
      const intervals = latBlocks.slice(1).map((b, i) => b.at - latBlocks[i].at)
      await sleep(1000)
      return {
        figures: {
          offeredTps: Math.round(lat.items.length / lat.seconds),
          batchMs: LATENCY_BATCH_MS,
          senderLagMaxMs: Math.round(lat.lagMaxMs),
          refused: lat.refused,
          committed: latencies.length,
          of: lat.items.length,
          p50Ms: Math.round(pct(latencies, 50)),
          p99Ms: Math.round(pct(latencies, 99)),
          maxMs: Math.round(Math.max(...latencies)),
          blocks: latBlocks.length,
          blockIntervalP50Ms: Math.round(pct(intervals, 50)),
          txsPerBlockP50: pct(
            latBlocks.map((b) => b.txs),
            50,
          ),
        },
        committed: latencies.length,
      }
    }
    const skipped = { figures: { skipped: true }, committed: 0 }
    const light = PHASES.has('light') ? await latencyAt(LIGHT_RATE, LIGHT_SECONDS) : skipped
    const heavy = PHASES.has('heavy') ? await latencyAt(LATENCY_RATE, LATENCY_SECONDS) : skipped
    watch.close()

    const stats1 = (await Promise.all(net.members.map((m) => net.status(m.index)))) as unknown as P2PStatus[]
    const committedTotal = satCommitted + light.committed + heavy.committed
    const recv = stats1.reduce((a, s, i) => a + s.stats.receivedBytes - stats0[i].stats.receivedBytes, 0)
    const recvRaw = stats1.reduce(
      (a, s, i) => a + s.stats.receivedRawBytes - stats0[i].stats.receivedRawBytes,
      0,
    )

    // ---- block sync: kill validator 3, let the others move on, restart it and read what the
    // sync protocol moved. ----
    let sync = { fetchedBlocks: 0, fetchedBytes: 0, fetchedRawBytes: 0 }
    let hBefore = 0n
    let target = 0n
    if (PHASES.has('sync')) {
      await net.kill(3, 'SIGKILL')
      await load.ask({ type: 'burst', count: 2000, skipValidator: 3 })
      hBefore = await height()
      // A few heights without validator 3 (if it was the round-0 proposer, the others first wait out
      // the propose timeout), so the restarted node has blocks to sync.
      for (let k = 0; k < 200 && (await height()) < hBefore + 3n; k++) await sleep(100)
      target = await height()
      await net.revive(3)
      let syncStatus = (await net.status(3)) as unknown as P2PStatus
      for (let k = 0; k < 600 && BigInt(syncStatus.heights[NET]) < target; k++) {
        await sleep(100)
        syncStatus = (await net.status(3)) as unknown as P2PStatus
      }
      sync = syncStatus.sync[NET]
    }

    return {
      setup:
        '4 validator processes, 127.0.0.1, libp2p tcp+noise+yamux+gossipsub; load generator process, batch submit',
      consensus: { commitDelayMs: COMMIT_DELAY_MS, emptyBlocksIntervalMs: 10_000 },
      rawVerifiesPerSecondAllCores: Math.round(raw),
      rawVerifiesPerSecondBeforeAfter: [Math.round(rawBefore), Math.round(rawAfter)],
      machineLimitTps: Math.round(limitTps),
      saturation: {
        txs: sat.hashes.length,
        refused: sat.refused,
        committed: satCommitted,
        submitSeconds: +((sat.endAt - sat.startAt) / 1000).toFixed(2),
        seconds: +satSeconds.toFixed(2),
        committedTps: Math.round(committedTps),
        fractionOfLimit: +(committedTps / limitTps).toFixed(3),
        blocks: satBlocks.length,
        txsPerBlockMax: Math.max(0, ...satBlocks.map((b) => b.txs)),
      },
      latencyAt1000: heavy.figures,
      latencyAtLightLoad: light.figures,
      wire: {
        gossipBytesPerCommittedTx: +(recv / committedTotal).toFixed(1),
        gossipBytesPerCommittedTxUncompressed: +(recvRaw / committedTotal).toFixed(1),
        gossipSavedFraction: +(1 - recv / recvRaw).toFixed(3),
        syncBlocks: sync.fetchedBlocks,
        syncHeights: `${hBefore}..${target}`,
        syncBytes: sync.fetchedBytes,
        syncBytesUncompressed: sync.fetchedRawBytes,
        syncSavedFraction: sync.fetchedRawBytes
          ? +(1 - sync.fetchedBytes / sync.fetchedRawBytes).toFixed(3)
          : 0,
      },
    }
  } finally {
    if (poolOpen) await pool.close()
    load.stop()
    await net.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
