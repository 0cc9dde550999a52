/**
 * WebSocket streams of a node (/v1/ws) with typed subscriptions. On reconnect, block
 * subscriptions resume from the height after the last one received, so nothing is missed.
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
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      ws.onerror = () => reject(new StreamError('NODE_UNREACHABLE', `cannot open ${this.url}`))
    })
    ws.onmessage = (ev) => this.onMessage(String(ev.data))
    ws.onclose = () => {
      if (!this.closed) setTimeout(() => this.connect().catch((e) => this.onError(e as StreamError)), 1000)
    }
    for (const [id, x] of this.subs) this.send(id, x.s, x.last)
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
