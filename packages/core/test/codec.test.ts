import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  blockHash,
  DecodeError,
  decodeBlock,
  decodeCommit,
  decodeHeader,
  decodeTx,
  decodeTxResult,
  decodeVote,
  EMPTY_COMMIT,
  encodeBlock,
  encodeCommit,
  encodeHeader,
  encodeTx,
  encodeTxResult,
  encodeVote,
  equalBytes,
  generateKeyPair,
  type Header,
  LIMITS,
  sign,
  type SignedTx,
  toHex,
  txSignBytes,
  txSignBytesFromEncoded,
  verify,
  voteSignBytes,
  ZERO_HASH,
} from '../src/index.ts'

const kp = generateKeyPair('ed25519', new Uint8Array(32).fill(7))
const body = {
  networkId: 'hub',
  sender: kp.publicKey,
  nonce: 3n,
  fee: 10n,
  expiresAt: 99n,
  kind: 0x0101,
  payload: new Uint8Array([1, 2, 3]),
  memo: 'hello',
}
const tx: SignedTx = { body, signature: sign('ed25519', kp.secretKey, txSignBytes(body)) }
const isDecodeError = (code?: string) => (e: unknown) =>
  e instanceof DecodeError && (code === undefined || e.code === code)

const header: Header = {
  networkId: 'hub',
  height: 5n,
  timeMs: 1_700_000_000_000n,
  prevHash: new Uint8Array(32).fill(1),
  lastCommitHash: ZERO_HASH,
  txRoot: ZERO_HASH,
  txCount: 0,
  stateRoot: new Uint8Array(32).fill(2),
  resultsRoot: ZERO_HASH,
  validatorsHash: ZERO_HASH,
  nextValidatorsHash: ZERO_HASH,
  evidenceHash: ZERO_HASH,
  proposer: kp.publicKey.bytes,
}

describe('codec', () => {
  test('tx round-trips; signing bytes are domain-separated and recoverable from the encoding', () => {
    const bytes = encodeTx(tx)
    const back = decodeTx(bytes)
    assert.deepEqual(back, tx)
    assert.ok(equalBytes(txSignBytesFromEncoded(bytes), txSignBytes(body)))
    assert.ok(verify(kp.publicKey, txSignBytes(body), tx.signature))
    // The same body on another network signs different bytes.
    assert.ok(!verify(kp.publicKey, txSignBytes({ ...body, networkId: 'other' }), tx.signature))
    assert.match(new TextDecoder().decode(txSignBytes(body).subarray(0, 16)), /^pulsemesh\/tx\/v1/)
  })

  test('tx decoding rejects malformed, oversize, non-canonical and out-of-range input with DecodeError', () => {
    const bytes = encodeTx(tx)
    assert.throws(() => decodeTx(new Uint8Array()), isDecodeError('DECODE_ERROR'))
    assert.throws(() => decodeTx(bytes.subarray(0, bytes.length - 70)), isDecodeError())
    assert.throws(() => decodeTx(new Uint8Array(LIMITS.txBytesMax + 1)), isDecodeError('DECODE_TOO_LARGE'))
    const badNet = encodeTx({ ...tx, body: { ...body, networkId: 'Bad Net' } })
    assert.throws(() => decodeTx(badNet), isDecodeError('DECODE_ERROR'))
    const shortSig = encodeTx({ ...tx, signature: new Uint8Array(10) })
    assert.throws(() => decodeTx(shortSig), isDecodeError('DECODE_ERROR'))
    const badKey = encodeTx({
      ...tx,
      body: { ...body, sender: { scheme: 'ed25519', bytes: new Uint8Array(33) } },
    })
    assert.throws(() => decodeTx(badKey), isDecodeError('DECODE_ERROR'))
    const badUtf8 = bytes.slice()
    // Corrupt the memo's first byte into an invalid UTF-8 lead byte.
    const memoAt = toHex(bytes).indexOf(toHex(new TextEncoder().encode('hello'))) / 2
    badUtf8[memoAt] = 0xff
    assert.throws(() => decodeTx(badUtf8), isDecodeError())
  })

  test('fuzz: decoders throw only DecodeError on arbitrary or mutated bytes', () => {
    const good = encodeTx(tx)
    const decoders = [decodeTx, decodeHeader, decodeBlock, decodeCommit, decodeVote, decodeTxResult]
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc
            .tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }))
            .map(([i, v]) => {
              const m = good.slice()
              m[i] = v
              return m
            }),
        ),
        (bytes) => {
          for (const d of decoders) {
            try {
              d(bytes)
            } catch (e) {
              assert.ok(
                e instanceof DecodeError,
                `${d.name} threw ${(e as Error).name}: ${(e as Error).message}`,
              )
            }
          }
        },
      ),
      { numRuns: 400 },
    )
  })

  test('headers, blocks, votes, commits, results round-trip; block hash covers every header field', () => {
    assert.deepEqual(decodeHeader(encodeHeader(header)), header)
    const h1 = toHex(blockHash(header))
    for (const k of Object.keys(header) as (keyof Header)[]) {
      const v = header[k]
      const changed =
        typeof v === 'bigint'
          ? v + 1n
          : typeof v === 'number'
            ? v + 1
            : typeof v === 'string'
              ? 'hub2'
              : v.map((x) => x ^ 1)
      assert.notEqual(toHex(blockHash({ ...header, [k]: changed })), h1, k)
    }
    const block = { header, txs: [encodeTx(tx)], lastCommit: EMPTY_COMMIT, evidence: [] }
    assert.deepEqual(decodeBlock(encodeBlock(block)), block)
    const vote = {
      type: 2 as const,
      height: 5n,
      round: 1,
      blockHash: ZERO_HASH,
      timestampMs: 1n,
      validatorIndex: 3,
      extension: new Uint8Array([9]),
      signature: new Uint8Array(64),
    }
    assert.deepEqual(decodeVote(encodeVote(vote)), vote)
    assert.throws(() => decodeVote(encodeVote({ ...vote, type: 7 as 2 })), isDecodeError())
    assert.ok(voteSignBytes('hub', vote).length > 0)
    const commit = {
      height: 5n,
      round: 0,
      blockHash: ZERO_HASH,
      signatures: [
        { validatorIndex: 2, timestampMs: 1n, extension: new Uint8Array(), signature: new Uint8Array(64) },
        { validatorIndex: 1, timestampMs: 1n, extension: new Uint8Array(), signature: new Uint8Array(64) },
      ],
    }
    assert.throws(() => decodeCommit(encodeCommit(commit)), isDecodeError('DECODE_NON_CANONICAL'))
    const r = { error: '', events: [{ type: 'transfer', attributes: [{ key: 'amount', value: '5' }] }] }
    assert.deepEqual(decodeTxResult(encodeTxResult(r)), r)
  })
})
