/**
 * WebSocket streams at /v1/ws: new blocks, txs by account, events by type.
 *
 * Protocol (JSON text frames), client -> node:
 *   {"op":"subscribe","id":"b1","channel":"blocks","network":"hub","fromHeight":"5"}
 *   {"op":"subscribe","id":"t1","channel":"txs","network":"hub","account":"pm1..."}
 *   {"op":"subscribe","id":"e1","channel":"events","network":"hub","eventType":"transfer"}
 *   {"op":"unsubscribe","id":"b1"}     {"op":"ping"}
 * node -> client: {"type":"subscribed","id"} | {"type":"unsubscribed","id"} | {"type":"pong"}
 *   | {"type":"error","id"?,"code","message"} | {"sub":id,"type":"block"|"tx"|"event",...}
 *
 * Limits: subscriptions per connection, connections per node, frame size, replay length.
 * Backpressure: a client whose unsent bytes exceed `bufferedBytesMax` is dropped (close 1013),
 * never buffered without bound. Each block is serialised once per network and shared by all
 * subscribers (only the `sub` prefix differs).
 */
import { decodeTxBytes, parseAccount } from '@pulsemesh/app'
import { type ChainEvent, toHex } from '@pulsemesh/core'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'
import type { ApiMetrics } from './metrics.ts'

export interface StreamOptions {
  subscriptionsPerConnectionMax?: number
  connectionsMax?: number
  /** Unsent bytes a client may accumulate before it is dropped as too slow. */
  bufferedBytesMax?: number
  /** Largest client frame. */
  frameBytesMax?: number
  /** Most blocks replayed for a `fromHeight` resume. */
  replayBlocksMax?: number
  metrics?: ApiMetrics
}

type Channel = 'blocks' | 'txs' | 'events'
interface Sub {
  conn: Conn
  id: string
  /** `"sub":"<id>",` — precomputed so fan-out is one concatenation per subscriber. */
  prefix: string
  channel: Channel
  network: string
  account?: string
  eventType?: string
  /** While replaying a resume, live blocks are left to the replay loop. */
  replaying: boolean
  nextHeight: bigint
}
interface Conn {
  socket: WebSocket
  subs: Map<string, Sub>
  dropped: boolean
}

export const WS_CLOSE_TOO_SLOW = 1013
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/

export function registerStreams(
  app: FastifyInstance,
  networks: Map<string, NetworkNode>,
  o: StreamOptions,
): void {
  const subsMax = o.subscriptionsPerConnectionMax ?? 100
  const connsMax = o.connectionsMax ?? 20_000
  const bufferedMax = o.bufferedBytesMax ?? 1024 * 1024
  const replayMax = BigInt(o.replayBlocksMax ?? 1000)
  const conns = new Set<Conn>()
  /** Subscriptions by network and channel, for fan-out without scanning every connection. */
  const index = new Map<string, Set<Sub>>()
  const key = (network: string, channel: Channel) => `${network}\u0000${channel}`

  const send = (c: Conn, text: string | Buffer): void => {
    if (c.dropped) return
    if (c.socket.bufferedAmount > bufferedMax) {
      c.dropped = true
      o.metrics?.wsDropped.inc()
      c.socket.close(WS_CLOSE_TOO_SLOW, 'too slow: send buffer full')
      // A peer that stopped reading may never complete the close handshake.
      setTimeout(() => c.socket.terminate(), 1000).unref()
      return
    }
    // A Buffer is sent as a text frame without re-encoding (shared by every subscriber).
    c.socket.send(text, { binary: false })
  }
  const reply = (c: Conn, m: Record<string, unknown>): undefined => {
    send(c, JSON.stringify(m))
  }
  const err = (c: Conn, code: string, message: string, id?: string): undefined =>
    reply(c, { type: 'error', id, code, message })

  const blockBody = (network: string, b: CommittedBlock) =>
    `"type":"block","network":${JSON.stringify(network)},"height":"${b.height}","hash":"${toHex(b.hash)}","timeMs":"${b.header.timeMs}","txs":${JSON.stringify(b.txHashes)}}`

  const unsubscribe = (c: Conn, id: string): boolean => {
    const s = c.subs.get(id)
    if (s === undefined) return false
    c.subs.delete(id)
    const set = index.get(key(s.network, s.channel))
    set?.delete(s)
    return true
  }

  // ---------------------------------------------------------------- live fan-out
  const detach: (() => void)[] = []
  for (const n of networks.values()) {
    const onBlock = (b: CommittedBlock, endEvents: ChainEvent[] = []) => {
      const blocks = index.get(key(n.id, 'blocks'))
      if (blocks && blocks.size > 0) {
        const body = blockBody(n.id, b)
        // Subscribers that chose the same id share one encoded frame payload.
        const frames = new Map<string, Buffer>()
        for (const sub of blocks) {
          if (sub.replaying || b.height !== sub.nextHeight) continue
          sub.nextHeight = b.height + 1n
          let f = frames.get(sub.prefix)
          if (f === undefined) {
            f = Buffer.from(sub.prefix + body)
            if (frames.size < 1024) frames.set(sub.prefix, f)
          }
          send(sub.conn, f)
        }
      }
      const evs = index.get(key(n.id, 'events'))
      if (evs && evs.size > 0) {
        const all: { tx?: string; event: ChainEvent }[] = []
        b.results.forEach((r, i) => {
          for (const e of r.events) all.push({ tx: b.txHashes[i], event: e })
        })
        for (const e of endEvents) all.push({ event: e })
        for (const { tx, event } of all) {
          const body = `"type":"event","network":${JSON.stringify(n.id)},"height":"${b.height}","tx":${JSON.stringify(tx ?? null)},"event":${JSON.stringify(event)}}`
          for (const sub of evs)
            if (sub.eventType === undefined || sub.eventType === event.type) send(sub.conn, sub.prefix + body)
        }
      }
      const txs = index.get(key(n.id, 'txs'))
      if (txs && txs.size > 0 && b.txHashes.length > 0) void deliverTxs(n, b, txs)
    }
    n.on('block', onBlock)
    detach.push(() => n.off('block', onBlock))
  }

  /** Committed txs touching subscribed accounts (needs the block's txs: read once per block). */
  async function deliverTxs(n: NetworkNode, b: CommittedBlock, subs: Set<Sub>) {
    const got = await n.getBlock(b.height)
    if (got === undefined) return
    const prefix = n.genesis.params.addressPrefix
    got.block.txs.forEach((raw, i) => {
      const d = decodeTxBytes(raw)
      const touched = new Set([toHex(d.sender)])
      const kind = n.app.txKind(d.tx.body.kind)
      const to = kind ? (kind.decode(d.tx.body.payload) as { to?: unknown }).to : undefined
      if (to instanceof Uint8Array) touched.add(toHex(to))
      const body = `"type":"tx","network":${JSON.stringify(n.id)},"status":"committed","hash":"${d.hashHex}","height":"${b.height}","index":${i},"ok":${b.results[i]?.error === ''}}`
      for (const sub of subs)
        if (sub.account !== undefined && touched.has(sub.account)) send(sub.conn, sub.prefix + body)
    })
    void prefix
  }

  async function replay(c: Conn, n: NetworkNode, s: Sub): Promise<void> {
    try {
      while (!c.dropped && c.subs.get(s.id) === s && s.nextHeight <= n.height) {
        const got = await n.getBlock(s.nextHeight)
        if (got === undefined) break
        const txHashes = got.block.txs.map((t) => decodeTxBytes(t).hashHex)
        send(
          c,
          s.prefix +
            blockBody(n.id, {
              height: s.nextHeight,
              hash: got.hash,
              header: got.block.header,
              txHashes,
              results: [],
            }),
        )
        s.nextHeight++
        // Yield to the socket when the client is behind, rather than queueing the whole replay.
        while (!c.dropped && c.socket.bufferedAmount > bufferedMax / 2)
          await new Promise((r) => setTimeout(r, 5))
      }
    } finally {
      // Synchronously after the last check: any later block is delivered live.
      s.replaying = false
    }
  }

  // ---------------------------------------------------------------- control messages
  const onMessage = (c: Conn, data: string): undefined => {
    let m: Record<string, unknown>
    try {
      const v = JSON.parse(data) as unknown
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object')
      m = v as Record<string, unknown>
    } catch {
      return err(c, 'INVALID_JSON', 'messages must be JSON objects')
    }
    const id = m.id
    if (m.op === 'ping') return reply(c, { type: 'pong' })
    if (typeof id !== 'string' || !ID_RE.test(id))
      return err(c, 'BAD_REQUEST', 'id must be 1-64 chars of [A-Za-z0-9_.:-]')
    if (m.op === 'unsubscribe') {
      if (!unsubscribe(c, id)) return err(c, 'NOT_FOUND', 'no such subscription', id)
      return reply(c, { type: 'unsubscribed', id })
    }
    if (m.op !== 'subscribe') return err(c, 'BAD_REQUEST', 'op must be subscribe, unsubscribe or ping', id)
    if (c.subs.has(id)) return err(c, 'DUPLICATE_SUBSCRIPTION', 'id already in use on this connection', id)
    if (c.subs.size >= subsMax)
      return err(c, 'SUBSCRIPTION_LIMIT', `at most ${subsMax} subscriptions per connection`, id)
    const n = typeof m.network === 'string' ? networks.get(m.network) : undefined
    if (n === undefined) return err(c, 'UNKNOWN_NETWORK', 'network must be a network this node hosts', id)
    const channel = m.channel
    if (channel !== 'blocks' && channel !== 'txs' && channel !== 'events')
      return err(c, 'BAD_REQUEST', 'channel must be blocks, txs or events', id)
    const s: Sub = {
      conn: c,
      id,
      prefix: `{"sub":${JSON.stringify(id)},`,
      channel,
      network: n.id,
      replaying: false,
      nextHeight: n.height + 1n,
    }
    if (channel === 'txs') {
      if (typeof m.account !== 'string') return err(c, 'BAD_REQUEST', 'txs needs "account"', id)
      try {
        s.account = toHex(parseAccount(m.account, n.genesis.params.addressPrefix))
      } catch (e) {
        return err(c, 'INVALID_ADDRESS', (e as Error).message, id)
      }
    }
    if (channel === 'events') {
      if (m.eventType !== undefined && (typeof m.eventType !== 'string' || m.eventType.length > 64))
        return err(c, 'BAD_REQUEST', 'eventType must be a string of at most 64 chars', id)
      s.eventType = m.eventType as string | undefined
    }
    if (m.fromHeight !== undefined) {
      if (channel !== 'blocks') return err(c, 'BAD_REQUEST', 'fromHeight applies to blocks only', id)
      if (typeof m.fromHeight !== 'string' || !/^[0-9]{1,19}$/.test(m.fromHeight) || m.fromHeight === '0')
        return err(c, 'BAD_REQUEST', 'fromHeight must be a positive integer string', id)
      const from = BigInt(m.fromHeight)
      if (n.height + 1n - from > replayMax)
        return err(c, 'RESUME_TOO_FAR', `can replay at most ${replayMax} blocks; page /blocks instead`, id)
      s.nextHeight = from
      s.replaying = from <= n.height
    }
    c.subs.set(id, s)
    const k = key(n.id, channel)
    let set = index.get(k)
    if (set === undefined) index.set(k, (set = new Set()))
    set.add(s)
    reply(c, { type: 'subscribed', id, height: n.height.toString() })
    if (s.replaying) void replay(c, n, s)
    return undefined
  }

  app.register(websocket, { options: { maxPayload: o.frameBytesMax ?? 4096 } })
  app.register(async (inst) => {
    inst.get('/v1/ws', { websocket: true }, (socket, _req) => {
      const c: Conn = { socket, subs: new Map(), dropped: false }
      if (conns.size >= connsMax) {
        socket.close(1013, 'too many connections')
        return
      }
      conns.add(c)
      o.metrics?.wsClients.inc()
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return err(c, 'BAD_REQUEST', 'text frames only')
        onMessage(c, data.toString('utf8'))
      })
      socket.on('close', () => {
        for (const id of [...c.subs.keys()]) unsubscribe(c, id)
        conns.delete(c)
        o.metrics?.wsClients.dec()
      })
      socket.on('error', () => socket.terminate())
    })
  })
  app.addHook('onClose', async () => {
    for (const d of detach) d()
    for (const c of conns) c.socket.terminate()
  })
}
