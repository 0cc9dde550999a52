/**
 * HTLC atomic swaps: lock funds under sha256(preimage) until a timeout height; the recipient's side
 * claims with the preimage (revealed in the tx and its event, so the counterparty can claim on the
 * other network), or after the timeout the sender's side refunds. Only the recipient may claim and
 * only the sender may refund (NOT_SWAP_PARTY): nobody else can reveal the preimage on someone's
 * behalf or decide when a refund happens.
 */
import { constantTimeEqual, fromHex, fromUtf8, sha256, toHex, utf8 } from '@pulsemesh/core'
import type { KVStore } from '../../state/kv.ts'
import { requireAsset, transfer } from '../bank/ledger.ts'
import { decodeRecord, HtlcSSZ } from './records.ts'
import { ExchangeError, HTLC_ESCROW, KEYS } from './state.ts'

export interface Htlc {
  id: string
  sender: string
  recipient: string
  asset: string
  amount: bigint
  hashlock: string
  /** Last height at which a claim is accepted; refunds from the next height on. */
  timeoutHeight: bigint
}

export function getHtlc(store: KVStore, id: string): Htlc | undefined {
  const raw = store.get(KEYS.swap(id))
  if (raw === undefined) return undefined
  const r = decodeRecord(HtlcSSZ, raw, 'swap')
  return {
    id,
    sender: toHex(r.sender),
    recipient: toHex(r.recipient),
    asset: fromUtf8(r.asset),
    amount: r.amount,
    hashlock: toHex(r.hashlock),
    timeoutHeight: r.timeoutHeight,
  }
}
function requireHtlc(store: KVStore, id: string): Htlc {
  const h = getHtlc(store, id)
  if (h === undefined) throw new ExchangeError('UNKNOWN_SWAP', `no open swap ${id}`, { swap: id })
  return h
}

export function htlcLock(store: KVStore, height: bigint, h: Htlc): void {
  if (h.amount <= 0n) throw new ExchangeError('INVALID_SWAP', 'amount must be positive')
  if (h.timeoutHeight <= height)
    throw new ExchangeError('INVALID_SWAP', `timeout height ${h.timeoutHeight} is not after ${height}`)
  requireAsset(store, h.asset)
  transfer(store, fromHex(h.sender), HTLC_ESCROW, h.asset, h.amount)
  store.set(
    KEYS.swap(h.id),
    HtlcSSZ.serialize({
      sender: fromHex(h.sender),
      recipient: fromHex(h.recipient),
      asset: utf8(h.asset),
      amount: h.amount,
      hashlock: fromHex(h.hashlock),
      timeoutHeight: h.timeoutHeight,
    }),
  )
}

export function htlcClaim(
  store: KVStore,
  height: bigint,
  id: string,
  preimage: Uint8Array,
  byHex: string,
): Htlc {
  const h = requireHtlc(store, id)
  if (byHex !== h.recipient)
    throw new ExchangeError('NOT_SWAP_PARTY', `only the recipient of swap ${id} may claim it`)
  if (height > h.timeoutHeight)
    throw new ExchangeError('SWAP_EXPIRED', `swap ${id} expired at height ${h.timeoutHeight}`, {
      timeoutHeight: h.timeoutHeight.toString(),
    })
  if (!constantTimeEqual(sha256(preimage), fromHex(h.hashlock)))
    throw new ExchangeError('WRONG_PREIMAGE', 'sha256(preimage) does not match the hash lock')
  transfer(store, HTLC_ESCROW, fromHex(h.recipient), h.asset, h.amount)
  store.delete(KEYS.swap(id))
  return h
}

export function htlcRefund(store: KVStore, height: bigint, id: string, byHex: string): Htlc {
  const h = requireHtlc(store, id)
  if (byHex !== h.sender)
    throw new ExchangeError('NOT_SWAP_PARTY', `only the sender of swap ${id} may refund it`)
  if (height <= h.timeoutHeight)
    throw new ExchangeError(
      'SWAP_NOT_EXPIRED',
      `swap ${id} can be refunded after height ${h.timeoutHeight}`,
      {
        timeoutHeight: h.timeoutHeight.toString(),
      },
    )
  transfer(store, HTLC_ESCROW, fromHex(h.sender), h.asset, h.amount)
  store.delete(KEYS.swap(id))
  return h
}
