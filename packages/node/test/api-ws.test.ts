/** WebSocket streams and abuse over real sockets: resume, filters, limits, slow consumers, slowloris. */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { BANK_KIND } from '@pulsemesh/app'
import { parseAddress } from '@pulsemesh/core'
import { signTx, transferPayload } from '@pulsemesh/sdk'
import WebSocket from 'ws'
import { buildApi } from '../src/api/server.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const t = tempDir()
let node: NetworkNode
let url = ''
let port = 0
let close: () => Promise<void>

before(async () => {
  const opened = await openNetwork(t.dir, makeGenesis([alice]))
  node = opened.node
  const api = buildApi({
    networks: new Map([['hub', node]]),
    streams: { subscriptionsPerConnectionMax: 50, bufferedBytesMax: 64 * 1024 },
    connectionTimeoutMs: 300,
  })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const a = api.server.address()
  port = typeof a === 'object' && a ? a.port : 0
  url = `http://127.0.0.1:${port}`
  close = async () => {
    await api.close()
    await node.idle()
    await opened.store.close()
  }
})
after(async () => {
  await close()
  t.cleanup()
})

type Msg = Record<string, unknown> & { type?: string; sub?: string; code?: string; height?: string }
/** A ws client that queues messages so a test can await the next one matching a predicate. */
async function client() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`)
  const queue: Msg[] = []
  let wake: (() => void) | undefined
  ws.on('message', (d) => {
    queue.push(JSON.parse(String(d)) as Msg)
    wake?.()
  })
  await new Promise((r, j) => {
    ws.once('open', r)
    ws.once('error', j)
  })
  return {
    ws,
    send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    async next(pred: (m: Msg) => boolean = () => true): Promise<Msg> {
      for (;;) {
        const i = queue.findIndex(pred)
        if (i >= 0) return queue.splice(i, 1)[0]
        await new Promise<void>((r) => {
          wake = r
        })
      }
    },
    queue,
  }
}
const signer = { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey }
let nonce = 0n
const transfer = () =>
  signTx(
    signer,
    { networkId: 'hub', nonce: nonce++, fee: 10n, expiresAt: node.height + 50n },
    BANK_KIND.transfer,
    transferPayload(parseAddress(bob.address).bytes, 'pulse', 7n),
  )

describe('streams', () => {
  test('blocks live and resumed from a height, in order, no gaps or repeats', async () => {
    for (let i = 0; i < 3; i++) await node.produceBlock()
    const c = await client()
    c.send({ op: 'subscribe', id: 'live', channel: 'blocks', network: 'hub' })
    c.send({ op: 'subscribe', id: 'resume', channel: 'blocks', network: 'hub', fromHeight: '1' })
    assert.equal((await c.next((m) => m.type === 'subscribed' && m.id === 'live')).height, '3')
    await c.next((m) => m.type === 'subscribed' && m.id === 'resume')
    await node.produceBlock()
    await node.produceBlock()
    const heights = async (sub: string, n: number) => {
      const out: string[] = []
      for (let i = 0; i < n; i++) out.push(String((await c.next((m) => m.sub === sub)).height))
      return out
    }
    assert.deepEqual(await heights('resume', 5), ['1', '2', '3', '4', '5'])
    assert.deepEqual(await heights('live', 2), ['4', '5'])
    c.send({ op: 'unsubscribe', id: 'live' })
    await c.next((m) => m.type === 'unsubscribed')
    await node.produceBlock()
    assert.equal((await c.next((m) => m.sub === 'resume')).height, '6')
    assert.equal(c.queue.filter((m) => m.sub === 'live').length, 0)
    c.ws.close()
  })

  test('txs by account and events by type', async () => {
    const c = await client()
    c.send({ op: 'subscribe', id: 'bob', channel: 'txs', network: 'hub', account: bob.address })
    c.send({ op: 'subscribe', id: 'ev', channel: 'events', network: 'hub', eventType: 'transfer' })
    c.send({ op: 'subscribe', id: 'none', channel: 'events', network: 'hub', eventType: 'no_such_event' })
    for (const id of ['bob', 'ev', 'none']) await c.next((m) => m.type === 'subscribed' && m.id === id)
    const s = transfer()
    await node.submitTx(s.bytes)
    await node.produceBlock()
    const tx = await c.next((m) => m.sub === 'bob')
    assert.equal(tx.hash, s.hash)
    assert.equal(tx.ok, true)
    const ev = await c.next((m) => m.sub === 'ev')
    assert.equal((ev.event as { type: string }).type, 'transfer')
    assert.equal(ev.tx, s.hash)
    c.send({ op: 'ping' })
    await c.next((m) => m.type === 'pong')
    assert.equal(c.queue.filter((m) => m.sub === 'none').length, 0)
    c.ws.close()
  })

  test('bad messages get typed errors; 10,000 subscriptions hit the per-connection limit', async () => {
    const c = await client()
    const cases: [unknown, string][] = [
      ['{nope', 'INVALID_JSON'],
      ['[1,2]', 'INVALID_JSON'],
      [{ op: 'subscribe', id: 'a b', channel: 'blocks', network: 'hub' }, 'BAD_REQUEST'],
      [{ op: 'subscribe', id: 'x', channel: 'blocks', network: 'nope' }, 'UNKNOWN_NETWORK'],
      [{ op: 'subscribe', id: 'x', channel: 'gossip', network: 'hub' }, 'BAD_REQUEST'],
      [{ op: 'subscribe', id: 'x', channel: 'txs', network: 'hub', account: 'pm1bad' }, 'INVALID_ADDRESS'],
      [{ op: 'subscribe', id: 'x', channel: 'blocks', network: 'hub', fromHeight: -1 }, 'BAD_REQUEST'],
      [{ op: 'unsubscribe', id: 'never' }, 'NOT_FOUND'],
      [{ op: 'explode', id: 'x' }, 'BAD_REQUEST'],
    ]
    for (const [m, code] of cases) {
      c.send(m)
      assert.equal((await c.next((x) => x.type === 'error')).code, code, JSON.stringify(m))
    }
    for (let i = 0; i < 10_000; i++)
      c.send({ op: 'subscribe', id: `s${i}`, channel: 'blocks', network: 'hub' })
    let ok = 0
    let limited = 0
    for (let i = 0; i < 10_000; i++) {
      const m = await c.next((x) => x.type === 'subscribed' || x.type === 'error')
      if (m.type === 'subscribed') ok++
      else if (m.code === 'SUBSCRIPTION_LIMIT') limited++
    }
    assert.equal(ok, 50)
    assert.equal(limited, 9_950)
    c.send({ op: 'subscribe', id: 's0', channel: 'blocks', network: 'hub' })
    assert.equal((await c.next((x) => x.type === 'error')).code, 'DUPLICATE_SUBSCRIPTION')
    // A frame over the size limit closes the connection (1009), the node stays up.
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)))
    c.send(JSON.stringify({ op: 'ping', pad: 'x'.repeat(10_000) }))
    assert.equal(await closed, 1009)
    assert.equal((await fetch(`${url}/livez`)).status, 200)
  })

  test('a consumer that stops reading is dropped, not buffered forever', async () => {
    const c = await client()
    for (let i = 0; i < 50; i++) c.send({ op: 'subscribe', id: `s${i}`, channel: 'blocks', network: 'hub' })
    for (let i = 0; i < 50; i++) await c.next((m) => m.type === 'subscribed')
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)))
    c.ws.pause()
    let dropped = false
    for (let i = 0; i < 2000 && !dropped; i++) {
      await node.produceBlock()
      const metrics = await (await fetch(`${url}/metrics`)).text()
      dropped = /pulsemesh_ws_dropped_total 1/.test(metrics)
    }
    assert.ok(dropped, 'slow consumer was not dropped')
    c.ws.resume()
    assert.ok([1013, 1006].includes(await closed))
    // Others still stream.
    const d = await client()
    d.send({ op: 'subscribe', id: 'b', channel: 'blocks', network: 'hub' })
    await d.next((m) => m.type === 'subscribed')
    await node.produceBlock()
    assert.equal((await d.next((m) => m.sub === 'b')).type, 'block')
    d.ws.close()
  })
})

describe('slow HTTP clients', () => {
  test('a half-sent request (slowloris) is cut off; the node keeps serving', async () => {
    const sock = connect(port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    sock.write('GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    const ended = new Promise((r) => sock.once('close', r))
    assert.equal((await fetch(`${url}/livez`)).status, 200)
    await ended
  })
})
