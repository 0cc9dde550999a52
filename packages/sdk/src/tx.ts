/** Building and signing txs client-side. Pure: works in Node and browsers. */
import { BANK_KIND, bankModule } from '@pulsemesh/app'
import {
  encodeTx,
  type KeyScheme,
  type PublicKey,
  sign,
  type SignedTx,
  type TxBody,
  txHash,
  txSignBytes,
  toHex,
} from '@pulsemesh/core'

export interface Signer {
  scheme: KeyScheme
  publicKey: PublicKey
  secret: Uint8Array
}

export interface TxEnvelope {
  networkId: string
  nonce: bigint
  fee: bigint
  expiresAt: bigint
  memo?: string
}

export function signTx(
  signer: Signer,
  env: TxEnvelope,
  kind: number,
  payload: Uint8Array,
): { bytes: Uint8Array; hash: string; tx: SignedTx } {
  const body: TxBody = {
    networkId: env.networkId,
    sender: signer.publicKey,
    nonce: env.nonce,
    fee: env.fee,
    expiresAt: env.expiresAt,
    kind,
    payload,
    memo: env.memo ?? '',
  }
  const tx: SignedTx = { body, signature: sign(signer.scheme, signer.secret, txSignBytes(body)) }
  const bytes = encodeTx(tx)
  return { bytes, hash: toHex(txHash(bytes)), tx }
}

const kinds = new Map(bankModule.txKinds.map((k) => [k.kind, k]))

export function transferPayload(to: Uint8Array, asset: string, amount: bigint): Uint8Array {
  return kinds.get(BANK_KIND.transfer)!.encode({ to, asset, amount })
}
export function createAssetPayload(
  id: string,
  decimals: number,
  maxSupply: bigint,
  initialSupply: bigint,
): Uint8Array {
  return kinds.get(BANK_KIND.createAsset)!.encode({ id, decimals, maxSupply, initialSupply })
}
export function mintPayload(asset: string, to: Uint8Array, amount: bigint): Uint8Array {
  return kinds.get(BANK_KIND.mint)!.encode({ asset, to, amount })
}
export function burnPayload(asset: string, amount: bigint): Uint8Array {
  return kinds.get(BANK_KIND.burn)!.encode({ asset, amount })
}
export { BANK_KIND }
