/**
 * Prometheus metrics (prom-client) on a registry of our own, so several APIs in one process (tests,
 * benchmarks) do not collide. Names end in their unit (Prometheus naming guide).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'
import type { TopicStats } from '../p2p/p2p-node.ts'

/** Resolution of the event-loop delay histogram (`pulsemesh_process_nodejs_eventloop_lag_*`). */
export const EVENT_LOOP_SAMPLE_MS = 1000

/** What the p2p layer reports to /metrics (cumulative counts since start; plain numbers, no libp2p types). */
export interface P2PFigures {
  peers: number
  blockedNow: number
  blockedTotal: number
  penalties: number
  penaltyPoints: number
  redials: number
  /** Bytes before/after zstd framing, gossip and sync together. */
  compressionRawBytes: number
  compressionFrameBytes: number
  networks: {
    id: string
    role: string
    /** Peers subscribed to any topic of the network. */
    peers: number
    syncBehind: number
    peerHeight: number
    blocksSynced: number
    blocksServed: number
    syncBytesIn: number
    syncBytesOut: number
    badSyncPeers: number
    /** Height of the snapshot this node joined by (0 = none). */
    snapshotInstalledHeight: number
    snapshotChunksServed: number
    snapshotChunksFetched: number
    topics: ({ topic: string; peers: number } & TopicStats)[]
  }[]
}

type Labels = Record<string, string>

/**
 * A prom-client Counter fed from a cumulative figure owned elsewhere: each scrape adds the growth
 * since the previous scrape (so the series is a true counter: it never goes down).
 */
function mirrorCounter(
  r: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Labels, number][],
): void {
  const last = new Map<string, number>()
  new Counter({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      for (const [labels, v] of read()) {
        const k = JSON.stringify(labels)
        const d = v - (last.get(k) ?? 0)
        if (d > 0 || !last.has(k)) this.inc(labels, Math.max(0, d))
        last.set(k, Math.max(v, last.get(k) ?? 0))
      }
    },
  })
}

function gauge(
  r: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Labels, number][],
) {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      for (const [labels, v] of read()) this.set(labels, v)
    },
  })
}

/** The p2p series: peers, gossip by topic, admission verdicts, penalties, sync, compression. */
function registerP2P(r: Registry, figures: () => P2PFigures): void {
  // One read per scrape: every collect() below runs within the same registry.metrics() call.
  let cached: { at: number; f: P2PFigures } | undefined
  const f = () => {
    const now = performance.now()
    if (!cached || now - cached.at > 50) cached = { at: now, f: figures() }
    return cached.f
  }
  const perNet = (pick: (n: P2PFigures['networks'][number]) => number) => (): [Labels, number][] =>
    f().networks.map((n) => [{ network: n.id }, pick(n)])
  type T = P2PFigures['networks'][number]['topics'][number]
  const perTopic = (pick: (t: T) => number) => (): [Labels, number][] =>
    f().networks.flatMap((n) =>
      n.topics.map(
        (t) => [{ network: n.id, topic: t.topic.split('/')[3] ?? t.topic }, pick(t)] as [Labels, number],
      ),
    )
  gauge(
    r,
    'pulsemesh_p2p_network_peers',
    'connected peers subscribed to a topic of the network',
    ['network'],
    perNet((n) => n.peers),
  )
  gauge(
    r,
    'pulsemesh_p2p_topic_peers',
    'connected peers subscribed to the topic',
    ['network', 'topic'],
    perTopic((t) => t.peers),
  )
  gauge(
    r,
    'pulsemesh_p2p_network_role',
    'this node on the network (1 for its role)',
    ['network', 'role'],
    () => f().networks.map((n) => [{ network: n.id, role: n.role }, 1]),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_gossip_messages_in_total',
    'gossip messages received',
    ['network', 'topic'],
    perTopic((t) => t.messagesIn),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_gossip_bytes_in_total',
    'gossip payload bytes received (compressed)',
    ['network', 'topic'],
    perTopic((t) => t.bytesIn),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_gossip_messages_out_total',
    'gossip messages published',
    ['network', 'topic'],
    perTopic((t) => t.messagesOut),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_gossip_bytes_out_total',
    'gossip payload bytes published (compressed)',
    ['network', 'topic'],
    perTopic((t) => t.bytesOut),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_gossip_verdicts_total',
    'admission verdicts of received gossip',
    ['network', 'topic', 'verdict'],
    () =>
      f().networks.flatMap((n) =>
        n.topics.flatMap((t) => {
          const topic = t.topic.split('/')[3] ?? t.topic
          return (['accepted', 'ignored', 'rejected', 'rateLimited', 'oversized'] as const).map(
            (v) => [{ network: n.id, topic, verdict: v }, t[v]] as [Labels, number],
          )
        }),
      ),
  )
  mirrorCounter(r, 'pulsemesh_p2p_penalties_total', 'penalties given to peers', [], () => [
    [{}, f().penalties],
  ])
  mirrorCounter(r, 'pulsemesh_p2p_penalty_points_total', 'penalty points given to peers', [], () => [
    [{}, f().penaltyPoints],
  ])
  mirrorCounter(
    r,
    'pulsemesh_p2p_peers_blocked_total',
    'peers disconnected and blocked for misbehaviour',
    [],
    () => [[{}, f().blockedTotal]],
  )
  gauge(r, 'pulsemesh_p2p_peers_blocked', 'peers blocked right now', [], () => [[{}, f().blockedNow]])
  mirrorCounter(
    r,
    'pulsemesh_p2p_redials_total',
    'dial attempts to known peers after a disconnect',
    [],
    () => [[{}, f().redials]],
  )
  gauge(
    r,
    'pulsemesh_p2p_sync_behind_blocks',
    'blocks the best peer is ahead of this node',
    ['network'],
    perNet((n) => n.syncBehind),
  )
  gauge(
    r,
    'pulsemesh_p2p_peer_height_blocks',
    'best head height a peer reported',
    ['network'],
    perNet((n) => n.peerHeight),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_sync_blocks_in_total',
    'blocks fetched by block sync',
    ['network'],
    perNet((n) => n.blocksSynced),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_sync_blocks_out_total',
    'blocks served to peers by block sync',
    ['network'],
    perNet((n) => n.blocksServed),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_sync_bytes_in_total',
    'block sync bytes received (compressed)',
    ['network'],
    perNet((n) => n.syncBytesIn),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_sync_bytes_out_total',
    'block sync bytes served (compressed)',
    ['network'],
    perNet((n) => n.syncBytesOut),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_sync_bad_peers_total',
    'sync peers blamed for undecodable or unacceptable blocks',
    ['network'],
    perNet((n) => n.badSyncPeers),
  )
  gauge(
    r,
    'pulsemesh_p2p_snapshot_installed_height_blocks',
    'height of the state snapshot this node joined by (0 = replayed from genesis)',
    ['network'],
    perNet((n) => n.snapshotInstalledHeight),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_snapshot_chunks_out_total',
    'state snapshot chunks served to peers',
    ['network'],
    perNet((n) => n.snapshotChunksServed),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_snapshot_chunks_in_total',
    'state snapshot chunks fetched',
    ['network'],
    perNet((n) => n.snapshotChunksFetched),
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_compression_raw_bytes_total',
    'payload bytes before zstd framing',
    [],
    () => [[{}, f().compressionRawBytes]],
  )
  mirrorCounter(
    r,
    'pulsemesh_p2p_compression_saved_bytes_total',
    'bytes saved by zstd framing (raw - framed)',
    [],
    () => [[{}, Math.max(0, f().compressionRawBytes - f().compressionFrameBytes)]],
  )
}

export class ApiMetrics {
  readonly registry = new Registry()
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly webhookFailures: Counter<'network'>
  readonly wsClients: Gauge
  readonly wsDropped: Counter
  private readonly detach: (() => void)[] = []

  constructor(
    networks: Map<string, NetworkNode>,
    o: { peers?: () => number; defaults?: boolean; p2p?: () => P2PFigures } = {},
  ) {
    const r = this.registry
    // The event-loop delay histogram samples on a native libuv timer: prom-client's default 10 ms
    // woke an idle node 100 times a second (its largest idle cost once nothing else polled). One
    // sample a second still catches every stall longer than that, and the rest in proportion.
    if (o.defaults !== false)
      collectDefaultMetrics({
        register: r,
        prefix: 'pulsemesh_process_',
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      })
    if (o.p2p) registerP2P(r, o.p2p)
    const height = new Gauge({
      name: 'pulsemesh_head_height_blocks',
      help: 'height of the head block',
      labelNames: ['network'],
      registers: [r],
    })
    const interval = new Histogram({
      name: 'pulsemesh_block_interval_seconds',
      help: 'BFT time between consecutive blocks',
      labelNames: ['network'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [r],
    })
    const txs = new Counter({
      name: 'pulsemesh_txs_committed_total',
      help: 'txs committed (rate() of it is tx/s)',
      labelNames: ['network'],
      registers: [r],
    })
    const rounds = new Counter({
      name: 'pulsemesh_consensus_rounds_total',
      help: 'consensus rounds used to commit blocks (round + 1 per block)',
      labelNames: ['network'],
      registers: [r],
    })
    new Gauge({
      name: 'pulsemesh_mempool_txs',
      help: 'txs waiting in the mempool',
      labelNames: ['network'],
      registers: [r],
      collect() {
        for (const n of networks.values()) this.set({ network: n.id }, n.mempool.size)
      },
    })
    new Gauge({
      name: 'pulsemesh_mempool_bytes',
      help: 'bytes of txs waiting in the mempool',
      labelNames: ['network'],
      registers: [r],
      collect() {
        for (const n of networks.values()) this.set({ network: n.id }, n.mempool.sizeBytes)
      },
    })
    const p2p = o.p2p
    const peers = o.peers ?? (p2p ? () => p2p().peers : () => 0)
    new Gauge({
      name: 'pulsemesh_connected_peers',
      help: 'connected p2p peers',
      registers: [r],
      collect() {
        this.set(peers())
      },
    })
    this.httpDuration = new Histogram({
      name: 'pulsemesh_http_request_duration_seconds',
      help: 'API request latency by route template',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    })
    this.webhookFailures = new Counter({
      name: 'pulsemesh_webhook_failures_total',
      help: 'failed webhook delivery attempts',
      labelNames: ['network'],
      registers: [r],
    })
    this.wsClients = new Gauge({
      name: 'pulsemesh_ws_clients',
      help: 'open WebSocket connections',
      registers: [r],
    })
    this.wsDropped = new Counter({
      name: 'pulsemesh_ws_dropped_total',
      help: 'WebSocket clients dropped for being too slow',
      registers: [r],
    })

    for (const n of networks.values()) {
      height.set({ network: n.id }, Number(n.height))
      let lastMs = n.headHeader?.timeMs
      const onBlock = (b: CommittedBlock) => {
        height.set({ network: n.id }, Number(b.height))
        txs.inc({ network: n.id }, b.txHashes.length)
        if (lastMs !== undefined && b.header.timeMs >= lastMs)
          interval.observe({ network: n.id }, Number(b.header.timeMs - lastMs) / 1000)
        lastMs = b.header.timeMs
        // Single-validator production commits in round 0; the consensus engine will report its round.
        rounds.inc({ network: n.id }, 1)
      }
      n.on('block', onBlock)
      this.detach.push(() => n.off('block', onBlock))
    }
  }

  close(): void {
    for (const d of this.detach) d()
  }
}
