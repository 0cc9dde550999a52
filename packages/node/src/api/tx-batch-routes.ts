/**
 * POST /v1/networks/:id/txs/batch — many signed txs in one request (load generators, wallets
 * flushing a queue, relayers). Same role as the single submit (`trader`).
 *
 * Body: `application/octet-stream` with the txs back to back, each a u32 big-endian length then
 * its bytes, or JSON `{"txs": ["<hex>", ...]}`. At most TX_BATCH_SUBMIT_MAX txs and
 * TX_BATCH_SUBMIT_BYTES_MAX bytes of txs (PAYLOAD_TOO_LARGE, 413); a body that does not frame
 * (truncated length, empty) is BATCH_MALFORMED (400) and admits nothing. Otherwise every tx gets
 * its own result, in order: `pending`, or `rejected` with the same stable code the single submit
 * would answer (DECODE_ERROR, BAD_SIGNATURE, NONCE_GAP, ...). Signatures are checked in parallel on
 * the verify pool and txs enter the mempool in body order, so a sender's consecutive nonces may
 * share one batch.
 */
import {
  DecodeError,
  decodeFrames,
  encodeFrames,
  fromHex,
  isPulseError,
  PulseError,
  toHex,
  txHash,
} from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import type { NetworkNode } from '../chain/network-node.ts'
import { TRACE_DIR, trace } from '../consensus/trace.ts'
import { hostedNetwork } from './hosted-network.ts'
import * as S from './schemas.ts'

type Net = Pick<NetworkNode, 'submitTxs'>

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/

/** Splits a length-prefixed body into txs (views into `body`); throws BATCH_MALFORMED / PAYLOAD_TOO_LARGE. */
export function decodeTxBatchBody(body: Uint8Array): Uint8Array[] {
  if (body.length > S.TX_BATCH_SUBMIT_BYTES_MAX + 4 * S.TX_BATCH_SUBMIT_MAX)
    throw tooLarge(`more than ${S.TX_BATCH_SUBMIT_BYTES_MAX} bytes of txs`)
  let out: Uint8Array[]
  try {
    out = decodeFrames(body, { maxCount: S.TX_BATCH_SUBMIT_MAX, nonEmpty: true, what: 'tx batch' })
  } catch (e) {
    if (e instanceof DecodeError && e.code === 'DECODE_TOO_LARGE')
      throw tooLarge(`more than ${S.TX_BATCH_SUBMIT_MAX} txs`)
    throw malformed((e as Error).message.replace(/^tx batch: /, ''))
  }
  if (out.length === 0) throw malformed('no txs')
  return out
}

/** The length-prefixed body for `txs` (what decodeTxBatchBody reads; the SDK sends this). */
export function encodeTxBatchBody(txs: readonly Uint8Array[]): Uint8Array {
  return encodeFrames(txs)
}

const malformed = (why: string) => new PulseError('BATCH_MALFORMED', `tx batch: ${why}`)
const tooLarge = (why: string) => new PulseError('PAYLOAD_TOO_LARGE', `tx batch: ${why}`)

function txsFromJson(body: unknown): Uint8Array[] {
  const txs = (body as { txs?: unknown } | undefined)?.txs
  if (!Array.isArray(txs) || txs.length === 0)
    throw malformed('body must be {"txs": ["<hex>", ...]} or length-prefixed octet-stream')
  if (txs.length > S.TX_BATCH_SUBMIT_MAX) throw tooLarge(`more than ${S.TX_BATCH_SUBMIT_MAX} txs`)
  let bytes = 0
  return txs.map((t, i) => {
    if (typeof t !== 'string' || !HEX.test(t)) throw malformed(`txs[${i}] is not hex`)
    bytes += (t.length - (t.startsWith('0x') ? 2 : 0)) / 2
    if (bytes > S.TX_BATCH_SUBMIT_BYTES_MAX)
      throw tooLarge(`more than ${S.TX_BATCH_SUBMIT_BYTES_MAX} bytes of txs`)
    return fromHex(t)
  })
}

export function registerTxBatchRoutes(app: FastifyInstance, networks: Map<string, Net>): void {
  app.post<{ Params: { id: string }; Body: unknown }>(
    '/v1/networks/:id/txs/batch',
    {
      // Hex in JSON doubles the bytes; the exact bound on tx bytes is checked after parsing.
      bodyLimit: 2 * S.TX_BATCH_SUBMIT_BYTES_MAX + 8 * S.TX_BATCH_SUBMIT_MAX + 1024,
      config: {
        doc: {
          summary: `submit up to ${S.TX_BATCH_SUBMIT_MAX} signed txs; one result per tx, in order`,
          tags: ['txs'],
          role: 'trader',
        },
      },
      schema: {
        params: S.NetParams,
        body: {
          content: {
            'application/json': { schema: S.SubmitTxBatchJson },
            'application/octet-stream': { schema: {} },
          },
        },
        response: { 200: S.R.submittedBatch, ...S.ERRORS },
      },
    },
    async (req) => {
      const n = hostedNetwork(networks, req.params.id)
      const txs = Buffer.isBuffer(req.body)
        ? decodeTxBatchBody(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength))
        : txsFromJson(req.body)
      if (TRACE_DIR) trace(`api txs in n=${txs.length} first=${toHex(txHash(txs[0])).slice(0, 8)}`)
      const outcomes = await n.submitTxs(txs)
      let accepted = 0
      const results = outcomes.map((r, i) => {
        if (!(r instanceof Error)) {
          accepted++
          return { hash: r.hashHex, status: 'pending' as const }
        }
        if (!isPulseError(r)) throw r // not a verdict on the tx: a node fault (500)
        // The tx hash is SHA-256 of its bytes, so even undecodable bytes can be named.
        return { hash: toHex(txHash(txs[i])), status: 'rejected' as const, code: r.code, message: r.message }
      })
      return { accepted, rejected: results.length - accepted, results }
    },
  )
}
