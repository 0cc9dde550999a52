/**
 * PulseStream across a node restart: the socket drops, reconnects fail while the node is down, and
 * once it is back the stream reconnects by itself and resumes block subscriptions after the last
 * height it delivered.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { WebSocketServer } from 'ws'
import { PulseStream } from '../src/stream.ts'

const until = async (f: () => boolean, what: string, ms = 20_000) => {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function server(port = 0) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' })
  const subs: Record<string, unknown>[] = []
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Record<string, unknown>
      subs.push(m)
      if (m.op === 'subscribe') {
        const from = BigInt((m.fromHeight as string | undefined) ?? '1')
        for (let h = from; h < from + 2n; h++)
          ws.send(JSON.stringify({ sub: m.id, type: 'block', network: 'hub', height: String(h) }))
      }
    })
  })
  return {
    wss,
    subs,
    ready: new Promise<number>((r) => wss.on('listening', () => r((wss.address() as AddressInfo).port))),
  }
}

test('reconnects after the node restarts and resumes from the next height', async () => {
  const a = server()
  const port = await a.ready
  const s = new PulseStream(`http://127.0.0.1:${port}`)
  const statuses: string[] = []
  s.onStatus = (x) => statuses.push(x)
  s.onError = () => {}
  const heights: string[] = []
  s.subscribe({ channel: 'blocks', network: 'hub' }, (m) => heights.push(m.height))
  await s.connect()
  await until(() => heights.length === 2, 'the first two blocks')
  assert.deepEqual(heights, ['1', '2'])

  // The node goes away: every client is cut, and reconnect attempts fail for a while.
  for (const c of a.wss.clients) c.terminate()
  await new Promise<void>((r) => a.wss.close(() => r()))
  await until(() => statuses.includes('reconnecting'), 'reconnecting status')
  await new Promise((r) => setTimeout(r, 1200))

  const b = server(port)
  await b.ready
  await until(() => heights.length === 4, 'blocks after the restart')
  assert.deepEqual(
    heights,
    ['1', '2', '3', '4'],
    'resumed after the last delivered height, no gap, no repeat',
  )
  const resub = b.subs.find((m) => m.op === 'subscribe')
  assert.equal(resub?.fromHeight, '3')
  assert.equal(statuses[statuses.length - 1], 'open')
  s.close()
  assert.equal(statuses[statuses.length - 1], 'closed')
  await new Promise<void>((r) => b.wss.close(() => r()))
})

test('close() stops reconnecting', async () => {
  const a = server()
  const port = await a.ready
  const s = new PulseStream(`http://127.0.0.1:${port}`)
  s.onError = () => {}
  await s.connect()
  for (const c of a.wss.clients) c.terminate()
  await new Promise<void>((r) => a.wss.close(() => r()))
  s.close()
  const b = server(port)
  await b.ready
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(b.wss.clients.size, 0, 'no connection after close()')
  await new Promise<void>((r) => b.wss.close(() => r()))
})
