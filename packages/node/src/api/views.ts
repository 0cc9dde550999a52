/** JSON views of chain objects for the API and CLI: bigints as decimal strings, bytes as hex, accounts as addresses. */
import { type App, formatAddress, type DecodedTx } from '@pulsemesh/app'
import {
  addressFromPublicKey,
  type Block,
  type Commit,
  type Header,
  type TxResult,
  toHex,
} from '@pulsemesh/core'

export function headerView(h: Header) {
  return {
    networkId: h.networkId,
    height: h.height.toString(),
    timeMs: h.timeMs.toString(),
    time: new Date(Number(h.timeMs)).toISOString(),
    prevHash: toHex(h.prevHash),
    lastCommitHash: toHex(h.lastCommitHash),
    txRoot: toHex(h.txRoot),
    txCount: h.txCount,
    stateRoot: toHex(h.stateRoot),
    resultsRoot: toHex(h.resultsRoot),
    validatorsHash: toHex(h.validatorsHash),
    nextValidatorsHash: toHex(h.nextValidatorsHash),
    evidenceHash: toHex(h.evidenceHash),
    proposer: toHex(h.proposer),
  }
}

export function commitView(c: Commit) {
  return {
    height: c.height.toString(),
    round: c.round,
    blockHash: toHex(c.blockHash),
    signatures: c.signatures.map((s) => ({
      validatorIndex: s.validatorIndex,
      timestampMs: s.timestampMs.toString(),
      extension: toHex(s.extension),
      signature: toHex(s.signature),
    })),
  }
}

export function blockView(b: Block, hash: Uint8Array, commit: Commit, txHashes: string[]) {
  return {
    hash: toHex(hash),
    header: headerView(b.header),
    txs: txHashes,
    lastCommit: commitView(b.lastCommit),
    commit: commitView(commit),
  }
}

/** Any decoded payload to JSON: 20-byte arrays are accounts, other bytes hex, bigints strings. */
export function jsonValue(v: unknown, prefix: string): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return v.length === 20 ? formatAddress(v, prefix) : toHex(v)
  if (Array.isArray(v)) return v.map((x) => jsonValue(x, prefix))
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x, prefix)]))
  }
  return v
}

export function txView(app: App, d: DecodedTx) {
  const b = d.tx.body
  const kind = app.txKind(b.kind)
  const prefix = app.params.addressPrefix
  return {
    hash: d.hashHex,
    networkId: b.networkId,
    sender: addressFromPublicKey(b.sender, prefix),
    senderKey: { scheme: b.sender.scheme, bytes: toHex(b.sender.bytes) },
    nonce: b.nonce.toString(),
    fee: b.fee.toString(),
    expiresAt: b.expiresAt.toString(),
    kind: kind?.name ?? `0x${b.kind.toString(16)}`,
    payload: kind ? jsonValue(kind.decode(b.payload), prefix) : toHex(b.payload),
    memo: b.memo,
    signature: toHex(d.tx.signature),
    size: d.bytes.length,
  }
}

export function resultView(r: TxResult) {
  return { ok: r.error === '', error: r.error || undefined, events: r.events }
}
