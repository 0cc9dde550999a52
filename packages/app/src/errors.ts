import { PulseError } from '@pulsemesh/core/errors.ts'

/**
 * Why a tx is refused. Ante codes (signature, nonce, fee, expiry, network) make a tx invalid: the
 * mempool refuses it and a block containing it is invalid. Execution codes (funds, asset, permission)
 * make an included tx fail: its fee is paid and its nonce used, its other writes are discarded.
 */
export const TX_ERROR_CODES = [
  'WRONG_NETWORK',
  'BAD_SIGNATURE',
  'TX_EXPIRED',
  'EXPIRY_TOO_FAR',
  'NONCE_REUSED',
  'NONCE_GAP',
  'FEE_TOO_LOW',
  'INSUFFICIENT_FEE_FUNDS',
  'UNKNOWN_TX_KIND',
  'MALFORMED_PAYLOAD',
  'INSUFFICIENT_FUNDS',
  'UNKNOWN_ASSET',
  'ASSET_EXISTS',
  'INVALID_AMOUNT',
  'INVALID_ADDRESS',
  'NOT_ASSET_ISSUER',
  'SUPPLY_OVERFLOW',
  'SELF_TRANSFER',
  // staking
  'VALIDATOR_EXISTS',
  'UNKNOWN_VALIDATOR',
  'NOT_JAILED',
  'STILL_JAILED',
  'TOMBSTONED',
  'CONSENSUS_KEY_IN_USE',
  'SELF_STAKE_TOO_LOW',
  'INSUFFICIENT_DELEGATION',
] as const
export type TxErrorCode = (typeof TX_ERROR_CODES)[number]

export class TxError extends PulseError<TxErrorCode> {
  constructor(code: TxErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
    this.name = 'TxError'
  }
}
