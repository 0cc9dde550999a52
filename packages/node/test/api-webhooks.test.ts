/** Webhooks over real HTTP: registration replay, signatures, retries, dead letters, restart durability. */
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { ApiError, PulseClient, verifyWebhook } from '@pulsemesh/sdk'
import type { FastifyInstance } from 'fastify'
import { buildApi } from '../src/api/server.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import type { ChainStore } from '../src/storage/chain-store.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const t = tempDir()
let node: NetworkNode
let store: ChainStore
let api: FastifyInstance | undefined
let url = ''
let hookBase = ''
const got: { path: string; headers: IncomingHttpHeaders; body: string }[] = []
const failuresLeft: Record<string, number> = { '/flaky': 2 }
let gateOpen = false
const receiver = createServer((req, res) => {
  let body = ''
  req.on('data', (c) => {
    body += c
  })
  req.on('end', () => {
    const path = req.url ?? ''
    got.push({ path, headers: req.headers, body })
    if (path === '/gate' && !gateOpen) return // hang: the node restarts mid-delivery
    const fail = path === '/dead' || (failuresLeft[path] ?? 0) > 0
    if ((failuresLeft[path] ?? 0) > 0) failuresLeft[path]--
    res.statusCode = fail ? 500 : 204
    res.end()
  })
})

const opts = { attemptsMax: 3, backoffBaseMs: 5, breakerFailures: 1000 }
async function startApi() {
  api = buildApi({ networks: new Map([['hub', node]]), webhooks: { db: store.db, ...opts } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const a = api.server.address()
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
}
before(async () => {
  const opened = await openNetwork(t.dir, makeGenesis([keyFromByte(1)]))
  node = opened.node
  store = opened.store
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const a = receiver.address()
  hookBase = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
  await startApi()
})
after(async () => {
  await api?.close()
  await node.idle()
  await store.close()
  receiver.closeAllConnections()
  receiver.close()
  t.cleanup()
})

const until = async (pred: () => boolean) => {
  while (!pred()) await new Promise((r) => setTimeout(r, 10))
}

describe('webhooks', () => {
  test('registration: replay returns the same endpoint, reuse with another body conflicts, bad input is 4xx', async () => {
    const c = new PulseClient({ baseUrl: url })
    const a = await c.registerWebhook('hub', { url: `${hookBase}/ok`, events: ['block'] }, 'reg-1')
    const b = await c.registerWebhook('hub', { url: `${hookBase}/ok`, events: ['block'] }, 'reg-1')
    assert.equal(b.id, a.id)
    assert.equal(b.replayed, true)
    assert.equal((await c.webhooks('hub')).webhooks.length, 1)
    await assert.rejects(
      c.registerWebhook('hub', { url: `${hookBase}/other`, events: ['block'] }, 'reg-1'),
      (e: unknown) => e instanceof ApiError && e.code === 'IDEMPOTENCY_CONFLICT' && e.status === 409,
    )
    const raw = (body: unknown, headers: Record<string, string> = { 'idempotency-key': 'k' }) =>
      fetch(`${url}/v1/networks/hub/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      })
    for (const [res, code] of [
      [await raw({ url: `${hookBase}/x`, events: ['block'] }, {}), 'BAD_REQUEST'],
      [await raw({ url: 'ftp://example.com/x', events: ['block'] }), 'BAD_REQUEST'],
      [await raw({ url: `${hookBase}/x`, events: ['gossip'] }), 'BAD_REQUEST'],
      [await raw({ url: `${hookBase}/x`, events: [] }), 'BAD_REQUEST'],
      [await raw({ url: `${hookBase}/x`, events: ['block'], extra: 1 }), 'BAD_REQUEST'],
    ] as const) {
      assert.equal(res.status, 400)
      assert.equal(((await res.json()) as { code: string }).code, code)
    }
  })

  test('deliveries are signed (Standard Webhooks) and verify with the SDK; tampering is caught', async () => {
    const c = new PulseClient({ baseUrl: url })
    const { secret } = await c.registerWebhook('hub', { url: `${hookBase}/ok`, events: ['block'] }, 'reg-1')
    const b = await node.produceBlock()
    await until(() => got.some((g) => g.path === '/ok' && g.body.includes(`"height":"${b.height}"`)))
    const d = got.find((g) => g.path === '/ok' && g.body.includes(`"height":"${b.height}"`))!
    const msg = await verifyWebhook(secret, d.headers as Record<string, string>, d.body)
    assert.equal(msg.type, 'block.committed')
    assert.equal(msg.data.height, b.height.toString())
    await assert.rejects(
      verifyWebhook(secret, d.headers as Record<string, string>, d.body.replace('block', 'bl0ck')),
      (e: unknown) => (e as { code?: string }).code === 'WEBHOOK_SIGNATURE_INVALID',
    )
    await assert.rejects(
      verifyWebhook(secret, d.headers as Record<string, string>, d.body, {
        nowSeconds: Number(d.headers['webhook-timestamp']) + 3600,
      }),
      (e: unknown) => (e as { code?: string }).code === 'WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
    )
  })

  test('failures are retried with the same webhook-id; exhausted deliveries go to the dead-letter list', async () => {
    const c = new PulseClient({ baseUrl: url })
    await c.registerWebhook('hub', { url: `${hookBase}/flaky`, events: ['block'] }, 'reg-flaky')
    const dead = await c.registerWebhook('hub', { url: `${hookBase}/dead`, events: ['block'] }, 'reg-dead')
    await node.produceBlock()
    await until(() => got.filter((g) => g.path === '/flaky').length >= 3)
    const ids = new Set(got.filter((g) => g.path === '/flaky').map((g) => g.headers['webhook-id']))
    assert.equal(ids.size, 1)
    let letters: Awaited<ReturnType<typeof c.webhookDeadLetters>>['deadLetters'] = []
    await until(() => got.filter((g) => g.path === '/dead').length >= 3)
    while (letters.length === 0) {
      letters = (await c.webhookDeadLetters('hub')).deadLetters
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.equal(letters[0].endpointId, dead.id)
    assert.equal(letters[0].attempts, 3)
    assert.match(
      await (await fetch(`${url}/metrics`)).text(),
      /pulsemesh_webhook_failures_total\{network="hub"\} [1-9]/,
    )
    await c.deleteWebhook('hub', dead.id)
  })

  test('a node restart loses no delivery', async () => {
    const c = new PulseClient({ baseUrl: url })
    await c.registerWebhook('hub', { url: `${hookBase}/gate`, events: ['block'] }, 'reg-gate')
    const b = await node.produceBlock()
    await until(() => got.some((g) => g.path === '/gate'))
    const id = got.find((g) => g.path === '/gate')!.headers['webhook-id']
    await api!.close()
    gateOpen = true
    await startApi()
    const ok = () => got.filter((g) => g.path === '/gate' && g.headers['webhook-id'] === id)
    await until(() => ok().length >= 2)
    assert.match(ok().at(-1)!.body, new RegExp(`"height":"${b.height}"`))
  })
})
