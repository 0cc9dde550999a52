/** POST /v1/networks/{id}/txs/batch over real HTTP: per-tx results, malformed/oversized bodies, auth, OpenAPI. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { BANK_KIND } from '@pulsemesh/app'
import { parseAddress, toHex } from '@pulsemesh/core'
import { ApiError, PulseClient, signTx, transferPayload } from '@pulsemesh/sdk'
import { Authenticator, sha256Hex } from '../src/api/auth.ts'
import { TX_BATCH_SUBMIT_BYTES_MAX, TX_BATCH_SUBMIT_MAX } from '../src/api/schemas.ts'
import { apiServers } from './api-servers.ts'
import { decodeTxBatchBody, encodeTxBatchBody } from '../src/api/tx-batch-routes.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const carol = keyFromByte(3)
const bob = keyFromByte(2)
const t = tempDir()
let url = ''
let authUrl = ''
let node: NetworkNode
const { serve, closeAll } = apiServers()
let closeStore: () => Promise<void>

before(async () => {
  const opened = await openNetwork(t.dir, makeGenesis([alice, carol]))
  node = opened.node
  closeStore = async () => {
    await node.idle()
    await opened.store.close()
  }
  url = await serve({ networks: new Map([['hub', node]]) })
  authUrl = await serve({
    networks: new Map([['hub', node]]),
    auth: new Authenticator({
      issuer: 'pulsemesh-test',
      jwks: { keys: [] },
      apiKeys: [
        { name: 'reader', sha256: sha256Hex('viewer-key'), role: 'viewer' },
        { name: 'bot', sha256: sha256Hex('trader-key'), role: 'trader' },
      ],
    }),
  })
})
after(async () => {
  await closeAll()
  await closeStore()
  t.cleanup()
})

const transfer = (who: ReturnType<typeof keyFromByte>, nonce: bigint, amount = 1n) =>
  signTx(
    { scheme: who.scheme, publicKey: who.publicKey, secret: who.secretKey },
    { networkId: 'hub', nonce, fee: 10n, expiresAt: 50n },
    BANK_KIND.transfer,
    transferPayload(parseAddress(bob.address).bytes, 'pulse', amount),
  )

const post = async (
  body: Uint8Array | string,
  type: string,
  headers: Record<string, string> = {},
  base = url,
) => {
  const r = await fetch(`${base}/v1/networks/hub/txs/batch`, {
    method: 'POST',
    headers: { 'content-type': type, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  })
  // biome-ignore lint/suspicious/noExplicitAny: checked field by field
  return { status: r.status, body: (await r.json()) as any }
}

describe('tx batch submit', () => {
  test('a partially invalid batch: per-tx results in order, only the good txs admitted', async () => {
    const c = new PulseClient({ baseUrl: url })
    const a0 = transfer(alice, 0n)
    const a1 = transfer(alice, 1n)
    const a2 = transfer(alice, 2n)
    const badSig = transfer(carol, 0n).bytes.slice()
    badSig[badSig.length - 1] ^= 1
    const gap = transfer(carol, 5n)
    const garbage = new Uint8Array([1, 2, 3])
    // Consecutive nonces of one sender in one batch enter the mempool in order.
    const r = await c.submitTxs('hub', [a0.bytes, a1.bytes, badSig, garbage, a2.bytes, gap.bytes, a1.bytes])
    assert.equal(r.accepted, 3)
    assert.equal(r.rejected, 4)
    assert.deepEqual(
      r.results.map((x) => x.code ?? x.status),
      ['pending', 'pending', 'BAD_SIGNATURE', 'DECODE_ERROR', 'pending', 'NONCE_GAP', 'TX_DUPLICATE'],
    )
    assert.equal(r.results[0].hash, a0.hash)
    assert.equal(r.results[6].hash, a1.hash)
    assert.equal(typeof r.results[3].hash, 'string')
    assert.equal(node.mempool.size, 3)
    assert.ok(node.mempool.has(a2.hash))
    const b = await node.produceBlock()
    assert.deepEqual(b.txHashes, [a0.hash, a1.hash, a2.hash])
  })

  test('JSON body {"txs": [hex]} works like the binary one', async () => {
    const c0 = transfer(carol, 0n)
    const c1 = transfer(carol, 1n)
    const r = await post(
      JSON.stringify({ txs: [toHex(c0.bytes), `0x${toHex(c1.bytes)}`] }),
      'application/json',
    )
    assert.equal(r.status, 200)
    assert.equal(r.body.accepted, 2)
    assert.deepEqual(
      r.body.results.map((x: { hash: string }) => x.hash),
      [c0.hash, c1.hash],
    )
    await node.produceBlock()
  })

  test('malformed bodies are refused whole with a code, and admit nothing', async () => {
    const good = transfer(alice, 3n).bytes
    const framed = encodeTxBatchBody([good])
    const cases: [Uint8Array | string, string, number, string][] = [
      [framed.subarray(0, 2), 'application/octet-stream', 400, 'BATCH_MALFORMED'], // truncated prefix
      [framed.subarray(0, framed.length - 1), 'application/octet-stream', 400, 'BATCH_MALFORMED'],
      [new Uint8Array([0, 0, 0, 0]), 'application/octet-stream', 400, 'BATCH_MALFORMED'], // empty tx
      [encodeTxBatchBody([good, new Uint8Array()]), 'application/octet-stream', 400, 'BATCH_MALFORMED'],
      ['{"txs": []}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"txs": ["zz"]}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"tx": "00"}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"txs": [', 'application/json', 400, 'INVALID_JSON'],
      ['txs', 'text/plain', 400, 'BATCH_MALFORMED'],
    ]
    for (const [body, type, status, code] of cases) {
      const r = await post(body, type)
      assert.equal(r.status, status, `${code}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.code, code)
    }
    assert.equal(node.mempool.size, 0)
    assert.throws(() => decodeTxBatchBody(new Uint8Array()), { code: 'BATCH_MALFORMED' })
  })

  test('oversized batches: too many txs, too many bytes, body over the route limit', async () => {
    const tiny = new Uint8Array([9])
    const many = encodeTxBatchBody(new Array(TX_BATCH_SUBMIT_MAX + 1).fill(tiny))
    let r = await post(many, 'application/octet-stream')
    assert.equal(r.status, 413)
    assert.equal(r.body.code, 'PAYLOAD_TOO_LARGE')
    r = await post(JSON.stringify({ txs: new Array(TX_BATCH_SUBMIT_MAX + 1).fill('09') }), 'application/json')
    assert.equal(r.body.code, 'PAYLOAD_TOO_LARGE')
    const big = new Uint8Array(TX_BATCH_SUBMIT_BYTES_MAX / 2).fill(0xab)
    r = await post(JSON.stringify({ txs: [toHex(big), toHex(big), toHex(tiny)] }), 'application/json')
    assert.equal(r.body.code, 'PAYLOAD_TOO_LARGE')
    r = await post(encodeTxBatchBody([big, big, big, big, big]), 'application/octet-stream')
    assert.equal(r.status, 413)
    assert.equal(r.body.code, 'PAYLOAD_TOO_LARGE')
    assert.equal(node.mempool.size, 0)
  })

  test('same role as the single submit: viewer is forbidden, trader may submit', async () => {
    const body = encodeTxBatchBody([transfer(alice, 3n).bytes])
    let r = await post(body, 'application/octet-stream', {}, authUrl)
    assert.equal(r.body.code, 'UNAUTHORIZED')
    r = await post(body, 'application/octet-stream', { 'x-api-key': 'viewer-key' }, authUrl)
    assert.equal(r.body.code, 'FORBIDDEN')
    assert.equal(node.mempool.size, 0)
    const c = new PulseClient({ baseUrl: authUrl, apiKey: 'trader-key' })
    assert.equal((await c.submitTxs('hub', [transfer(alice, 3n).bytes])).accepted, 1)
    await assert.rejects(
      new PulseClient({ baseUrl: authUrl }).submitTxs('hub', [transfer(alice, 4n).bytes]),
      (e: unknown) => e instanceof ApiError && e.status === 401,
    )
    await assert.rejects(
      new PulseClient({ baseUrl: url }).submitTxs('nope', [transfer(alice, 4n).bytes]),
      (e: unknown) => e instanceof ApiError && e.code === 'UNKNOWN_NETWORK',
    )
  })

  test('OpenAPI documents the route with both body types and its role', async () => {
    const doc = (await (await fetch(`${url}/v1/openapi.json`)).json()) as {
      paths: Record<string, { post: { requestBody: { content: object }; security?: unknown[] } }>
    }
    const op = doc.paths['/v1/networks/{id}/txs/batch'].post
    assert.deepEqual(Object.keys(op.requestBody.content).sort(), [
      'application/json',
      'application/octet-stream',
    ])
    assert.equal(op.security?.length, 2)
  })
})
