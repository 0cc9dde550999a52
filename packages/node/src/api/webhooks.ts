/**
 * Webhooks: clients register a URL and an event filter; each matching block/tx/event becomes a
 * delivery signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature =
 * "v1," + base64 HMAC-SHA256 of "id.timestamp.body" under the endpoint's whsec_ secret).
 *
 * Durability: endpoints and pending deliveries live in the node's LevelDB (ChainStore db) under
 * the prefix 0x00 "wh/" (network namespaces start with their id length, never 0), written before
 * the first attempt, so a restart loses no delivery. Failures retry with exponential backoff and
 * full jitter; a circuit breaker per endpoint (cockatiel) stops hammering a dead receiver; after
 * `attemptsMax` a delivery moves to the dead-letter list. Every queue has a limit.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { ChainEvent } from '@pulsemesh/core'
import { PulseError, toHex } from '@pulsemesh/core'
import type { ClassicLevel } from 'classic-level'
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'

type Bytes = Uint8Array
type DB = ClassicLevel<Bytes, Bytes>

export interface WebhookOptions {
  db: DB
  attemptsMax?: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Consecutive failures that open an endpoint's circuit, and how long it stays open. */
  breakerFailures?: number
  breakerOpenMs?: number
  endpointsPerOwnerMax?: number
  pendingMax?: number
  deadLettersMax?: number
  inFlightMax?: number
  requestTimeoutMs?: number
  onFailure?: (network: string) => void
}

export type WebhookEventKind = 'block' | 'tx' | 'event'
export interface Endpoint {
  id: string
  owner: string
  network: string
  url: string
  events: WebhookEventKind[]
  eventType?: string
  idempotencyKey: string
  /** Fingerprint of the registration request, to tell a replay from a conflicting reuse of the key. */
  requestHash: string
  secret: string
  createdAtMs: number
}
interface Delivery {
  id: string
  endpointId: string
  body: string
  attempts: number
  nextAtMs: number
  lastError?: string
}
export interface DeadLetter extends Delivery {
  deadAtMs: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const PREFIX = new Uint8Array([0, ...enc.encode('wh/')])
const key = (kind: 'e' | 'd' | 'x', id: string) => new Uint8Array([...PREFIX, ...enc.encode(`${kind}/${id}`)])
const range = (kind: 'e' | 'd' | 'x') => {
  const gte = key(kind, '')
  const lt = gte.slice()
  lt[lt.length - 1]++
  return { gte, lt }
}

/** Standard Webhooks signature of a message. */
export function signWebhook(secret: string, id: string, timestampS: number, body: string): string {
  const k = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  return `v1,${createHmac('sha256', k).update(`${id}.${timestampS}.${body}`).digest('base64')}`
}

export class WebhookService {
  private readonly o: Required<Omit<WebhookOptions, 'onFailure'>> & Pick<WebhookOptions, 'onFailure'>
  private readonly endpoints = new Map<string, Endpoint>()
  private readonly pending = new Map<string, Delivery>()
  private readonly breakers = new Map<string, CircuitBreakerPolicy>()
  private inFlight = 0
  /** The one pump timer, armed only when a delivery is due (none while there is nothing to send). */
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private closed = false
  /** Aborts in-flight attempts on close (they stay persisted and are retried after restart). */
  private readonly abort = new AbortController()
  private readonly detach: (() => void)[] = []

  private constructor(o: WebhookOptions) {
    this.o = {
      attemptsMax: 8,
      backoffBaseMs: 500,
      backoffMaxMs: 5 * 60_000,
      breakerFailures: 5,
      breakerOpenMs: 30_000,
      endpointsPerOwnerMax: 20,
      pendingMax: 100_000,
      deadLettersMax: 10_000,
      inFlightMax: 16,
      requestTimeoutMs: 5_000,
      ...o,
    }
  }

  /** Loads endpoints and unfinished deliveries, subscribes to the networks, starts delivering. */
  static async open(o: WebhookOptions, networks: Map<string, NetworkNode>): Promise<WebhookService> {
    const s = new WebhookService(o)
    for await (const [, v] of o.db.iterator(range('e'))) {
      const e = JSON.parse(dec.decode(v)) as Endpoint
      s.endpoints.set(e.id, e)
    }
    for await (const [, v] of o.db.iterator(range('d'))) {
      const d = JSON.parse(dec.decode(v)) as Delivery
      s.pending.set(d.id, d)
    }
    for (const n of networks.values()) {
      const on = (b: CommittedBlock, endEvents: ChainEvent[] = []) => void s.onBlock(n.id, b, endEvents)
      n.on('block', on)
      s.detach.push(() => n.off('block', on))
    }
    if (s.pending.size > 0) s.schedulePump(0)
    return s
  }

  async register(
    owner: string,
    network: string,
    idempotencyKey: string,
    req: { url: string; events: WebhookEventKind[]; eventType?: string },
  ): Promise<{ endpoint: Endpoint; replayed: boolean }> {
    const requestHash = toHex(
      enc.encode(JSON.stringify([network, req.url, [...req.events].sort(), req.eventType ?? null])),
    )
    for (const e of this.endpoints.values()) {
      if (e.owner !== owner || e.idempotencyKey !== idempotencyKey) continue
      if (e.requestHash !== requestHash)
        throw new PulseError(
          'IDEMPOTENCY_CONFLICT',
          'Idempotency-Key already used for a different registration',
        )
      return { endpoint: e, replayed: true }
    }
    let u: URL
    try {
      u = new URL(req.url)
    } catch {
      throw new PulseError('BAD_REQUEST', 'url must be an absolute http(s) URL')
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new PulseError('BAD_REQUEST', 'url must be http(s)')
    const mine = [...this.endpoints.values()].filter((e) => e.owner === owner).length
    if (mine >= this.o.endpointsPerOwnerMax)
      throw new PulseError('WEBHOOK_LIMIT', `at most ${this.o.endpointsPerOwnerMax} endpoints per owner`)
    const endpoint: Endpoint = {
      id: `ep_${randomBytes(12).toString('hex')}`,
      owner,
      network,
      url: u.toString(),
      events: req.events,
      eventType: req.eventType,
      idempotencyKey,
      requestHash,
      secret: `whsec_${randomBytes(24).toString('base64')}`,
      createdAtMs: Date.now(),
    }
    await this.o.db.put(key('e', endpoint.id), enc.encode(JSON.stringify(endpoint)), { sync: true })
    this.endpoints.set(endpoint.id, endpoint)
    return { endpoint, replayed: false }
  }

  list(owner: string, network: string): Endpoint[] {
    return [...this.endpoints.values()].filter((e) => e.owner === owner && e.network === network)
  }

  async remove(owner: string, id: string): Promise<void> {
    const e = this.endpoints.get(id)
    if (e === undefined || e.owner !== owner) throw new PulseError('NOT_FOUND', 'webhook not found')
    this.endpoints.delete(id)
    await this.o.db.del(key('e', id))
  }

  async deadLetters(owner: string, limit = 100): Promise<DeadLetter[]> {
    const out: DeadLetter[] = []
    for await (const [, v] of this.o.db.iterator(range('x'))) {
      const d = JSON.parse(dec.decode(v)) as DeadLetter
      if (this.endpoints.get(d.endpointId)?.owner === owner) out.push(d)
      if (out.length >= limit) break
    }
    return out
  }

  get pendingCount(): number {
    return this.pending.size
  }

  private async onBlock(network: string, b: CommittedBlock, endEvents: ChainEvent[]): Promise<void> {
    const eps = [...this.endpoints.values()].filter((e) => e.network === network)
    if (eps.length === 0) return
    const ops: { type: 'put'; key: Bytes; value: Bytes }[] = []
    const add = (e: Endpoint, type: string, data: unknown) => {
      if (this.pending.size >= this.o.pendingMax) return // bounded: newest are refused (counted as failures)
      const d: Delivery = {
        id: `msg_${randomBytes(12).toString('hex')}`,
        endpointId: e.id,
        body: JSON.stringify({ type, timestamp: new Date().toISOString(), data }),
        attempts: 0,
        nextAtMs: 0,
      }
      this.pending.set(d.id, d)
      ops.push({ type: 'put', key: key('d', d.id), value: enc.encode(JSON.stringify(d)) })
    }
    for (const e of eps) {
      if (e.events.includes('block'))
        add(e, 'block.committed', {
          network,
          height: b.height.toString(),
          hash: toHex(b.hash),
          txs: b.txHashes,
        })
      if (e.events.includes('tx'))
        for (const [i, h] of b.txHashes.entries())
          add(e, 'tx.committed', {
            network,
            height: b.height.toString(),
            hash: h,
            ok: b.results[i]?.error === '',
          })
      if (e.events.includes('event')) {
        const all = b.results.flatMap((r, i) => r.events.map((ev) => ({ tx: b.txHashes[i], event: ev })))
        for (const ev of endEvents) all.push({ tx: '', event: ev })
        for (const x of all)
          if (e.eventType === undefined || e.eventType === x.event.type)
            add(e, 'chain.event', { network, height: b.height.toString(), tx: x.tx || null, event: x.event })
      }
    }
    if (ops.length > 0) {
      await this.o.db.batch(ops, { sync: true })
      this.schedulePump(0)
    }
  }

  /** Runs the pump in `ms` unless it is already due sooner (an idle service has no timer at all). */
  private schedulePump(ms: number): void {
    if (this.closed) return
    const at = Date.now() + ms
    if (this.timer !== undefined && this.timerAt <= at) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Number.POSITIVE_INFINITY
      this.pump()
    }, ms)
    this.timer.unref()
  }

  private breaker(endpointId: string): CircuitBreakerPolicy {
    let b = this.breakers.get(endpointId)
    if (b === undefined) {
      b = circuitBreaker(handleAll, {
        halfOpenAfter: this.o.breakerOpenMs,
        breaker: new ConsecutiveBreaker(this.o.breakerFailures),
      })
      this.breakers.set(endpointId, b)
    }
    return b
  }

  private pump(): void {
    if (this.closed) return
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const d of this.pending.values()) {
      if (d.nextAtMs < 0) continue // in flight
      if (d.nextAtMs > now) {
        next = Math.min(next, d.nextAtMs)
        continue
      }
      // At the in-flight limit: the next finished attempt pumps again.
      if (this.inFlight >= this.o.inFlightMax) break
      d.nextAtMs = -1
      this.inFlight++
      void this.attempt(d).finally(() => {
        this.inFlight--
        // A slot is free (and a failed attempt set its retry time): look again.
        if (this.pending.size > 0) this.schedulePump(0)
      })
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedulePump(Math.max(0, next - now))
  }

  private async attempt(d: Delivery): Promise<void> {
    const e = this.endpoints.get(d.endpointId)
    if (e === undefined) {
      this.pending.delete(d.id)
      await this.o.db.del(key('d', d.id))
      return
    }
    const ts = Math.floor(Date.now() / 1000)
    try {
      await this.breaker(e.id).execute(async () => {
        const res = await fetch(e.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': d.id,
            'webhook-timestamp': String(ts),
            'webhook-signature': signWebhook(e.secret, d.id, ts, d.body),
          },
          body: d.body,
          redirect: 'manual',
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.requestTimeoutMs)]),
        })
        await res.arrayBuffer().catch(() => undefined)
        if (res.status < 200 || res.status >= 300) throw new Error(`receiver answered ${res.status}`)
      })
      this.pending.delete(d.id)
      if (!this.closed) await this.o.db.del(key('d', d.id))
    } catch (err) {
      const open = err instanceof BrokenCircuitError
      if (!open) this.o.onFailure?.(e.network)
      d.attempts += open ? 0 : 1
      d.lastError = (err as Error).message.slice(0, 200)
      if (this.closed) return
      if (d.attempts >= this.o.attemptsMax) {
        this.pending.delete(d.id)
        const dead: DeadLetter = { ...d, deadAtMs: Date.now() }
        await this.o.db.batch(
          [
            { type: 'del', key: key('d', d.id) },
            { type: 'put', key: key('x', d.id), value: enc.encode(JSON.stringify(dead)) },
          ],
          { sync: true },
        )
        return
      }
      // Exponential backoff with full jitter; while the circuit is open, wait for it to half-open.
      const cap = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** d.attempts)
      const delay = open ? this.o.breakerOpenMs : Math.floor(Math.random() * cap) + 1
      d.nextAtMs = Date.now() + delay
      await this.o.db.put(key('d', d.id), enc.encode(JSON.stringify(d)), { sync: true })
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    for (const d of this.detach) d()
    this.abort.abort()
    for (let i = 0; i < 200 && this.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10))
  }
}
