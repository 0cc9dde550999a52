/**
 * The bank module: multi-asset balances, transfers, asset creation, mint and burn, account nonces.
 * Tx kinds 0x0101..0x0104. Fees and nonces are charged by the executor's ante step through this
 * module's ledger functions.
 */
import { decodeTransferFast, encodeTransferFast, fromUtf8, toHex, utf8 } from '@pulsemesh/core'
import { accountIdOf, formatAddress, parseAccount } from '../../accounts.ts'
import { TxError } from '../../errors.ts'
import type { AppModule, TxKind } from '../../module.ts'
import type { KVStore } from '../../state/kv.ts'
import { isValidAssetId } from '@pulsemesh/core'
import { balancePrefix, BANK_PREFIX, decodeU128 } from './keys.ts'
import {
  burn,
  getAsset,
  getBalance,
  getNonce,
  getSupply,
  mint,
  NO_ISSUER,
  putAsset,
  requireAsset,
  transfer,
} from './ledger.ts'
import { BurnSSZ, CreateAssetSSZ, MintSSZ, TransferSSZ } from './payloads.ts'

export * from './keys.ts'
export * from './ledger.ts'
export * from './payloads.ts'

export const BANK_KIND = { transfer: 0x0101, createAsset: 0x0102, mint: 0x0103, burn: 0x0104 } as const

export interface TransferPayload {
  to: Uint8Array
  asset: string
  amount: bigint
}
export interface CreateAssetPayload {
  id: string
  decimals: number
  maxSupply: bigint
  initialSupply: bigint
}
export interface MintPayload {
  asset: string
  to: Uint8Array
  amount: bigint
}
export interface BurnPayload {
  asset: string
  amount: bigint
}

function assetOf(b: Uint8Array): string {
  return fromUtf8(b)
}

const transferKind: TxKind<TransferPayload> = {
  kind: BANK_KIND.transfer,
  name: 'bank/transfer',
  // Every transfer is decoded and re-encoded (the canonical check): the hand-written codecs give
  // the schema's exact bytes and fall back to it for anything they do not handle.
  decode: (p) => {
    const v = decodeTransferFast(p) ?? TransferSSZ.deserialize(p)
    return { to: v.to, asset: assetOf(v.asset), amount: v.amount }
  },
  encode: (p) => {
    const v = { to: p.to, asset: utf8(p.asset), amount: p.amount }
    return encodeTransferFast(v) ?? TransferSSZ.serialize(v)
  },
  execute(store, ctx, p) {
    requireAsset(store, p.asset)
    transfer(store, ctx.sender, p.to, p.asset, p.amount)
    ctx.emit({
      type: 'transfer',
      attributes: [
        { key: 'from', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
        { key: 'to', value: formatAddress(p.to, ctx.params.addressPrefix) },
        { key: 'asset', value: p.asset },
        { key: 'amount', value: p.amount.toString() },
      ],
    })
  },
}

const createAssetKind: TxKind<CreateAssetPayload> = {
  kind: BANK_KIND.createAsset,
  name: 'bank/create-asset',
  decode: (p) => {
    const v = CreateAssetSSZ.deserialize(p)
    return { id: assetOf(v.id), decimals: v.decimals, maxSupply: v.maxSupply, initialSupply: v.initialSupply }
  },
  encode: (p) =>
    CreateAssetSSZ.serialize({
      id: utf8(p.id),
      decimals: p.decimals,
      maxSupply: p.maxSupply,
      initialSupply: p.initialSupply,
    }),
  execute(store, ctx, p) {
    // Vouchers of other networks ("transfer/...") are created only by the mesh module.
    if (!isValidAssetId(p.id) || p.id.includes('/'))
      throw new TxError('INVALID_AMOUNT', `invalid asset id ${p.id}`)
    if (p.decimals > 18) throw new TxError('INVALID_AMOUNT', 'decimals must be at most 18')
    if (getAsset(store, p.id) !== undefined) throw new TxError('ASSET_EXISTS', `asset ${p.id} already exists`)
    putAsset(store, { id: p.id, decimals: p.decimals, issuer: ctx.sender, maxSupply: p.maxSupply })
    if (p.initialSupply > 0n) mint(store, ctx.sender, p.id, p.initialSupply)
    ctx.emit({
      type: 'asset_created',
      attributes: [
        { key: 'asset', value: p.id },
        { key: 'issuer', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
        { key: 'initial_supply', value: p.initialSupply.toString() },
      ],
    })
  },
}

const mintKind: TxKind<MintPayload> = {
  kind: BANK_KIND.mint,
  name: 'bank/mint',
  decode: (p) => {
    const v = MintSSZ.deserialize(p)
    return { asset: assetOf(v.asset), to: v.to, amount: v.amount }
  },
  encode: (p) => MintSSZ.serialize({ asset: utf8(p.asset), to: p.to, amount: p.amount }),
  execute(store, ctx, p) {
    const info = requireAsset(store, p.asset)
    if (toHex(info.issuer) === toHex(NO_ISSUER) || toHex(info.issuer) !== toHex(ctx.sender)) {
      throw new TxError('NOT_ASSET_ISSUER', `only the issuer of ${p.asset} may mint it`)
    }
    mint(store, p.to, p.asset, p.amount)
    ctx.emit({
      type: 'mint',
      attributes: [
        { key: 'asset', value: p.asset },
        { key: 'to', value: formatAddress(p.to, ctx.params.addressPrefix) },
        { key: 'amount', value: p.amount.toString() },
      ],
    })
  },
}

const burnKind: TxKind<BurnPayload> = {
  kind: BANK_KIND.burn,
  name: 'bank/burn',
  decode: (p) => {
    const v = BurnSSZ.deserialize(p)
    return { asset: assetOf(v.asset), amount: v.amount }
  },
  encode: (p) => BurnSSZ.serialize({ asset: utf8(p.asset), amount: p.amount }),
  execute(store, ctx, p) {
    burn(store, ctx.sender, p.asset, p.amount)
    ctx.emit({
      type: 'burn',
      attributes: [
        { key: 'asset', value: p.asset },
        { key: 'from', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
        { key: 'amount', value: p.amount.toString() },
      ],
    })
  },
}

/** Balances of one account, all assets, read by prefix scan (the store must support it). */
export interface PrefixScannable {
  entriesWithPrefix(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]>
}

export const bankModule: AppModule = {
  name: 'bank',
  prefix: BANK_PREFIX,
  txKinds: [transferKind, createAssetKind, mintKind, burnKind],
  initGenesis(store, g) {
    for (const a of g.assets) {
      const issuer = a.issuer === undefined ? NO_ISSUER : parseAccount(a.issuer, g.params.addressPrefix)
      putAsset(store, { id: a.id, decimals: a.decimals, issuer, maxSupply: a.maxSupply })
    }
    for (const b of g.balances) {
      if (b.amount > 0n) mint(store, parseAccount(b.address, g.params.addressPrefix), b.asset, b.amount)
    }
  },
  queries: {
    balance(store, args, ctx) {
      const account = parseAccount(args.address ?? '', ctx.params.addressPrefix)
      const asset = args.asset ?? ctx.params.feeAsset
      return { address: args.address, asset, amount: getBalance(store, account, asset).toString() }
    },
    account(store, args, ctx) {
      const account = parseAccount(args.address ?? '', ctx.params.addressPrefix)
      const balances: Record<string, string> = {}
      const scan = store as unknown as Partial<PrefixScannable>
      if (typeof scan.entriesWithPrefix === 'function') {
        const prefix = balancePrefix(account)
        for (const [k, v] of scan.entriesWithPrefix(prefix))
          balances[fromUtf8(k.subarray(prefix.length))] = decodeU128(v).toString()
      }
      return { address: args.address, nonce: getNonce(store, account).toString(), balances }
    },
    asset(store, args) {
      const info = requireAsset(store, args.asset ?? '')
      return {
        id: info.id,
        decimals: info.decimals,
        supply: getSupply(store, info.id).toString(),
        maxSupply: info.maxSupply.toString(),
        mintable: toHex(info.issuer) !== toHex(NO_ISSUER),
      }
    },
  },
}

export { accountIdOf }
export type { KVStore }
