/** Charts: time series and candles on lightweight-charts (canvas), the book's depth as plain SVG. */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type SeriesType,
  type UTCTimestamp,
} from 'lightweight-charts'
import { useEffect, useRef } from 'react'
import { cumulativeDepth, formatNumber } from '../lib/format.ts'

const theme = {
  layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#94a3b8' },
  grid: { vertLines: { color: '#1e293b' }, horzLines: { color: '#1e293b' } },
  autoSize: true,
  timeScale: { timeVisible: true, secondsVisible: true, borderColor: '#334155' },
  rightPriceScale: { borderColor: '#334155' },
}

export interface Point {
  /** Unix seconds. */
  time: number
  value: number
}
export interface SeriesSpec {
  name: string
  color: string
  kind?: 'line' | 'histogram'
  data: Point[]
}

/** One point per second at most (the library needs strictly increasing times): last value wins. */
export function dedupeTimes(data: Point[]): Point[] {
  const out: Point[] = []
  for (const p of data) {
    const t = Math.floor(p.time)
    if (out.length && out[out.length - 1].time === t) out[out.length - 1] = { time: t, value: p.value }
    else if (!out.length || t > out[out.length - 1].time) out.push({ time: t, value: p.value })
  }
  return out
}

export function TimeChart({
  series,
  height = 220,
  label,
  xLabel,
}: {
  series: SeriesSpec[]
  height?: number
  label: string
  /** Labels for a non-time x axis carried as "seconds" (e.g. epoch numbers). */
  xLabel?: (x: number) => string
}) {
  const box = useRef<HTMLDivElement>(null)
  const chart = useRef<IChartApi | null>(null)
  const lines = useRef(new Map<string, ISeriesApi<SeriesType>>())
  // biome-ignore lint/correctness/useExhaustiveDependencies: the axis labelling is fixed per chart
  useEffect(() => {
    if (!box.current) return
    const c = createChart(box.current, theme)
    if (xLabel)
      c.applyOptions({
        timeScale: { tickMarkFormatter: (t: unknown) => xLabel(Number(t)) },
        localization: { timeFormatter: (t: unknown) => xLabel(Number(t)) },
      })
    chart.current = c
    const m = lines.current
    return () => {
      m.clear()
      c.remove()
      chart.current = null
    }
  }, [])
  useEffect(() => {
    const c = chart.current
    if (!c) return
    for (const s of series) {
      let api = lines.current.get(s.name)
      if (!api) {
        api =
          s.kind === 'histogram'
            ? c.addSeries(HistogramSeries, { color: s.color, title: s.name })
            : c.addSeries(LineSeries, { color: s.color, lineWidth: 2, title: s.name })
        lines.current.set(s.name, api)
      }
      api.setData(dedupeTimes(s.data).map((p) => ({ time: p.time as UTCTimestamp, value: p.value })))
    }
  }, [series])
  return <div ref={box} className="chart" style={{ height }} role="img" aria-label={label} />
}

export interface CandlePoint {
  time: number
  open: number
  high: number
  low: number
  close: number
  volume: number
}

export function CandleChart({ candles, height = 300 }: { candles: CandlePoint[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null)
  const api = useRef<{ c: ISeriesApi<'Candlestick'>; v: ISeriesApi<'Histogram'> } | null>(null)
  useEffect(() => {
    if (!box.current) return
    const chart = createChart(box.current, theme)
    const c = chart.addSeries(CandlestickSeries, {
      upColor: '#22c55e',
      downColor: '#ef4444',
      wickUpColor: '#22c55e',
      wickDownColor: '#ef4444',
      borderVisible: false,
    })
    const v = chart.addSeries(HistogramSeries, {
      color: '#334155',
      priceScaleId: 'vol',
      priceFormat: { type: 'volume' },
    })
    chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } })
    api.current = { c, v }
    return () => {
      api.current = null
      chart.remove()
    }
  }, [])
  useEffect(() => {
    if (!api.current) return
    api.current.c.setData(
      candles.map((k) => ({
        time: k.time as UTCTimestamp,
        open: k.open,
        high: k.high,
        low: k.low,
        close: k.close,
      })),
    )
    api.current.v.setData(candles.map((k) => ({ time: k.time as UTCTimestamp, value: k.volume })))
  }, [candles])
  return (
    <div ref={box} className="chart" style={{ height }} role="img" aria-label="price candles and volume" />
  )
}

type Level = { price: string; lots: string }

/** Cumulative bid and ask depth around the spread, as step areas. */
export function DepthChart({
  bids,
  asks,
  height = 200,
  sizeUnit = 'lots',
}: {
  bids: Level[]
  asks: Level[]
  height?: number
  sizeUnit?: string
}) {
  const b = cumulativeDepth(bids)
  const a = cumulativeDepth(asks)
  const all = [...b, ...a]
  if (all.length === 0) return <p className="muted">The book is empty.</p>
  const W = 600
  const H = height
  const minP = Math.min(...all.map((x) => x.price))
  const maxP = Math.max(...all.map((x) => x.price))
  const maxT = Math.max(...all.map((x) => x.total), 1)
  const span = maxP - minP || 1
  const x = (p: number) => 8 + ((p - minP) / span) * (W - 16)
  const y = (t: number) => H - 16 - (t / maxT) * (H - 28)
  const path = (side: { price: number; total: number }[]) => {
    if (!side.length) return ''
    let d = `M ${x(side[0].price)} ${H - 16}`
    let prevT = 0
    for (const s of side) {
      d += ` L ${x(s.price)} ${y(prevT)} L ${x(s.price)} ${y(s.total)}`
      prevT = s.total
    }
    d += ` L ${x(side[side.length - 1].price)} ${H - 16} Z`
    return d
  }
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="depth"
      role="img"
      aria-label={`depth: ${b.length} bid levels, ${a.length} ask levels`}
      preserveAspectRatio="none"
      style={{ height }}
    >
      <path d={path(b)} fill="rgba(34,197,94,0.25)" stroke="#22c55e" />
      <path d={path(a)} fill="rgba(239,68,68,0.25)" stroke="#ef4444" />
      <text x={8} y={H - 2} fill="#94a3b8" fontSize="11">
        {formatNumber(minP, 8)}
      </text>
      <text x={W - 8} y={H - 2} fill="#94a3b8" fontSize="11" textAnchor="end">
        {formatNumber(maxP, 8)}
      </text>
      <text x={8} y={12} fill="#94a3b8" fontSize="11">
        {formatNumber(maxT, 8)} {sizeUnit}
      </text>
    </svg>
  )
}
