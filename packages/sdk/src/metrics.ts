/** Parsing the node's Prometheus text (/metrics) into samples, and quantiles of its histograms. */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    if (m[2]) for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1')
    const value = m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3])
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value })
  }
  return out
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let s = 0
  for (const x of samples)
    if (x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v)) s += x.value
  return s
}

/**
 * The q-quantile (0..1) of histogram `name` (all series matching `match` merged), by linear
 * interpolation inside the bucket, as Prometheus' histogram_quantile does. NaN without observations.
 */
export function histogramQuantile(
  samples: Sample[],
  name: string,
  q: number,
  match: Record<string, string> = {},
): number {
  const buckets = new Map<number, number>()
  for (const x of samples) {
    if (x.name !== `${name}_bucket`) continue
    if (!Object.entries(match).every(([k, v]) => x.labels[k] === v)) continue
    const le = x.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(x.labels.le)
    buckets.set(le, (buckets.get(le) ?? 0) + x.value)
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0])
  const total = sorted.length ? sorted[sorted.length - 1][1] : 0
  if (total === 0) return Number.NaN
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(count - prevCount, 1e-12)
    }
    prevLe = le
    prevCount = count
  }
  return prevLe
}
