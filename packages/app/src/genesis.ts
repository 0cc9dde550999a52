/**
 * Genesis: the parameters and initial state of a network. Read from JSON (bigints as decimal
 * strings) and validated field by field; a bad genesis is a typed error naming the field.
 */
import { fromHex, isValidAssetId, isValidNetworkId, PulseError, toHex } from '@pulsemesh/core'

export interface ChainParams {
  networkId: string
  /** bech32m human-readable part of this network's addresses. */
  addressPrefix: string
  /** Asset that fees are paid in. */
  feeAsset: string
  /** Smallest fee accepted per tx, in base units of feeAsset. */
  minFee: bigint
  /** Target time between blocks. */
  blockIntervalMs: number
  /** A tx may not expire more than this many blocks after the height it enters the mempool at. */
  txLifetimeBlocksMax: bigint
  blockTxsMax: number
  blockBytesMax: number
}

export interface GenesisAsset {
  id: string
  decimals: number
  /** Address allowed to mint; absent = fixed supply. */
  issuer?: string
  /** 0 = unlimited */
  maxSupply: bigint
}
export interface GenesisBalance {
  address: string
  asset: string
  amount: bigint
}
export interface GenesisValidator {
  name: string
  /** Hex Ed25519 consensus key. */
  publicKey: Uint8Array
  power: bigint
}
export interface Genesis {
  networkId: string
  genesisTimeMs: bigint
  params: ChainParams
  assets: GenesisAsset[]
  balances: GenesisBalance[]
  validators: GenesisValidator[]
}

export class GenesisError extends PulseError<'GENESIS_INVALID'> {
  constructor(field: string, why: string) {
    super('GENESIS_INVALID', `genesis.${field}: ${why}`, { field })
  }
}

type Json = Record<string, unknown>
function obj(v: unknown, f: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new GenesisError(f, 'must be an object')
  return v as Json
}
function str(v: unknown, f: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    throw new GenesisError(f, 'must be a non-empty string')
  return v
}
function big(v: unknown, f: string): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(v))
    throw new GenesisError(f, 'must be a decimal string')
  return BigInt(v)
}
function int(v: unknown, f: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new GenesisError(f, `must be an integer in ${min}..${max}`)
  }
  return v
}
function arr(v: unknown, f: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new GenesisError(f, 'must be an array')
  if (v.length > max) throw new GenesisError(f, `at most ${max} entries`)
  return v
}

export function parseGenesis(json: unknown): Genesis {
  const g = obj(json, '')
  const networkId = str(g.networkId, 'networkId')
  if (!isValidNetworkId(networkId)) throw new GenesisError('networkId', 'must match ^[a-z][a-z0-9-]{0,31}$')
  const p = obj(g.params, 'params')
  const params: ChainParams = {
    networkId,
    addressPrefix: str(p.addressPrefix, 'params.addressPrefix'),
    feeAsset: str(p.feeAsset, 'params.feeAsset'),
    minFee: big(p.minFee, 'params.minFee'),
    blockIntervalMs: int(p.blockIntervalMs, 'params.blockIntervalMs', 10, 600_000),
    txLifetimeBlocksMax: big(p.txLifetimeBlocksMax, 'params.txLifetimeBlocksMax'),
    blockTxsMax: int(p.blockTxsMax, 'params.blockTxsMax', 1, 50_000),
    blockBytesMax: int(p.blockBytesMax, 'params.blockBytesMax', 1024, 16 * 1024 * 1024),
  }
  if (!/^[a-z]{1,16}$/.test(params.addressPrefix))
    throw new GenesisError('params.addressPrefix', 'must be 1-16 a-z')
  const assets = arr(g.assets, 'assets', 1000).map((a, i): GenesisAsset => {
    const o = obj(a, `assets[${i}]`)
    const id = str(o.id, `assets[${i}].id`)
    if (!isValidAssetId(id)) throw new GenesisError(`assets[${i}].id`, 'invalid asset id')
    return {
      id,
      decimals: int(o.decimals, `assets[${i}].decimals`, 0, 18),
      issuer: o.issuer === undefined ? undefined : str(o.issuer, `assets[${i}].issuer`),
      maxSupply: o.maxSupply === undefined ? 0n : big(o.maxSupply, `assets[${i}].maxSupply`),
    }
  })
  if (new Set(assets.map((a) => a.id)).size !== assets.length)
    throw new GenesisError('assets', 'duplicate asset id')
  if (!assets.some((a) => a.id === params.feeAsset))
    throw new GenesisError('params.feeAsset', 'not among assets')
  const balances = arr(g.balances, 'balances', 100_000).map((b, i): GenesisBalance => {
    const o = obj(b, `balances[${i}]`)
    return {
      address: str(o.address, `balances[${i}].address`),
      asset: str(o.asset, `balances[${i}].asset`),
      amount: big(o.amount, `balances[${i}].amount`),
    }
  })
  const validators = arr(g.validators, 'validators', 1024).map((v, i): GenesisValidator => {
    const o = obj(v, `validators[${i}]`)
    const hex = str(o.publicKey, `validators[${i}].publicKey`)
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new GenesisError(`validators[${i}].publicKey`, 'must be 32 bytes of hex')
    const power = big(o.power, `validators[${i}].power`)
    if (power <= 0n) throw new GenesisError(`validators[${i}].power`, 'must be positive')
    return { name: str(o.name, `validators[${i}].name`), publicKey: fromHex(hex), power }
  })
  if (validators.length === 0) throw new GenesisError('validators', 'at least one validator')
  return {
    networkId,
    genesisTimeMs: big(g.genesisTimeMs, 'genesisTimeMs'),
    params,
    assets,
    balances,
    validators,
  }
}

/** Inverse of parseGenesis, for writing genesis.json. */
export function genesisToJson(g: Genesis): Json {
  return {
    networkId: g.networkId,
    genesisTimeMs: g.genesisTimeMs.toString(),
    params: {
      addressPrefix: g.params.addressPrefix,
      feeAsset: g.params.feeAsset,
      minFee: g.params.minFee.toString(),
      blockIntervalMs: g.params.blockIntervalMs,
      txLifetimeBlocksMax: g.params.txLifetimeBlocksMax.toString(),
      blockTxsMax: g.params.blockTxsMax,
      blockBytesMax: g.params.blockBytesMax,
    },
    assets: g.assets.map((a) => ({
      id: a.id,
      decimals: a.decimals,
      ...(a.issuer ? { issuer: a.issuer } : {}),
      maxSupply: a.maxSupply.toString(),
    })),
    balances: g.balances.map((b) => ({ address: b.address, asset: b.asset, amount: b.amount.toString() })),
    validators: g.validators.map((v) => ({
      name: v.name,
      publicKey: toHex(v.publicKey),
      power: v.power.toString(),
    })),
  }
}
