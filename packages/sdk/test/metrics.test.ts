import assert from 'node:assert/strict'
import { test } from 'node:test'
import { histogramQuantile, parsePrometheus, sumOf } from '../src/metrics.ts'

const TEXT = `# HELP pulsemesh_txs_committed_total txs
# TYPE pulsemesh_txs_committed_total counter
pulsemesh_txs_committed_total{network="hub"} 12
pulsemesh_txs_committed_total{network="tenant-a"} 3
pulsemesh_connected_peers 2
lat_bucket{le="0.01",route="/a"} 50
lat_bucket{le="0.1",route="/a"} 90
lat_bucket{le="+Inf",route="/a"} 100
lat_bucket{le="0.01",route="/b"} 0
lat_bucket{le="0.1",route="/b"} 0
lat_bucket{le="+Inf",route="/b"} 0
weird{label="a \\"quoted\\" value"} 1
garbage line without value
`

test('parsePrometheus reads names, labels (with escapes) and values; skips comments and junk', () => {
  const s = parsePrometheus(TEXT)
  assert.equal(sumOf(s, 'pulsemesh_txs_committed_total'), 15)
  assert.equal(sumOf(s, 'pulsemesh_txs_committed_total', { network: 'hub' }), 12)
  assert.equal(sumOf(s, 'pulsemesh_connected_peers'), 2)
  assert.equal(s.find((x) => x.name === 'weird')?.labels.label, 'a "quoted" value')
  assert.equal(
    s.some((x) => x.name === 'garbage'),
    false,
  )
})

test('histogramQuantile interpolates inside the bucket like histogram_quantile', () => {
  const s = parsePrometheus(TEXT)
  assert.equal(histogramQuantile(s, 'lat', 0.5), 0.01)
  assert.ok(Math.abs(histogramQuantile(s, 'lat', 0.7) - (0.01 + 0.09 * 0.5)) < 1e-12)
  // Rank in the +Inf bucket: the highest finite bound.
  assert.equal(histogramQuantile(s, 'lat', 0.99), 0.1)
  assert.ok(Number.isNaN(histogramQuantile(s, 'lat', 0.5, { route: '/b' })), 'no observations -> NaN')
  assert.ok(Number.isNaN(histogramQuantile([], 'lat', 0.5)))
})
