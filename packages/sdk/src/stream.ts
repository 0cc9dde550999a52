/**
 * WebSocket streams of a node (/v1/ws) with typed subscriptions. On reconnect, block
 * subscriptions resume from the height after the last one received, so nothing is missed; a
 * reconnect that fails is retried with backoff (0.5 s doubling to 5 s) until `close()`.
 * Uses the global WebSocket (Node >= 22, browsers).
 */
import { PulseError } from '@pulsemesh/core'

export type Subscription =
  | { channel: 'blocks'; network: string; fromHeight?: bigint }
  | { channel: 'txs'; network: string; account: string }
  | { channel: 'events'; network: string; eventType?: string }

export interface StreamMessage {
  sub: string
  type: 'block' | 'tx' | 'event'
  network: string
  height: string
  [k: string]: unknown
}

export class StreamError extends PulseError {}

export class PulseStream {
  private ws: WebSocket | undefined
  private readonly url: string
  private readonly subs = new Map<
    string,
    { s: Subscription; on: (m: StreamMessage) => void; last?: bigint }
  >()
  private seq = 0
  private closed = false
  onError: (e: StreamError) => void = () => {}

  constructor(baseUrl: string) {
    this.url = `${baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/v1/ws`
  }

  /** Opens (or re-opens) the socket and (re)subscribes everything. */
  async connect(): Promise<void> {
    const ws = new WebSocket(this.url)
    this.ws = ws
    try {
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve()
        ws.onerror = () => reject(new StreamError('NODE_UNREACHABLE', `cannot open ${this.url}`))
        ws.onclose = () => reject(new StreamError('NODE_UNREACHABLE', `cannot open ${this.url}`))
      })
    } catch (e) {
      // A failed reconnect keeps retrying (the node may be restarting); the first connect reports.
      if (this.retrying) this.retry()
      throw e
    }
    this.attempts = 0
    this.setStatus('open')
    ws.onmessage = (ev) => this.onMessage(String(ev.data))
    ws.onclose = () => {
      if (this.ws === ws) this.retry()
    }
    for (const [id, x] of this.subs) this.send(id, x.s, x.last)
  }

  /** 'open', or 'reconnecting' after the socket dropped (retries with backoff until `close()`). */
  onStatus: (s: 'open' | 'reconnecting' | 'closed') => void = () => {}
  private retrying = false
  private attempts = 0
  private setStatus(s: 'open' | 'reconnecting' | 'closed'): void {
    this.retrying = s === 'reconnecting'
    this.onStatus(s)
  }
  private retry(): void {
    if (this.closed) return
    this.setStatus('reconnecting')
    // 0.5 s, 1 s, 2 s ... capped at 5 s: back quickly after a restart without hammering a dead node.
    const delay = Math.min(5000, 500 * 2 ** Math.min(this.attempts++, 4))
    setTimeout(() => {
      if (!this.closed) this.connect().catch((e) => this.onError(e as StreamError))
    }, delay)
  }

  subscribe(s: Subscription, on: (m: StreamMessage) => void): string {
    const id = `s${++this.seq}`
    this.subs.set(id, { s, on })
    if (this.ws?.readyState === 1) this.send(id, s)
    return id
  }

  unsubscribe(id: string): void {
    this.subs.delete(id)
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ op: 'unsubscribe', id }))
  }

  close(): void {
    this.closed = true
    this.ws?.close()
    this.setStatus('closed')
  }

  private send(id: string, s: Subscription, last?: bigint): void {
    const m: Record<string, unknown> = { op: 'subscribe', id, ...s }
    const from = last !== undefined ? last + 1n : s.channel === 'blocks' ? s.fromHeight : undefined
    if (from !== undefined) m.fromHeight = from.toString()
    this.ws?.send(JSON.stringify(m))
  }

  private onMessage(text: string): void {
    const m = JSON.parse(text) as StreamMessage & { code?: string; message?: string; id?: string }
    if ((m as { type: string }).type === 'error') {
      this.onError(new StreamError(m.code ?? 'STREAM_ERROR', m.message ?? 'stream error', { id: m.id }))
      return
    }
    if (typeof m.sub !== 'string') return
    const x = this.subs.get(m.sub)
    if (x === undefined) return
    if (m.type === 'block') x.last = BigInt(m.height)
    x.on(m)
  }
}
