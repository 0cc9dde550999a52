/**
 * Idle cost of the default devnet (`npm start`): 4 validator processes, each hosting hub,
 * emotionalchain, tenant-a and tenant-b over one libp2p host, v0 also relaying hub <-> each.
 * Started on free ports in a temp home; once v0 relays and every network is past height 1, it
 * waits IDLE_BENCH_SETTLE_MS (default 20 s) and then measures over a fixed window
 * (IDLE_BENCH_WINDOW_MS, default 60 s) with nothing submitted:
 *  - CPU per process from /proc/<pid>/stat (utime + stime: CPU-seconds actually consumed, so
 *    other load on the machine stretches nothing but the wall clock) as % of one core and as
 *    CPU-seconds per minute; this bench process (the devnet parent) too;
 *  - what the processes did meanwhile (IPC status of each): blocks per network, gossip messages
 *    received, block-sync status requests and heads polls (each a libp2p stream), load average.
 * hub and the tenants are idle by design (no empty blocks; a 30 s heartbeat block); emotionalchain
 * keeps its 2 s blocks (its epochs count blocks) and each process's Proof of Emotion agent attests
 * once per 20-block epoch, so that network's consensus is part of the idle figure.
 * IDLE_BENCH_HEARTBEAT_MS and IDLE_BENCH_EMOTION_BLOCK_MS (a new temp devnet each run) change the
 * hub/tenant heartbeat (default 30 s) and emotionalchain's block interval (default 2 s): with both
 * long, what is left is the cost of the processes themselves (libp2p, timers, runtime).
 * Comparison: one core (each figure is a fraction of it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startMeshProcessDevnet } from '../packages/node/src/mesh/devnet-processes.ts'

const SETTLE_MS = Number(process.env.IDLE_BENCH_SETTLE_MS ?? 20_000)
const WINDOW_MS = Number(process.env.IDLE_BENCH_WINDOW_MS ?? 60_000)
const HEARTBEAT_MS = Number(process.env.IDLE_BENCH_HEARTBEAT_MS ?? 30_000)
const EMOTION_BLOCK_MS = Number(process.env.IDLE_BENCH_EMOTION_BLOCK_MS ?? 2000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** CPU-seconds a process has used (user + system), from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(f[11]) + Number(f[12]) // utime, stime (fields 14 and 15)
  return ticks / 100 // USER_HZ: 100 on Linux
}

interface Status {
  heights: Record<string, string>
  stats: { received: number; published: number }
  sync: Record<string, { statusRequests?: number; fetchedBlocks: number }>
  heads?: { polls: number }
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'pulsemesh-idle-'))
  let relaying = false
  const { net } = await startMeshProcessDevnet({
    dir,
    basePort: 0,
    heartbeatMs: HEARTBEAT_MS,
    emotionBlockIntervalMs: EMOTION_BLOCK_MS,
    onLine: (i, line) => {
      if (i === 0 && line.includes('mesh: relaying')) relaying = true
    },
  })
  try {
    const n = net.members.length
    const status = (i: number) => net.status(i) as unknown as Promise<Status>
    const startedAt = performance.now()
    for (;;) {
      const s = await status(0)
      if (relaying && Object.values(s.heights).every((h) => BigInt(h) >= 2n)) break
      if (performance.now() - startedAt > 180_000) throw new Error('devnet did not settle in 180 s')
      await sleep(500)
    }
    await sleep(SETTLE_MS)
    const pids = net.members.map((m) => m.child!.pid!)
    const before = await Promise.all(net.members.map((_, i) => status(i)))
    const load0 = os.loadavg()
    const self0 = process.cpuUsage()
    const cpu0 = pids.map(cpuSeconds)
    const t0 = performance.now()
    await sleep(WINDOW_MS)
    const cpu1 = pids.map(cpuSeconds)
    const wallS = (performance.now() - t0) / 1000
    const self = process.cpuUsage(self0)
    const load1 = os.loadavg()
    const after = await Promise.all(net.members.map((_, i) => status(i)))
    const perProcess = net.members.map((m, i) => {
      const used = cpu1[i]! - cpu0[i]!
      const b = before[i]!
      const a = after[i]!
      const syncReq = (s: Status) =>
        Object.values(s.sync).reduce((x, y) => x + (y.statusRequests ?? 0), 0)
      return {
        name: m.name,
        cpuCoreFraction: +(used / wallS).toFixed(4),
        cpuSecondsPerMinute: +((used / wallS) * 60).toFixed(2),
        gossipReceivedPerSecond: +((a.stats.received - b.stats.received) / wallS).toFixed(2),
        gossipPublishedPerSecond: +((a.stats.published - b.stats.published) / wallS).toFixed(2),
        syncStatusRequestsPerSecond: +((syncReq(a) - syncReq(b)) / wallS).toFixed(2),
        headsPollsPerSecond: +(((a.heads?.polls ?? 0) - (b.heads?.polls ?? 0)) / wallS).toFixed(2),
        blocksInWindow: Object.fromEntries(
          Object.keys(a.heights).map((id) => [id, Number(BigInt(a.heights[id]!) - BigInt(b.heights[id]!))]),
        ),
      }
    })
    const fractions = perProcess.map((p) => p.cpuCoreFraction)
    return {
      processes: n,
      networksPerProcess: Object.keys(after[0]!.heights).length,
      heartbeatMs: HEARTBEAT_MS,
      emotionBlockIntervalMs: EMOTION_BLOCK_MS,
      settleMs: SETTLE_MS,
      windowMs: WINDOW_MS,
      loadAverage1mStartEnd: [+load0[0]!.toFixed(2), +load1[0]!.toFixed(2)],
      idleCpuCoreFractionPerProcess: fractions,
      idleCpuSecondsPerMinutePerProcess: perProcess.map((p) => p.cpuSecondsPerMinute),
      parentCpuCoreFraction: +((self.user + self.system) / 1e6 / wallS).toFixed(4),
      perProcess,
    }
  } finally {
    await net.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
