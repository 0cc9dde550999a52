/**
 * Network benchmark: 4 validator PROCESSES on this machine, libp2p between them (gossip + sync).
 *
 *  - saturation: committed transfers/s while a backlog of pre-signed transfers is submitted over
 *    HTTP to all four validators, as a fraction of the machine's limit for this setup: every
 *    validator verifies every tx once, so the limit is (raw Ed25519 verifies/s of all cores) / 4,
 *    measured in the same run with verify-pool's measureRawVerifyRate;
 *  - latency: commit latency p50/p99 (submit -> block seen on validator 0's API) at 1,000 tx/s
 *    offered load (the offered rate actually achieved is reported too);
 *  - wire: gossip payload bytes received by all validators per committed tx, as sent (zstd frames)
 *    and as they would weigh uncompressed (the same messages' decompressed sizes), plus block sync
 *    bytes with and without compression from a validator restarted after the load.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '@pulsemesh/core'
import { installNodeCrypto } from '@pulsemesh/node/crypto/node-backend.ts'
import { measureRawVerifyRate, VerifyPool } from '@pulsemesh/node/crypto/verify-pool.ts'
import { ProcessDevnet } from '@pulsemesh/node/p2p/devnet-processes.ts'
import { signTx, transferPayload } from '@pulsemesh/sdk'

const NET = 'hub'
const SENDERS = 128
const SATURATION_TXS_PER_SENDER = 40
const LATENCY_RATE = 1000
const LATENCY_SECONDS = 5
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  const pool = new VerifyPool()
  const raw = await measureRawVerifyRate(pool, 30_000)
  await pool.close()
  const limitTps = raw.verifiesPerSecond / 4

  const senders: (KeyPair & { address: string })[] = []
  for (let i = 0; i < SENDERS; i++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, 0xbe00 + i)
    const kp = generateKeyPair('ed25519', seed)
    senders.push({ ...kp, address: addressFromPublicKey(kp.publicKey, 'pm') })
  }
  const dir = mkdtempSync(join(tmpdir(), 'pm-netbench-'))
  const net = await ProcessDevnet.start({
    validators: 4,
    dir,
    blockIntervalMs: 200,
    commitDelayMs: 100,
    timeouts: {
      proposeBaseMs: 1500,
      proposeDeltaMs: 500,
      prevoteBaseMs: 500,
      prevoteDeltaMs: 250,
      precommitBaseMs: 500,
      precommitDeltaMs: 250,
    },
    extraBalances: senders.map((s) => ({ address: s.address, amount: 1_000_000_000_000n })),
  })
  try {
    const api = net.members.map((m) => `${m.apiUrl}/v1/networks/${NET}`)
    const height = async () => BigInt((await getJson<{ height: string }>(`${api[0]}/status`)).height)
    while ((await height()) < 2n) await sleep(100)
    const to = parseAccount(net.demoAddress, 'pm')
    const nonces = senders.map(() => 0n)
    const sign = (i: number) => {
      const s = senders[i]
      return signTx(
        { scheme: 'ed25519', publicKey: s.publicKey, secret: s.secretKey },
        { networkId: NET, nonce: nonces[i]++, fee: 1000n, expiresAt: 5_000n, memo: '' },
        0x0101,
        transferPayload(to, 'pulse', 1n),
      )
    }
    const submit = async (i: number, bytes: Uint8Array) => {
      // Sender i always goes to the same validator, so its nonces arrive in order.
      const r = await fetchRetry(`${api[i % 4]}/txs`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      })
      await r.arrayBuffer()
      return r.status
    }

    // Block watcher on validator 0: time each block is first seen, and its txs.
    const seenAt = new Map<string, number>()
    let watched = await height()
    let watching = true
    const committedPerBlock: { height: bigint; txs: number; at: number }[] = []
    const watcher = (async () => {
      while (watching) {
        const h = await height().catch(() => watched)
        while (watched < h) {
          watched++
          const b = await getJson<{ txs: string[] }>(`${api[0]}/blocks/${watched}`)
          const at = performance.now()
          for (const t of b.txs) seenAt.set(t, at)
          committedPerBlock.push({ height: watched, txs: b.txs.length, at })
        }
        await sleep(25)
      }
    })()
    const stats0 = (await Promise.all(net.members.map((m) => net.status(m.index)))) as unknown as P2PStatus[]

    // ---- saturation ----
    const backlog: { i: number; bytes: Uint8Array; hash: string }[] = []
    for (let k = 0; k < SATURATION_TXS_PER_SENDER; k++)
      for (let i = 0; i < SENDERS; i++) {
        const t = sign(i)
        backlog.push({ i, bytes: t.bytes, hash: t.hash })
      }
    const satStart = performance.now()
    let refused = 0
    const LANES = 32
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        // In-order lanes: each sender's txs go in nonce order through one lane.
        for (let k = 0; k < SATURATION_TXS_PER_SENDER; k++)
          for (let i = lane; i < SENDERS; i += LANES) {
            const item = backlog[k * SENDERS + i]
            if ((await submit(item.i, item.bytes)) !== 202) refused++
          }
      }),
    )
    const submittedAt = performance.now()
    const satHashes = backlog.map((b) => b.hash)
    for (let k = 0; k < 1200 && satHashes.some((h) => !seenAt.has(h)); k++) await sleep(50)
    const satCommitted = satHashes.filter((h) => seenAt.has(h)).length
    const satEnd = Math.max(...satHashes.map((h) => seenAt.get(h) ?? 0))
    const satSeconds = (satEnd - satStart) / 1000
    const committedTps = satCommitted / satSeconds

    // ---- latency at 1,000 tx/s offered ----
    const submitAt = new Map<string, number>()
    const latStart = performance.now()
    const total = LATENCY_RATE * LATENCY_SECONDS
    let sent = 0
    let inflightCount = 0
    const lanes: Promise<unknown>[] = senders.map(() => Promise.resolve())
    const inflight: Promise<unknown>[] = []
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - latStart) / 1000) * LATENCY_RATE))
      // At most 256 requests in flight: beyond that the offered rate is what the nodes accept.
      while (sent < due && inflightCount < 256) {
        const i = sent % SENDERS
        const t = sign(i)
        const at = performance.now()
        submitAt.set(t.hash, at)
        inflightCount++
        // Per-sender chains keep each sender's nonces in order (a gap would be refused).
        lanes[i] = lanes[i].then(() => submit(i, t.bytes)).finally(() => inflightCount--)
        inflight.push(lanes[i])
        sent++
      }
      await sleep(5)
    }
    await Promise.all(inflight)
    const offeredSeconds = (performance.now() - latStart) / 1000
    for (let k = 0; k < 1200 && [...submitAt.keys()].some((h) => !seenAt.has(h)); k++) await sleep(50)
    const lat = [...submitAt].filter(([h]) => seenAt.has(h)).map(([h, t]) => seenAt.get(h)! - t)
    watching = false
    await watcher

    const stats1 = (await Promise.all(net.members.map((m) => net.status(m.index)))) as unknown as P2PStatus[]
    const committedTotal = satCommitted + lat.length
    const recv = stats1.reduce((a, s, i) => a + s.stats.receivedBytes - stats0[i].stats.receivedBytes, 0)
    const recvRaw = stats1.reduce(
      (a, s, i) => a + s.stats.receivedRawBytes - stats0[i].stats.receivedRawBytes,
      0,
    )

    // ---- block sync: restart validator 3 from an empty data dir? No: kill it, let the others
    // move on, restart it and read what the sync protocol moved. ----
    await net.kill(3, 'SIGKILL')
    const burst: Promise<unknown>[] = []
    for (let k = 0; k < 2000; k++) {
      const i = k % SENDERS
      if (i % 4 === 3) continue
      burst.push(submit(i, sign(i).bytes))
    }
    await Promise.all(burst)
    const hBefore = await height()
    await sleep(3000)
    const target = await height()
    await net.revive(3)
    let syncStatus = (await net.status(3)) as unknown as P2PStatus
    for (let k = 0; k < 600 && BigInt(syncStatus.heights[NET]) < target; k++) {
      await sleep(100)
      syncStatus = (await net.status(3)) as unknown as P2PStatus
    }
    const sync = syncStatus.sync[NET]

    return {
      setup: '4 validator processes, 127.0.0.1, libp2p tcp+noise+yamux+gossipsub, HTTP submit',
      rawVerifiesPerSecondAllCores: Math.round(raw.verifiesPerSecond),
      machineLimitTps: Math.round(limitTps),
      saturation: {
        txs: backlog.length,
        refused,
        committed: satCommitted,
        submitSeconds: +((submittedAt - satStart) / 1000).toFixed(2),
        seconds: +satSeconds.toFixed(2),
        committedTps: Math.round(committedTps),
        fractionOfLimit: +(committedTps / limitTps).toFixed(3),
      },
      latencyAt1000: {
        offeredTps: Math.round(total / offeredSeconds),
        committed: lat.length,
        of: total,
        p50Ms: Math.round(pct(lat, 50)),
        p99Ms: Math.round(pct(lat, 99)),
      },
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
      blocks: committedPerBlock.length,
    }
  } finally {
    await net.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
