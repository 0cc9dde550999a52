/**
 * Oracle price from validator reports: stake-weighted median with staleness, quorum and
 * deviation guards. Pure bigint; timestamps are whatever integer clock the caller uses (BFT
 * time in ms on chain) and `now` is passed in, never read.
 *
 * Rules:
 * - a report is fresh when now - maxAge <= timestamp <= now (future reports are not fresh);
 * - quorum: fresh stake * 3 > totalStake * 2 (more than 2/3 of the set's stake has reported);
 * - the price is the lower stake-weighted median of the fresh reports sorted by (price,
 *   validator): the first price at which the cumulative stake reaches half the fresh stake
 *   (2 * cumulative >= fresh). Fewer than 1/2 of the fresh stake can move it no further than the
 *   honest reports' range;
 * - deviation guard: with a previous price, a median that moved more than maxDeviationBps is
 *   refused (ORACLE_DEVIATION_TOO_LARGE) so the caller keeps the old price and can halt;
 * - reports further than maxDeviationBps from the median are listed as outliers (evidence for
 *   the slashing module, not excluded: the median is already robust).
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { absBig } from './bigint-math.ts'

export interface PriceReport {
  validator: string
  price: bigint
  stake: bigint
  timestamp: bigint
}

export interface OracleParams {
  now: bigint
  maxAge: bigint
  maxDeviationBps: bigint
  /** Stake of the whole validator set (reported or not). */
  totalStake: bigint
  previousPrice?: bigint
}

export interface OracleResult {
  price: bigint
  freshStake: bigint
  /** Validators whose fresh reports were used, sorted. */
  used: string[]
  stale: string[]
  outliers: string[]
}

export const MAX_REPORTS = 10_000

export type OracleErrorCode =
  | 'ORACLE_BAD_INPUT'
  | 'ORACLE_DUPLICATE_VALIDATOR'
  | 'ORACLE_NO_QUORUM'
  | 'ORACLE_DEVIATION_TOO_LARGE'

function fail(code: OracleErrorCode, message: string, meta: Record<string, unknown> = {}): never {
  throw new PulseError(code, message, meta)
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export function aggregatePrice(reports: readonly PriceReport[], params: OracleParams): OracleResult {
  const { now, maxAge, maxDeviationBps, totalStake, previousPrice } = params
  for (const [k, v] of Object.entries({ now, maxAge, maxDeviationBps, totalStake })) {
    if (typeof v !== 'bigint' || v < 0n) fail('ORACLE_BAD_INPUT', `${k} must be a non-negative bigint`)
  }
  if (totalStake === 0n) fail('ORACLE_BAD_INPUT', 'totalStake must be positive')
  if (previousPrice !== undefined && (typeof previousPrice !== 'bigint' || previousPrice <= 0n)) {
    fail('ORACLE_BAD_INPUT', 'previousPrice must be a positive bigint')
  }
  if (reports.length > MAX_REPORTS) fail('ORACLE_BAD_INPUT', 'too many reports', { reports: reports.length })
  const seen = new Set<string>()
  let reportedStake = 0n
  for (const r of reports) {
    if (typeof r.validator !== 'string' || r.validator.length === 0)
      fail('ORACLE_BAD_INPUT', 'validator id missing')
    if (seen.has(r.validator))
      fail('ORACLE_DUPLICATE_VALIDATOR', 'two reports from one validator', { validator: r.validator })
    seen.add(r.validator)
    if (typeof r.price !== 'bigint' || r.price <= 0n)
      fail('ORACLE_BAD_INPUT', 'price must be positive', { validator: r.validator })
    if (typeof r.stake !== 'bigint' || r.stake <= 0n)
      fail('ORACLE_BAD_INPUT', 'stake must be positive', { validator: r.validator })
    if (typeof r.timestamp !== 'bigint')
      fail('ORACLE_BAD_INPUT', 'timestamp must be a bigint', { validator: r.validator })
    reportedStake += r.stake
  }
  if (reportedStake > totalStake) fail('ORACLE_BAD_INPUT', 'reports carry more stake than totalStake')

  const fresh = reports.filter((r) => r.timestamp <= now && now - r.timestamp <= maxAge)
  const stale = reports
    .filter((r) => !fresh.includes(r))
    .map((r) => r.validator)
    .sort(byString)
  const freshStake = fresh.reduce((s, r) => s + r.stake, 0n)
  if (freshStake * 3n <= totalStake * 2n) {
    fail('ORACLE_NO_QUORUM', 'fresh reports carry 2/3 of the stake or less', { freshStake, totalStake })
  }
  const sorted = [...fresh].sort((a, b) =>
    a.price < b.price ? -1 : a.price > b.price ? 1 : byString(a.validator, b.validator),
  )
  let cum = 0n
  let price = sorted[sorted.length - 1]!.price
  for (const r of sorted) {
    cum += r.stake
    if (cum * 2n >= freshStake) {
      price = r.price
      break
    }
  }
  if (
    previousPrice !== undefined &&
    absBig(price - previousPrice) * 10_000n > previousPrice * maxDeviationBps
  ) {
    fail('ORACLE_DEVIATION_TOO_LARGE', 'median moved more than maxDeviationBps', { price, previousPrice })
  }
  const outliers = fresh
    .filter((r) => absBig(r.price - price) * 10_000n > price * maxDeviationBps)
    .map((r) => r.validator)
    .sort(byString)
  return { price, freshStake, used: fresh.map((r) => r.validator).sort(byString), stale, outliers }
}
