/** REST API: schemas -> validation + OpenAPI 3.1, pagination, certificates, metrics, readiness, limits. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { BANK_KIND } from '@pulsemesh/app'
import { parseAddress } from '@pulsemesh/core'
import { PulseClient, signTx, transferPayload, verifyCertifiedHeader } from '@pulsemesh/sdk'
import { buildApi, jsonDepth } from '../src/api/server.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below
type Json = Record<string, any>

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = makeGenesis([alice])
const t = tempDir()
let url = ''
let node: NetworkNode
let close: () => Promise<void>
const hashes: string[] = []

before(async () => {
  const opened = await openNetwork(t.dir, genesis)
  node = opened.node
  const api = buildApi({
    networks: new Map([['hub', node]]),
    readiness: async () => ({ storageWritable: true }),
  })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const a = api.server.address()
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
  close = async () => {
    await api.close()
    await node.idle()
    await opened.store.close()
  }
  // Five blocks, one transfer alice -> bob in each.
  const signer = { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey }
  for (let i = 0n; i < 5n; i++) {
    const s = signTx(
      signer,
      { networkId: 'hub', nonce: i, fee: 10n, expiresAt: 100n },
      BANK_KIND.transfer,
      transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n + i),
    )
    await node.submitTx(s.bytes)
    await node.produceBlock()
    hashes.push(s.hash)
  }
})
after(async () => {
  await close()
  t.cleanup()
})

const get = async (path: string) => {
  const r = await fetch(url + path)
  return {
    status: r.status,
    type: r.headers.get('content-type') ?? '',
    body: (await r.json()) as Json,
  }
}

describe('OpenAPI', () => {
  test('document is valid OpenAPI 3.1 and lists every chain route', async () => {
    const { body: doc } = await get('/v1/openapi.json')
    assert.equal(doc.openapi, '3.1.0')
    await SwaggerParser.validate(structuredClone(doc) as never)
    for (const p of [
      '/v1/networks/{id}/status',
      '/v1/networks/{id}/blocks',
      '/v1/networks/{id}/blocks/{height}',
      '/v1/networks/{id}/blocks/by-hash/{hash}',
      '/v1/networks/{id}/commits/{height}',
      '/v1/networks/{id}/validators',
      '/v1/networks/{id}/txs/{hash}',
      '/v1/networks/{id}/txs',
      '/v1/networks/{id}/accounts/{address}',
      '/v1/networks/{id}/accounts/{address}/balances',
      '/v1/networks/{id}/accounts/{address}/txs',
      '/v1/networks/{id}/proofs/tx/{hash}',
      '/v1/networks/{id}/proofs/account/{address}',
      '/v1/networks/{id}/proofs/checkpoint/{height}',
      '/v1/networks/{id}/mempool',
    ])
      assert.ok(doc.paths[p], `missing ${p}`)
    assert.deepEqual(Object.keys(doc.paths['/v1/networks/{id}/txs'].post.requestBody.content).sort(), [
      'application/json',
      'application/octet-stream',
    ])
    assert.equal(doc.paths['/v1/networks/{id}/txs'].post.security.length, 2)
  })

  test('docs page is served', async () => {
    const r = await fetch(`${url}/docs`)
    assert.equal(r.status, 200)
    assert.match(await r.text(), /openapi\.json/)
  })
})

describe('reads', () => {
  test('blocks: cursor pagination walks every block once, newest first', async () => {
    const seen: string[] = []
    let cursor: string | null = ''
    for (let guard = 0; cursor !== null && guard < 10; guard++) {
      const { status, body }: { status: number; body: Json } = await get(
        `/v1/networks/hub/blocks?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      assert.equal(status, 200)
      assert.ok(body.blocks.length <= 2)
      for (const b of body.blocks) seen.push(b.height)
      cursor = body.nextCursor
    }
    assert.deepEqual(seen, ['5', '4', '3', '2', '1'])
  })

  test('txs by account: cursor pagination', async () => {
    const all: string[] = []
    let cursor: string | null = ''
    for (let guard = 0; cursor !== null && guard < 10; guard++) {
      const { body }: { body: Json } = await get(
        `/v1/networks/hub/accounts/${bob.address}/txs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      for (const x of body.txs) all.push(x.hash)
      cursor = body.nextCursor
    }
    assert.deepEqual(all, [...hashes].reverse())
  })

  test('block by hash, validators, balances', async () => {
    const latest = (await get('/v1/networks/hub/blocks/latest')).body
    const byHash = (await get(`/v1/networks/hub/blocks/by-hash/${latest.hash}`)).body
    assert.equal(byHash.header.height, '5')
    const v = (await get('/v1/networks/hub/validators')).body
    assert.equal(v.validators.length, 1)
    assert.equal(v.totalPower, v.validators[0].power)
    const b = (await get(`/v1/networks/hub/accounts/${bob.address}/balances`)).body
    assert.equal(b.balances.pulse, String(1 + 2 + 3 + 4 + 5))
  })

  test('commit certificate and checkpoint verify client-side', async () => {
    const c = new PulseClient({ baseUrl: url })
    const cert = await c.commit('hub', 3n)
    const header = verifyCertifiedHeader(cert.header, cert.commit, cert.validators)
    assert.equal(header.height, 3n)
    const cp = await c.checkpoint('hub', 'latest')
    assert.equal(verifyCertifiedHeader(cp.header, cp.commit, cp.validators).height, 5n)
    // A certificate for another height does not verify against this header.
    await assert.rejects(
      async () => verifyCertifiedHeader(cert.header, cp.commit, cp.validators),
      /PROOF_INVALID|commit/,
    )
  })
})

describe('bad input is a 4xx problem, never a 500', () => {
  test('schema, cursor, depth, media type, size', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/v1/networks/hub/txs`, { method: 'POST', headers: { 'content-type': type }, body })
    const cases: [Promise<Response>, number, string][] = [
      [fetch(`${url}/v1/networks/hub/blocks?limit=0`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/blocks?limit=101`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/blocks?limit=abc`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/blocks?cursor=x`), 400, 'BAD_CURSOR'],
      [fetch(`${url}/v1/networks/hub/accounts/${bob.address}/txs?cursor=1`), 400, 'BAD_CURSOR'],
      [fetch(`${url}/v1/networks/hub/commits/0`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/commits/99`), 404, 'NOT_FOUND'],
      [fetch(`${url}/v1/networks/hub/blocks/by-hash/${'ab'.repeat(32)}`), 404, 'NOT_FOUND'],
      [fetch(`${url}/v1/networks/${'x'.repeat(100)}/status`), 400, 'BAD_REQUEST'],
      [post(`${'['.repeat(1000)}${']'.repeat(1000)}`), 400, 'JSON_TOO_DEEP'],
      [post('{"tx":"00"', 'application/json'), 400, 'INVALID_JSON'],
      [post('[]'), 400, 'BAD_REQUEST'],
      [post('{"tx":"0g"}'), 400, 'BAD_REQUEST'],
      [post('tx=00', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('x'.repeat(300_000), 'application/octet-stream'), 413, 'PAYLOAD_TOO_LARGE'],
      [post('\u0000\u0001', 'application/octet-stream'), 400, 'DECODE_ERROR'],
    ]
    for (const [p, status, code] of cases) {
      const res = await p
      const body = (await res.json()) as { code: string }
      assert.equal(res.status, status, `${code}: ${JSON.stringify(body)}`)
      assert.equal(body.code, code)
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/)
    }
    assert.equal(node.mempool.size, 0)
    assert.equal((await fetch(`${url}/livez`)).status, 200)
  })

  test('jsonDepth skips strings', () => {
    assert.equal(jsonDepth('{"a":"[[[[[["}'), 1)
    assert.equal(jsonDepth('[[1],[[2]]]'), 3)
    assert.equal(jsonDepth('"\\"[["'), 0)
  })
})

describe('health and metrics', () => {
  test('/readyz reports its checks', async () => {
    const r = await get('/readyz')
    assert.equal(r.status, 200)
    assert.equal(r.body.checks.storageWritable, true)
    assert.equal(r.body.networks[0].height, '5')
  })

  test('/metrics exposes chain and API metrics with units in names', async () => {
    await fetch(`${url}/v1/networks/hub/status`)
    const text = await (await fetch(`${url}/metrics`)).text()
    for (const name of [
      'pulsemesh_head_height_blocks{network="hub"} 5',
      'pulsemesh_txs_committed_total{network="hub"} 5',
      'pulsemesh_mempool_txs{network="hub"} 0',
      'pulsemesh_block_interval_seconds_count{network="hub"}',
      'pulsemesh_http_request_duration_seconds_bucket',
      'pulsemesh_consensus_rounds_total',
      'pulsemesh_webhook_failures_total',
    ])
      assert.ok(text.includes(name), `missing ${name}`)
  })
})
