/**
 * Analytics from the node's Prometheus metrics (polled every 2 s) and the live event stream: tx/s,
 * API latency percentiles over each poll window, mempool size, peers, consensus rounds per height
 * and trading volume.
 */
import { histogramQuantile, parsePrometheus, type Sample, sumOf } from '@pulsemesh/sdk'
import { useEffect, useMemo, useRef, useState } from 'react'
import { type Point, type SeriesSpec, TimeChart } from '../components/Charts.tsx'
import { Card, ErrorBox, Loading } from '../components/Status.tsx'
import { formatMs, formatNumber } from '../lib/format.ts'
import { client, live, orderedNetworks, useLive } from '../lib/live.ts'

const POLL_MS = 2000
const HISTORY = 300
const COLORS = ['#38bdf8', '#f59e0b', '#a78bfa', '#22c55e', '#ef4444', '#f472b6']

interface Snapshot {
  t: number
  txs: Record<string, number>
  mempool: Record<string, number>
  height: Record<string, number>
  rounds: Record<string, number>
  peers: number
  p50: number
  p95: number
  p99: number
  requests: number
  blockP50: number
  volume: number
}

/** Bucket counts of this poll minus the previous one, so quantiles describe the last window only. */
function windowSamples(now: Sample[], prev: Sample[] | undefined, name: string): Sample[] {
  if (!prev) return now.filter((s) => s.name === `${name}_bucket`)
  const key = (s: Sample) => JSON.stringify(s.labels)
  const before = new Map(prev.filter((s) => s.name === `${name}_bucket`).map((s) => [key(s), s.value]))
  return now
    .filter((s) => s.name === `${name}_bucket`)
    .map((s) => ({ ...s, value: s.value - (before.get(key(s)) ?? 0) }))
}

function byNetwork(samples: Sample[], name: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of samples) if (s.name === name && s.labels.network) out[s.labels.network] = s.value
  return out
}

const rate = (a: Snapshot, b: Snapshot, f: (s: Snapshot) => number) =>
  (f(b) - f(a)) / Math.max((b.t - a.t) / 1000, 1e-3)

export function Analytics() {
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  const [snaps, setSnaps] = useState<Snapshot[]>([])
  const [error, setError] = useState<Error | null>(null)
  const prev = useRef<Sample[] | undefined>(undefined)
  const volume = useRef(0)
  useEffect(
    () =>
      live.onEvent((m) => {
        const ev = m.event as { type?: string; attributes?: { key: string; value: string }[] } | undefined
        if (ev?.type !== 'exchange_fill') return
        volume.current += Number(ev.attributes?.find((a) => a.key === 'lots')?.value ?? 0)
      }),
    [],
  )
  useEffect(() => {
    let stop = false
    const poll = async () => {
      try {
        const s = parsePrometheus(await client.metricsText())
        const w = windowSamples(s, prev.current, 'pulsemesh_http_request_duration_seconds')
        prev.current = s
        const snap: Snapshot = {
          t: Date.now(),
          txs: byNetwork(s, 'pulsemesh_txs_committed_total'),
          mempool: byNetwork(s, 'pulsemesh_mempool_txs'),
          height: byNetwork(s, 'pulsemesh_head_height_blocks'),
          rounds: byNetwork(s, 'pulsemesh_consensus_rounds_total'),
          peers: sumOf(s, 'pulsemesh_connected_peers'),
          p50: histogramQuantile(w, 'pulsemesh_http_request_duration_seconds', 0.5) * 1000,
          p95: histogramQuantile(w, 'pulsemesh_http_request_duration_seconds', 0.95) * 1000,
          p99: histogramQuantile(w, 'pulsemesh_http_request_duration_seconds', 0.99) * 1000,
          requests: sumOf(s, 'pulsemesh_http_request_duration_seconds_count'),
          blockP50: histogramQuantile(s, 'pulsemesh_block_interval_seconds', 0.5) * 1000,
          volume: volume.current,
        }
        setSnaps((old) => [...old, snap].slice(-HISTORY))
        setError(null)
      } catch (e) {
        setError(e as Error)
      }
      if (!stop) setTimeout(poll, POLL_MS)
    }
    void poll()
    return () => {
      stop = true
    }
  }, [])

  const key = ids.join(',')
  // biome-ignore lint/correctness/useExhaustiveDependencies: ids are compared by value (key)
  const charts = useMemo(() => {
    const pairs = snaps.slice(1).map((s, i) => [snaps[i], s] as const)
    const tps: SeriesSpec[] = ids.map((id, i) => ({
      name: id,
      color: COLORS[i % COLORS.length],
      data: pairs.map(([a, b]) => ({ time: b.t / 1000, value: rate(a, b, (s) => s.txs[id] ?? 0) })),
    }))
    const lat: SeriesSpec[] = (['p50', 'p95', 'p99'] as const).map((k, i) => ({
      name: k,
      color: COLORS[i],
      data: snaps.filter((s) => Number.isFinite(s[k])).map((s) => ({ time: s.t / 1000, value: s[k] })),
    }))
    const mem: SeriesSpec[] = ids.map((id, i) => ({
      name: id,
      color: COLORS[i % COLORS.length],
      data: snaps.map((s) => ({ time: s.t / 1000, value: s.mempool[id] ?? 0 })),
    }))
    const rounds: SeriesSpec[] = ids.map((id, i) => ({
      name: id,
      color: COLORS[i % COLORS.length],
      data: pairs
        .filter(([a, b]) => (b.height[id] ?? 0) > (a.height[id] ?? 0))
        .map(([a, b]) => ({
          time: b.t / 1000,
          value: ((b.rounds[id] ?? 0) - (a.rounds[id] ?? 0)) / ((b.height[id] ?? 0) - (a.height[id] ?? 0)),
        })),
    }))
    const vol: SeriesSpec[] = [
      {
        name: 'lots traded',
        color: '#22c55e',
        kind: 'histogram',
        data: pairs.map(([a, b]): Point => ({ time: b.t / 1000, value: b.volume - a.volume })),
      },
    ]
    return { tps, lat, mem, rounds, vol }
  }, [snaps, key])

  const last = snaps[snaps.length - 1]
  const before = snaps[snaps.length - 2]
  return (
    <>
      <h1>Analytics</h1>
      <p className="lead">
        From this node's <a href="/metrics">/metrics</a> every {POLL_MS / 1000} s and its event stream.
      </p>
      {error && <ErrorBox error={error} />}
      {!last ? (
        <Loading what="Reading metrics" />
      ) : (
        <dl className="stats wide" data-testid="analytics-stats">
          <div>
            <dt>tx/s (all networks)</dt>
            <dd>
              {before
                ? formatNumber(
                    rate(before, last, (s) => Object.values(s.txs).reduce((x, y) => x + y, 0)),
                    2,
                  )
                : '…'}
            </dd>
          </div>
          <div>
            <dt>API latency p50 / p95 / p99</dt>
            <dd>
              {formatMs(last.p50)} / {formatMs(last.p95)} / {formatMs(last.p99)}
            </dd>
          </div>
          <div>
            <dt>mempool</dt>
            <dd>{Object.values(last.mempool).reduce((x, y) => x + y, 0)} txs</dd>
          </div>
          <div>
            <dt>peers</dt>
            <dd>{last.peers}</dd>
          </div>
          <div>
            <dt>block interval p50</dt>
            <dd>{formatMs(last.blockP50)}</dd>
          </div>
          <div>
            <dt>volume (this session)</dt>
            <dd>{formatNumber(last.volume, 0)} lots</dd>
          </div>
        </dl>
      )}
      <div className="two">
        <Card title="Transactions per second">
          <TimeChart series={charts.tps} label="tx/s per network" />
        </Card>
        <Card title="API latency (ms, per window)">
          <TimeChart series={charts.lat} label="API latency percentiles" />
        </Card>
        <Card title="Mempool size (txs)">
          <TimeChart series={charts.mem} label="mempool size per network" />
        </Card>
        <Card title="Consensus rounds per height">
          <TimeChart series={charts.rounds} label="consensus rounds per height" />
          <p className="muted small">1 means every block committed in its first round.</p>
        </Card>
        <Card title="Trading volume (lots per window)">
          <TimeChart series={charts.vol} label="trading volume" />
        </Card>
      </div>
    </>
  )
}
