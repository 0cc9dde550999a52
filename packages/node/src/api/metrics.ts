/**
 * Prometheus metrics (prom-client) on a registry of our own, so several APIs in one process (tests,
 * benchmarks) do not collide. Names end in their unit (Prometheus naming guide).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'

export class ApiMetrics {
  readonly registry = new Registry()
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  readonly webhookFailures: Counter<'network'>
  readonly wsClients: Gauge
  readonly wsDropped: Counter
  private readonly detach: (() => void)[] = []

  constructor(networks: Map<string, NetworkNode>, o: { peers?: () => number; defaults?: boolean } = {}) {
    const r = this.registry
    if (o.defaults !== false) collectDefaultMetrics({ register: r, prefix: 'pulsemesh_process_' })
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
    const peers = o.peers ?? (() => 0)
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
