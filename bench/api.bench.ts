/**
 * API benchmark (`npm run bench -- api`).
 * 1. HTTP: requests/s of a chain read route (schemas, hooks, serialisation) against a bare Fastify
 *    hello route in the same process, same keep-alive client, same run -> ratio.
 * 2. WebSocket fan-out: N subscribers (default 10,000; API_BENCH_SUBSCRIBERS) receive each new
 *    block; latency from the node's 'block' event to receipt, p50/p99, against a bare `ws` server
 *    broadcasting the same bytes to the same number of clients (the peer) -> ratio.
 * Subscribers live in a child process (its own file-descriptor limit; 2 sockets per connection
 * would not fit one process's limit). Both processes read the same clock (timeOrigin + now).
 */
import { fork } from 'node:child_process'
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import WebSocket, { WebSocketServer } from 'ws'
import { buildApi } from '../packages/node/src/api/server.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from '../packages/node/test/fixtures.ts'

const here = fileURLToPath(import.meta.url)
const nowAbs = () => performance.timeOrigin + performance.now()

// ------------------------------------------------------------------ child: the subscribers
if (process.argv[2] === '--ws-child') {
  const [url, nStr, msg] = process.argv.slice(3)
  const n = Number(nStr)
  const recv: Record<string, number[]> = {}
  const sockets: WebSocket[] = []
  let ready = 0
  const batch = 200
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () => {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        sockets.push(ws)
        return new Promise<void>((resolve, reject) => {
          ws.once('open', () => {
            if (msg !== '-') ws.send(msg)
            else resolve()
          })
          ws.once('error', reject)
          ws.on('message', (d) => {
            const s = String(d)
            if (s.startsWith('{"type":"subscribed"')) return resolve()
            const m = /"height":"(\d+)"/.exec(s)
            if (m) (recv[m[1]] ??= []).push(nowAbs())
          })
        })
      }),
    )
    ready += Math.min(batch, n - i)
  }
  process.send?.({ ready })
  process.on('message', (m: { done?: boolean }) => {
    if (!m.done) return
    process.send?.({ recv }, () => {
      for (const s of sockets) s.terminate()
      process.exit(0)
    })
  })
} // end child

if (process.argv[2] === '--http-child') {
  const [port, path, ms] = process.argv.slice(3)
  const rps = await loadTest(Number(port), path, Number(ms))
  process.send?.({ rps }, () => process.exit(0))
}

/** Load from a child process, so the client does not share the server's event loop. */
function loadFromChild(port: number, path: string, ms: number): Promise<number> {
  const child = fork(here, ['--http-child', String(port), path, String(ms)], { stdio: 'inherit' })
  return new Promise((resolve, reject) => {
    child.once('message', (m: { rps: number }) => resolve(m.rps))
    child.once('exit', (c) => (c === 0 ? undefined : reject(new Error(`load process exited ${c}`))))
  })
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const r2 = (x: number) => Math.round(x * 100) / 100

async function loadTest(port: number, path: string, ms: number, concurrency = 32): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  let done = 0
  const end = performance.now() + ms
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        )
      })
      req.on('error', reject)
      req.end()
    })
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await one()
        done++
      }
    }),
  )
  agent.destroy()
  return done / ((performance.now() - t0) / 1000)
}

async function fanout(
  url: string,
  subscribers: number,
  subscribeMsg: string,
  blocks: number,
  /** Emits block `i`; returns its height and the absolute time the fan-out started. */
  emit: (i: number) => Promise<{ height: string; t0: number }>,
): Promise<{ latenciesMs: number[]; delivered: number; connectMs: number }> {
  const child = fork(here, ['--ws-child', url, String(subscribers), subscribeMsg], { stdio: 'inherit' })
  const tConnect = performance.now()
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (c) => reject(new Error(`subscriber process exited ${c}`)))
  })
  const connectMs = performance.now() - tConnect
  const sent: Record<string, number> = {}
  for (let i = 0; i < blocks; i++) {
    const e = await emit(i)
    sent[e.height] = e.t0
    await new Promise((r) => setTimeout(r, 300)) // let the fan-out finish before the next block
  }
  const recv = await new Promise<Record<string, number[]>>((resolve) => {
    child.once('message', (m: { recv: Record<string, number[]> }) => resolve(m.recv))
    child.send({ done: true })
  })
  const latenciesMs: number[] = []
  let delivered = 0
  for (const [h, ts] of Object.entries(recv)) {
    if (sent[h] === undefined) continue
    delivered += ts.length
    for (const t of ts) latenciesMs.push(t - sent[h])
  }
  return { latenciesMs, delivered, connectMs }
}

export async function run(): Promise<Record<string, unknown>> {
  const t = tempDir('pm-bench-api-')
  const { node, store } = await openNetwork(t.dir, makeGenesis([keyFromByte(1)]))
  for (let i = 0; i < 3; i++) await node.produceBlock()
  const api = buildApi({ networks: new Map([['hub', node]]), streams: { connectionsMax: 50_000 } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const apiPort = (api.server.address() as { port: number }).port
  const bare = Fastify()
  bare.get('/hello', async () => ({ hello: 'world' }))
  await bare.listen({ host: '127.0.0.1', port: 0 })
  const barePort = (bare.server.address() as { port: number }).port

  const ms = Number(process.env.API_BENCH_HTTP_MS ?? 3000)
  await loadFromChild(barePort, '/hello', 500) // warm-up
  await loadFromChild(apiPort, '/v1/networks/hub/status', 500)
  const bareRps = await loadFromChild(barePort, '/hello', ms)
  const statusRps = await loadFromChild(apiPort, '/v1/networks/hub/status', ms)
  const blockRps = await loadFromChild(apiPort, '/v1/networks/hub/blocks/latest', ms)

  // WebSocket fan-out through the node's stream.
  const subscribers = Number(process.env.API_BENCH_SUBSCRIBERS ?? 10_000)
  const blocks = Number(process.env.API_BENCH_BLOCKS ?? 10)
  let t0 = 0
  node.prependListener('block', () => {
    t0 = nowAbs()
  })
  const nodeFan = await fanout(
    `ws://127.0.0.1:${apiPort}/v1/ws`,
    subscribers,
    JSON.stringify({ op: 'subscribe', id: 'b', channel: 'blocks', network: 'hub' }),
    blocks,
    async () => {
      // Latency counts from the 'block' event (the commit is durable), not block production.
      const b = await node.produceBlock()
      return { height: b.height.toString(), t0 }
    },
  )

  // Peer: a bare ws server broadcasting a same-sized frame.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise((r) => wss.once('listening', r))
  const wssPort = (wss.address() as { port: number }).port
  const sample = `{"sub":"b","type":"block","network":"hub","height":"%H","hash":"${'ab'.repeat(32)}","timeMs":"1","txs":[]}`
  let height = 1_000_000
  const peerFan = await fanout(`ws://127.0.0.1:${wssPort}`, subscribers, '-', blocks, async () => {
    const h = String(++height)
    const t0 = nowAbs()
    const text = sample.replace('%H', h)
    for (const c of wss.clients) c.send(text)
    return { height: h, t0 }
  })
  wss.close()

  await api.close()
  await bare.close()
  await node.idle()
  await store.close()
  t.cleanup()
  const nodeP99 = pct(nodeFan.latenciesMs, 99)
  const peerP99 = pct(peerFan.latenciesMs, 99)
  return {
    http: {
      bareHelloRps: Math.round(bareRps),
      statusRouteRps: Math.round(statusRps),
      latestBlockRouteRps: Math.round(blockRps),
      statusVsBareRatio: r2(statusRps / bareRps),
      latestBlockVsBareRatio: r2(blockRps / bareRps),
      concurrency: 32,
      durationMs: ms,
      client: 'keep-alive node:http in a child process',
    },
    wsFanout: {
      subscribers,
      blocks,
      delivered: nodeFan.delivered,
      expected: subscribers * blocks,
      connectAllMs: Math.round(nodeFan.connectMs),
      p50Ms: r2(pct(nodeFan.latenciesMs, 50)),
      p99Ms: r2(nodeP99),
      maxMs: r2(Math.max(...nodeFan.latenciesMs)),
      targetP99Ms: 50,
      p99VsTargetRatio: r2(nodeP99 / 50),
      peerBareWsP50Ms: r2(pct(peerFan.latenciesMs, 50)),
      peerBareWsP99Ms: r2(peerP99),
      p99VsBareWsRatio: r2(nodeP99 / peerP99),
    },
  }
}
