/**
 * Canonical encodings and the hashes and signing bytes derived from them.
 * Every `decode*` accepts untrusted bytes and throws only DecodeError.
 */
import { concatBytes, fromUtf8, utf8 } from '../bytes.ts'
import { KEY_SCHEME_BYTE, keySchemeFromByte, sha256 } from '../crypto/index.ts'
import { DecodeError } from '../errors.ts'
import { isValidNetworkId, LIMITS } from '../limits.ts'
import type { Commit, KeyScheme, PublicKey, Validator, Vote, VoteType } from '../types.ts'
import { decodeCanonical } from './canonical.ts'
import {
  decodeSignedTxFast,
  encodeTxResultFast,
  encodeTxResultsFast,
  encodeTxResultsTextFast,
} from './fast-paths.ts'
import {
  BlockSSZ,
  CommitSSZ,
  HeaderSSZ,
  ProposalSignDocSSZ,
  SignedTxSSZ,
  TxResultSSZ,
  ValidatorSSZ,
  VoteSignDocSSZ,
  VoteSSZ,
} from './schema.ts'

export { decodeCanonical } from './canonical.ts'
export * from './frames.ts'
export { decodeTransferFast, encodeTransferFast } from './fast-paths.ts'
export * as ssz from './schema.ts'

export const ZERO_HASH = new Uint8Array(32)

// ---------------------------------------------------------------- keys

const KEY_LENGTH: Record<KeyScheme, number> = { ed25519: 32, secp256k1: 33 }

export function schemeToByte(s: KeyScheme): number {
  return KEY_SCHEME_BYTE[s]
}
function publicKeyFromSSZ(v: { scheme: number; bytes: Uint8Array }, what: string): PublicKey {
  const scheme = keySchemeFromByte(v.scheme)
  if (scheme === null) throw new DecodeError('DECODE_ERROR', `${what}: unknown key scheme ${v.scheme}`)
  if (v.bytes.length !== KEY_LENGTH[scheme]) {
    throw new DecodeError('DECODE_ERROR', `${what}: ${scheme} public key must be ${KEY_LENGTH[scheme]} bytes`)
  }
  return { scheme, bytes: v.bytes }
}

// ---------------------------------------------------------------- domain separation

/** The domains anything is signed in. The signed bytes are `pulsemesh/<domain>/v1 || 0x00 || doc`. */
export type SignDomain =
  | 'tx'
  | 'vote'
  | 'proposal'
  | 'checkpoint'
  | 'attestation'
  | 'device'
  | 'packet'
  | 'oracle'
const DOMAIN_PREFIX = new Map<string, Uint8Array>()
function domainPrefix(domain: SignDomain): Uint8Array {
  let prefix = DOMAIN_PREFIX.get(domain)
  if (prefix === undefined) {
    prefix = concatBytes(utf8(`pulsemesh/${domain}/v1`), new Uint8Array([0]))
    DOMAIN_PREFIX.set(domain, prefix)
  }
  return prefix
}
export function signBytes(domain: SignDomain, doc: Uint8Array): Uint8Array {
  return concatBytes(domainPrefix(domain), doc)
}
/** Hash of an encoding under a domain tag, so that a header hash can never equal a tx hash. */
export function domainHash(domain: string, bytes: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(`pulsemesh/${domain}/v1`), new Uint8Array([0]), bytes))
}

// ---------------------------------------------------------------- transactions

export interface TxBody {
  networkId: string
  sender: PublicKey
  nonce: bigint
  fee: bigint
  expiresAt: bigint
  kind: number
  payload: Uint8Array
  memo: string
}
export interface SignedTx {
  body: TxBody
  signature: Uint8Array
}

function txBodyToSSZ(b: TxBody) {
  return {
    networkId: utf8(b.networkId),
    sender: { scheme: schemeToByte(b.sender.scheme), bytes: b.sender.bytes },
    nonce: b.nonce,
    fee: b.fee,
    expiresAt: b.expiresAt,
    kind: b.kind,
    payload: b.payload,
    memo: utf8(b.memo),
  }
}

export function encodeTxBody(b: TxBody): Uint8Array {
  return SignedTxSSZ.fields.body.serialize(txBodyToSSZ(b))
}
export function txSignBytes(b: TxBody): Uint8Array {
  return signBytes('tx', encodeTxBody(b))
}
export function encodeTx(tx: SignedTx): Uint8Array {
  return SignedTxSSZ.serialize({ body: txBodyToSSZ(tx.body), signature: tx.signature })
}

function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return fromUtf8(b)
  } catch {
    throw new DecodeError('DECODE_ERROR', `${what}: invalid UTF-8`)
  }
}
function decodeNetworkId(b: Uint8Array, what: string): string {
  const id = decodeUtf8(b, what)
  if (!isValidNetworkId(id)) throw new DecodeError('DECODE_ERROR', `${what}: invalid network id`)
  return id
}

/** Decodes a signed tx. Structure only: signature, nonce and funds are checked by the app. */
export function decodeTx(bytes: Uint8Array): SignedTx {
  const v = decodeSignedTxFast(bytes) ?? decodeCanonical(SignedTxSSZ, bytes, LIMITS.txBytesMax, 'tx')
  if (v.signature.length !== 64) throw new DecodeError('DECODE_ERROR', 'tx: signature must be 64 bytes')
  return {
    body: {
      networkId: decodeNetworkId(v.body.networkId, 'tx.networkId'),
      sender: publicKeyFromSSZ(v.body.sender, 'tx.sender'),
      nonce: v.body.nonce,
      fee: v.body.fee,
      expiresAt: v.body.expiresAt,
      kind: v.body.kind,
      payload: v.body.payload,
      memo: decodeUtf8(v.body.memo, 'tx.memo'),
    },
    signature: v.signature,
  }
}

/**
 * The signing bytes of an already-decoded (so canonical) signed tx, without re-encoding its body:
 * in SSZ the body is the bytes between the two 4-byte offsets and the signature's offset.
 */
export function txSignBytesFromEncoded(signedTxBytes: Uint8Array): Uint8Array {
  const dv = new DataView(signedTxBytes.buffer, signedTxBytes.byteOffset, signedTxBytes.byteLength)
  const bodyStart = dv.getUint32(0, true)
  const sigStart = dv.getUint32(4, true)
  return signBytes('tx', signedTxBytes.subarray(bodyStart, sigStart))
}

/**
 * `txSignBytesFromEncoded` in two pieces, prefix || body (the signed bytes are their
 * concatenation), without copying: `prefix` is shared (never modify it), `body` a view of the tx.
 */
export function txSignPartsFromEncoded(signedTxBytes: Uint8Array): { prefix: Uint8Array; body: Uint8Array } {
  const dv = new DataView(signedTxBytes.buffer, signedTxBytes.byteOffset, signedTxBytes.byteLength)
  return {
    prefix: domainPrefix('tx'),
    body: signedTxBytes.subarray(dv.getUint32(0, true), dv.getUint32(4, true)),
  }
}

/** Tx hash: SHA-256 of the signed encoding (signatures are non-malleable under our rules). */
export function txHash(txBytes: Uint8Array): Uint8Array {
  return sha256(txBytes)
}

// ---------------------------------------------------------------- tx results and events

export interface EventAttribute {
  key: string
  value: string
}
export interface ChainEvent {
  type: string
  attributes: EventAttribute[]
}
export interface TxResult {
  /** '' on success, else a stable error code. */
  error: string
  events: ChainEvent[]
}
function txResultToSSZ(r: TxResult) {
  return {
    error: utf8(r.error),
    events: r.events.map((e) => ({
      type: utf8(e.type),
      attributes: e.attributes.map((a) => ({ key: utf8(a.key), value: utf8(a.value) })),
    })),
  }
}
export function encodeTxResult(r: TxResult): Uint8Array {
  const v = txResultToSSZ(r)
  return encodeTxResultFast(v) ?? TxResultSSZ.serialize(v)
}
/**
 * `rs.map(encodeTxResult)`, byte for byte, as views of one buffer (a block's results). The views
 * share memory: copy one (`.slice()`) to keep it apart from the others.
 */
export function encodeTxResults(rs: readonly TxResult[]): Uint8Array[] {
  const out = encodeTxResultsTextFast(rs)
  const rest: number[] = []
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) rest.push(i)
  if (rest.length > 0) {
    // Non-ASCII text or something over a limit: UTF-8 first, then the bytes path (or the schema's).
    const vs = rest.map((i) => txResultToSSZ(rs[i]))
    const enc = encodeTxResultsFast(vs)
    for (let j = 0; j < rest.length; j++) out[rest[j]] = enc[j] ?? TxResultSSZ.serialize(vs[j])
  }
  return out as Uint8Array[]
}
export function decodeTxResult(bytes: Uint8Array): TxResult {
  const v = decodeCanonical(TxResultSSZ, bytes, 1024 * 1024, 'txResult')
  return {
    error: decodeUtf8(v.error, 'txResult.error'),
    events: v.events.map((e) => ({
      type: decodeUtf8(e.type, 'event.type'),
      attributes: e.attributes.map((a) => ({
        key: decodeUtf8(a.key, 'event.key'),
        value: decodeUtf8(a.value, 'event.value'),
      })),
    })),
  }
}

// ---------------------------------------------------------------- votes and commits

export function voteSignBytes(networkId: string, v: Omit<Vote, 'signature' | 'validatorIndex'>): Uint8Array {
  return signBytes(
    'vote',
    VoteSignDocSSZ.serialize({
      networkId: utf8(networkId),
      type: v.type,
      height: v.height,
      round: v.round,
      blockHash: v.blockHash,
      timestampMs: v.timestampMs,
      extension: v.extension,
    }),
  )
}

export function proposalSignBytes(
  networkId: string,
  p: { height: bigint; round: number; polRound: number; blockHash: Uint8Array; timestampMs: bigint },
): Uint8Array {
  return signBytes(
    'proposal',
    ProposalSignDocSSZ.serialize({
      networkId: utf8(networkId),
      height: p.height,
      round: p.round,
      polRoundPlusOne: p.polRound + 1,
      blockHash: p.blockHash,
      timestampMs: p.timestampMs,
    }),
  )
}

export function encodeVote(v: Vote): Uint8Array {
  return VoteSSZ.serialize(v)
}
export function decodeVote(bytes: Uint8Array): Vote {
  const v = decodeCanonical(VoteSSZ, bytes, LIMITS.voteBytesMax, 'vote')
  if (v.type !== 1 && v.type !== 2) throw new DecodeError('DECODE_ERROR', 'vote: unknown vote type')
  return { ...v, type: v.type as VoteType }
}

export function encodeCommit(c: Commit): Uint8Array {
  return CommitSSZ.serialize(c)
}
export function decodeCommit(bytes: Uint8Array): Commit {
  const maxBytes = 64 + LIMITS.validatorsMax * (LIMITS.voteExtensionBytesMax + 100)
  const c = decodeCanonical(CommitSSZ, bytes, maxBytes, 'commit')
  for (let i = 1; i < c.signatures.length; i++) {
    if (c.signatures[i].validatorIndex <= c.signatures[i - 1].validatorIndex) {
      throw new DecodeError(
        'DECODE_NON_CANONICAL',
        'commit: signatures must be sorted by validator index, no repeats',
      )
    }
  }
  return c
}
export const EMPTY_COMMIT: Commit = { height: 0n, round: 0, blockHash: ZERO_HASH, signatures: [] }
export function commitHash(c: Commit): Uint8Array {
  return domainHash('commit', encodeCommit(c))
}

// ---------------------------------------------------------------- validators

export function encodeValidator(v: Validator): Uint8Array {
  return ValidatorSSZ.serialize(v)
}

// ---------------------------------------------------------------- headers and blocks

export interface Header {
  networkId: string
  height: bigint
  timeMs: bigint
  prevHash: Uint8Array
  lastCommitHash: Uint8Array
  txRoot: Uint8Array
  txCount: number
  stateRoot: Uint8Array
  resultsRoot: Uint8Array
  validatorsHash: Uint8Array
  nextValidatorsHash: Uint8Array
  evidenceHash: Uint8Array
  proposer: Uint8Array
}
export interface Block {
  header: Header
  /** Encoded SignedTx bytes, in execution order. */
  txs: Uint8Array[]
  lastCommit: Commit
  evidence: Uint8Array[]
}

function headerToSSZ(h: Header) {
  return { ...h, networkId: utf8(h.networkId) }
}
export function encodeHeader(h: Header): Uint8Array {
  return HeaderSSZ.serialize(headerToSSZ(h))
}
export function decodeHeader(bytes: Uint8Array): Header {
  const v = decodeCanonical(HeaderSSZ, bytes, 1024, 'header')
  return { ...v, networkId: decodeNetworkId(v.networkId, 'header.networkId') }
}
export function blockHash(h: Header): Uint8Array {
  return domainHash('header', encodeHeader(h))
}
export function encodeBlock(b: Block): Uint8Array {
  return BlockSSZ.serialize({ ...b, header: headerToSSZ(b.header) })
}
export function decodeBlock(bytes: Uint8Array): Block {
  const v = decodeCanonical(BlockSSZ, bytes, LIMITS.blockBytesMax, 'block')
  for (let i = 1; i < v.lastCommit.signatures.length; i++) {
    if (v.lastCommit.signatures[i].validatorIndex <= v.lastCommit.signatures[i - 1].validatorIndex) {
      throw new DecodeError(
        'DECODE_NON_CANONICAL',
        'block.lastCommit: signatures must be sorted by validator index',
      )
    }
  }
  return {
    ...v,
    header: { ...v.header, networkId: decodeNetworkId(v.header.networkId, 'block.header.networkId') },
  }
}
