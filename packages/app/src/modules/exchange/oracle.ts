/**
 * Validator price oracle. Validators submit signed prices by tx (the tx signature is the report's
 * signature); at the end of every block with new reports the module aggregates them with
 * `aggregatePrice` (stake-weighted median, staleness, quorum > 2/3, deviation guard) and stores the
 * price. A refused aggregation keeps the previous price and emits why.
 *
 * Who may report, with what weight: `currentOracleValidators(store)` — the staking module's active
 * set at this height (consensus key → voting power, as reported to consensus), or on a network
 * without staking the validators stored at genesis. Another source can be given via
 * `createExchangeModule({ oracleValidators })`.
 */
import { type ChainEvent, fromHex, fromUtf8, isPulseError, toHex, utf8 } from '@pulsemesh/core'
import { aggregatePrice } from '@pulsemesh/exchange'
import { accountIdOf } from '../../accounts.ts'
import type { Genesis } from '../../genesis.ts'
import type { KVStore } from '../../state/kv.ts'
import { consAddress, getActiveSet, getConsKey } from '../staking/state.ts'
import { decodeRecord, OraclePriceSSZ, OracleSetSSZ, ReportsSSZ, SymbolListSSZ } from './records.ts'
import { KEYS } from './state.ts'

export interface OracleValidator {
  /** Hex 20-byte account id: the account that signs the validator's oracle txs. */
  account: string
  power: bigint
  /** Hex operator account, when staking knows one: it may report for the validator too. */
  operator?: string
}
export type OracleValidatorSource = (store: KVStore) => OracleValidator[]

export interface OracleConfig {
  /** Reports older than this (ms of block time) are stale. */
  maxAgeMs: bigint
  /** Largest accepted move of the median per update, and the outlier threshold. */
  maxDeviationBps: bigint
}
export const DEFAULT_ORACLE_CONFIG: OracleConfig = { maxAgeMs: 60_000n, maxDeviationBps: 2_000n }

/** Stores the genesis validators as the oracle set (accounts of their consensus keys). */
export function initOracleSet(store: KVStore, g: Genesis): void {
  const set = g.validators
    .map((v) => ({
      account: toHex(accountIdOf({ scheme: 'ed25519', bytes: v.publicKey })),
      power: v.power,
    }))
    .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0))
  store.set(
    KEYS.oracleSet(),
    OracleSetSSZ.serialize(set.map((v) => ({ account: fromHex(v.account), power: v.power }))),
  )
}

/**
 * The default source: the staking module's active set as of this block (powers as consensus uses
 * them; jailed, unbonded or zero-power validators are not in it), each reported under the account
 * of its consensus key, with its operator account allowed to report for it. Networks without
 * staking (no active set in state) use the genesis set.
 */
export const currentOracleValidators: OracleValidatorSource = (store) => {
  const active = getActiveSet(store)
  if (active.size === 0) return genesisOracleValidators(store)
  const out: OracleValidator[] = []
  for (const [keyHex, power] of active) {
    if (power <= 0n) continue
    const account = consAddress(fromHex(keyHex))
    const op = getConsKey(store, account)?.operator
    out.push({ account: toHex(account), power, ...(op === undefined ? {} : { operator: toHex(op) }) })
  }
  return out.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0))
}

/** The set stored at genesis. */
export const genesisOracleValidators: OracleValidatorSource = (store) => {
  const raw = store.get(KEYS.oracleSet())
  if (raw === undefined) return []
  return decodeRecord(OracleSetSSZ, raw, 'oracle set').map((v) => ({
    account: toHex(v.account),
    power: v.power,
  }))
}

interface StoredReport {
  /** Hex account id. */
  validator: string
  price: bigint
  timestamp: bigint
}
function getReports(store: KVStore, symbol: string): StoredReport[] {
  const raw = store.get(KEYS.reports(symbol))
  if (raw === undefined) return []
  return decodeRecord(ReportsSSZ, raw, 'oracle reports').map((r) => ({ ...r, validator: toHex(r.validator) }))
}
function putReports(store: KVStore, symbol: string, reports: StoredReport[]): void {
  store.set(
    KEYS.reports(symbol),
    ReportsSSZ.serialize(reports.map((r) => ({ ...r, validator: fromHex(r.validator) }))),
  )
}
function getDirty(store: KVStore): string[] | undefined {
  const raw = store.get(KEYS.dirtySymbols())
  return raw === undefined ? undefined : decodeRecord(SymbolListSSZ, raw, 'oracle symbols').map(fromUtf8)
}
export interface OraclePrice {
  price: bigint
  timeMs: bigint
  height: bigint
}

export function submitReport(
  store: KVStore,
  symbol: string,
  validator: string,
  price: bigint,
  timeMs: bigint,
): void {
  const reports = getReports(store, symbol).filter((r) => r.validator !== validator)
  reports.push({ validator, price, timestamp: timeMs })
  reports.sort((a, b) => (a.validator < b.validator ? -1 : 1))
  putReports(store, symbol, reports)
  const dirty = getDirty(store) ?? []
  if (!dirty.includes(symbol)) {
    dirty.push(symbol)
    dirty.sort()
    store.set(KEYS.dirtySymbols(), SymbolListSSZ.serialize(dirty.map(utf8)))
  }
}

export function getOracleRecord(store: KVStore, symbol: string): OraclePrice | undefined {
  const raw = store.get(KEYS.price(symbol))
  return raw === undefined ? undefined : decodeRecord(OraclePriceSSZ, raw, 'oracle price')
}

/** The stored price if fresh at `nowMs` (within the default max age), else undefined. */
export function getOraclePrice(
  store: KVStore,
  symbol: string,
  nowMs: bigint,
  maxAgeMs = DEFAULT_ORACLE_CONFIG.maxAgeMs,
): OraclePrice | undefined {
  const r = getOracleRecord(store, symbol)
  if (r === undefined || nowMs - r.timeMs > maxAgeMs) return undefined
  return r
}

/** endBlock part: aggregates every symbol that got reports in this block. */
export function aggregateOracles(
  store: KVStore,
  height: bigint,
  nowMs: bigint,
  source: OracleValidatorSource,
  cfg: OracleConfig,
  emit: (e: ChainEvent) => void,
): void {
  const dirty = getDirty(store)
  if (dirty === undefined) return
  store.delete(KEYS.dirtySymbols())
  const set = source(store)
  const power = new Map(set.map((v) => [v.account, v.power]))
  const totalStake = set.reduce((s, v) => s + v.power, 0n)
  for (const symbol of dirty) {
    const stored = getReports(store, symbol)
    // drop reports of validators that left the set (and keep the stored list bounded by the set)
    const live = stored.filter((r) => power.has(r.validator))
    if (live.length !== stored.length) putReports(store, symbol, live)
    const prev = getOracleRecord(store, symbol)
    try {
      if (totalStake === 0n) throw new Error('empty validator set')
      const res = aggregatePrice(
        live.map((r) => ({
          validator: r.validator,
          price: r.price,
          stake: power.get(r.validator)!,
          timestamp: r.timestamp,
        })),
        {
          now: nowMs,
          maxAge: cfg.maxAgeMs,
          maxDeviationBps: cfg.maxDeviationBps,
          totalStake,
          previousPrice: prev?.price,
        },
      )
      store.set(KEYS.price(symbol), OraclePriceSSZ.serialize({ price: res.price, timeMs: nowMs, height }))
      emit({
        type: 'oracle_price',
        attributes: [
          { key: 'symbol', value: symbol },
          { key: 'price', value: res.price.toString() },
          { key: 'outliers', value: res.outliers.join(',').slice(0, 500) },
        ],
      })
    } catch (e) {
      emit({
        type: 'oracle_refused',
        attributes: [
          { key: 'symbol', value: symbol },
          { key: 'code', value: isPulseError(e) ? e.code : 'ORACLE_BAD_INPUT' },
        ],
      })
    }
  }
}
