/** Pure formatting and parsing for the dashboard (no DOM): unit-tested under node:test. */

/** `amount` base units with `decimals` as a decimal string with thousands separators. */
export function formatUnits(amount: string | bigint, decimals: number, maxFraction = decimals): string {
  const v = typeof amount === 'bigint' ? amount : BigInt(amount)
  const neg = v < 0n
  const abs = neg ? -v : v
  const scale = 10n ** BigInt(decimals)
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  let frac = decimals > 0 ? (abs % scale).toString().padStart(decimals, '0').slice(0, maxFraction) : ''
  frac = frac.replace(/0+$/, '')
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`
}

export class InputError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** A user's decimal text ("1.5", "1,000") in base units; throws InputError on anything else. */
export function parseUnits(text: string, decimals: number): bigint {
  const s = text.trim().replace(/,/g, '')
  const m = /^([0-9]{1,30})(?:\.([0-9]*))?$/.exec(s)
  if (m === null) throw new InputError('INVALID_AMOUNT', 'amount must be a positive decimal number')
  const frac = m[2] ?? ''
  if (frac.length > decimals) throw new InputError('INVALID_AMOUNT', `at most ${decimals} decimal places`)
  const v =
    BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0')
  if (v <= 0n) throw new InputError('INVALID_AMOUNT', 'amount must be greater than zero')
  return v
}

/** A non-negative integer in text (prices and sizes in base units). */
export function parseInteger(text: string, what: string): bigint {
  const s = text.trim()
  if (!/^[0-9]{1,30}$/.test(s)) throw new InputError('INVALID_NUMBER', `${what} must be a whole number`)
  return BigInt(s)
}

export function shortHash(h: string, n = 8): string {
  return h.length <= n * 2 + 1 ? h : `${h.slice(0, n)}…${h.slice(-4)}`
}

export function formatNumber(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '–'
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–'
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

/** "3 s ago" etc. from two epoch-ms times. */
export function timeAgo(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86_400)} d ago`
}

export type SearchTarget =
  | { kind: 'height'; height: string }
  | { kind: 'hash'; hash: string }
  | { kind: 'address'; address: string }
  | { kind: 'invalid'; reason: string }

/** What a search box entry means: a block height, a 32-byte hash (tx or block) or an address. */
export function classifySearch(q: string, addressPrefix: string): SearchTarget {
  const s = q.trim()
  if (s === '') return { kind: 'invalid', reason: 'type a height, a hash or an address' }
  if (/^[0-9]{1,19}$/.test(s)) return { kind: 'height', height: String(BigInt(s)) }
  const h = s.toLowerCase().replace(/^0x/, '')
  if (/^[0-9a-f]{64}$/.test(h)) return { kind: 'hash', hash: h }
  if (s.toLowerCase().startsWith(`${addressPrefix}1`) && /^[a-z0-9]+$/.test(s.toLowerCase()))
    return { kind: 'address', address: s.toLowerCase() }
  return {
    kind: 'invalid',
    reason: `not a height, a 64-hex hash or an address starting with ${addressPrefix}1`,
  }
}

/**
 * Transactions per second over the blocks of the last `windowMs` of BFT time: txs of every block
 * after the first in the window, over the time from that first block to the last.
 */
export function txRate(blocks: { timeMs: number; txCount: number }[], windowMs: number): number {
  if (blocks.length < 2) return 0
  const end = blocks[blocks.length - 1].timeMs
  let txs = 0
  let i = blocks.length - 1
  while (i > 0 && end - blocks[i - 1].timeMs <= windowMs) {
    txs += blocks[i].txCount
    i--
  }
  const span = end - blocks[i].timeMs
  return span > 0 ? (txs * 1000) / span : 0
}

/** Mean interval between consecutive blocks (ms) over the last `n`. */
export function meanInterval(blocks: { timeMs: number }[], n = 20): number {
  const tail = blocks.slice(-n - 1)
  if (tail.length < 2) return Number.NaN
  return (tail[tail.length - 1].timeMs - tail[0].timeMs) / (tail.length - 1)
}

/** Cumulative depth from best price outwards: [price, cumulative lots] per level. */
export function cumulativeDepth(
  levels: { price: string; lots: string }[],
): { price: number; total: number }[] {
  let total = 0
  return levels.map((l) => {
    total += Number(l.lots)
    return { price: Number(l.price), total }
  })
}
