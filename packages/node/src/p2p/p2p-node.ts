/**
 * One libp2p host per node process: TCP + WebSockets, Noise, Yamux, identify, ping and gossipsub.
 *
 * What this file owns:
 *  - topic admission: every gossip message passes size limit -> per-peer/per-topic token bucket ->
 *    bounded zstd decompression -> the topic's own validator (real decoders, signatures) BEFORE
 *    gossipsub forwards it; rejects feed gossipsub's score (P4 invalid deliveries) and a local
 *    penalty ledger; a peer over the penalty limit is hung up on and blocked by the gater;
 *  - discovery and liveness: bootstrap addresses from config, addresses learned through identify,
 *    and a redial loop per known peer (exponential backoff with jitter, a cockatiel circuit breaker
 *    per peer so a dead peer costs one dial per `breakerOpenMs`).
 * Gossip payload = 8-byte random nonce + compressFrame(data); handlers see the decompressed data.
 * Messages are unsigned (StrictNoSign: the payloads carry their own validator/tx signatures, and
 * peer-key signatures would cost a verify per message per hop) and the message id is the SHA-256
 * of the payload: relays of one publish dedupe, while the driver's re-gossip of the same vote after
 * a timeout (new nonce) is a new message that reaches peers that missed the first one.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '@pulsemesh/core'
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
} from 'cockatiel'
import { createLibp2p } from 'libp2p'
import { compressFrame, decompressFrame } from './compression.ts'
import { PeerGater } from './gater.ts'
import { PeerExchange, type PeerExchangeConfig } from './peer-exchange.ts'
import type { SnapshotConfig } from './snapshot.ts'
import { type BucketParams, PeerTopicBuckets } from './rate-limit.ts'

export interface P2PConfig {
  /** Multiaddrs to listen on; default TCP and WebSockets on 127.0.0.1, random ports. */
  listen?: string[]
  /** Multiaddrs of peers to dial, each ending in /p2p/<peer id>. */
  bootstrap?: string[]
  /** How long a misbehaving peer stays blocked (default 60 s). */
  blockMs?: number
  /** Penalty points after which a peer is disconnected and blocked (default 20; decays 1/s). */
  penaltyMax?: number
  /** Redial backoff (default 200 ms doubling to 10 s, decorrelated jitter). */
  redialInitialMs?: number
  redialMaxMs?: number
  /** Consecutive failed dials that open a peer's circuit breaker, and for how long (default 5, 15 s). */
  breakerFailures?: number
  breakerOpenMs?: number
  /**
   * libp2p's connection monitor pings each connection this often (default 30 s; libp2p's own
   * default is 10 s): how soon a peer that hangs without closing its socket is dropped and
   * redialled. A crashed or stopped peer is noticed at once (its TCP connection closes).
   */
  pingIntervalMs?: number
  /** The idle fallback poll of block sync (one peer's heads of all networks, default 10 s). */
  syncIdlePollMs?: number
  /** Peer exchange (`/pulsemesh/px/1`, see peer-exchange.ts); on by default. */
  px?: PeerExchangeConfig
  /** State snapshots: serving, and joining by one when the chain is empty (see snapshot.ts). */
  snapshot?: SnapshotConfig
}

export type Verdict = 'accept' | 'ignore' | 'reject'

export interface TopicSpec {
  /** Largest decompressed payload accepted. */
  maxBytes: number
  rate: BucketParams
  /** Decides on the decompressed payload; must not throw (a throw counts as reject). */
  validate(data: Uint8Array, from: string): Verdict | Promise<Verdict>
  /** Called for accepted messages from peers (never for our own publishes). */
  deliver(data: Uint8Array, from: string): void
}

export interface P2PStats {
  published: number
  publishedBytes: number
  received: number
  receivedBytes: number
  /** What the received payloads would have weighed uncompressed (same messages). */
  receivedRawBytes: number
  accepted: number
  ignored: number
  rejected: number
  rateLimited: number
  oversized: number
  blockedPeers: number
  redials: number
  /** Penalty points handed out, and how many times. */
  penaltyPoints: number
  penalties: number
}

/** Gossip figures of one topic (what /metrics shows per network and topic). */
export interface TopicStats {
  messagesIn: number
  bytesIn: number
  messagesOut: number
  bytesOut: number
  accepted: number
  ignored: number
  rejected: number
  rateLimited: number
  oversized: number
}

export const emptyTopicStats = (): TopicStats => ({
  messagesIn: 0,
  bytesIn: 0,
  messagesOut: 0,
  bytesOut: 0,
  accepted: 0,
  ignored: 0,
  rejected: 0,
  rateLimited: 0,
  oversized: 0,
})

/** Penalty points per offence (the ledger decays 1 point per second). */
export const PENALTY = { reject: 10, oversized: 10, rateLimited: 1 } as const

const NONCE_BYTES = 8
const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']
const MAX_KNOWN_PEERS = 256
const PING_INTERVAL_MS = 30_000
const MAX_LEDGER = 10_000

function gossipTopicScore(): TopicScoreParams {
  // Only P4 (invalid deliveries) is weighted: first/mesh deliveries stay neutral so a quiet
  // validator (an idle network) is never penalised for silence.
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 10,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.9,
  })
}

export class P2PNode extends EventEmitter {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  readonly gater: PeerGater
  readonly stats: P2PStats = {
    published: 0,
    publishedBytes: 0,
    received: 0,
    receivedBytes: 0,
    receivedRawBytes: 0,
    accepted: 0,
    ignored: 0,
    rejected: 0,
    rateLimited: 0,
    oversized: 0,
    blockedPeers: 0,
    redials: 0,
    penaltyPoints: 0,
    penalties: 0,
  }
  /** Per-topic gossip figures (topics are the fixed set given at start, so this stays bounded). */
  readonly topicStats = new Map<string, TopicStats>()
  private readonly cfg: Required<
    Omit<P2PConfig, 'listen' | 'bootstrap' | 'px' | 'snapshot' | 'pingIntervalMs' | 'syncIdlePollMs'>
  >
  /** Peer exchange, unless disabled in config. */
  px: PeerExchange | undefined
  private readonly topics = new Map<string, TopicSpec>()
  private readonly buckets = new PeerTopicBuckets()
  private readonly ledger = new Map<string, { points: number; at: number }>()
  /** Peers we keep connections to: bootstrap peers and peers learned through identify. */
  private readonly known = new Map<string, Multiaddr[]>()
  private readonly breakers = new Map<string, CircuitBreakerPolicy>()
  private readonly redialing = new Set<string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false

  private constructor(libp2p: Libp2p<{ pubsub: GossipSub }>, gater: PeerGater, cfg: P2PConfig) {
    super()
    this.libp2p = libp2p
    this.gater = gater
    this.cfg = {
      blockMs: cfg.blockMs ?? 60_000,
      penaltyMax: cfg.penaltyMax ?? 20,
      redialInitialMs: cfg.redialInitialMs ?? 200,
      redialMaxMs: cfg.redialMaxMs ?? 10_000,
      breakerFailures: cfg.breakerFailures ?? 5,
      breakerOpenMs: cfg.breakerOpenMs ?? 15_000,
    }
  }

  /** Creates and starts the host; `topics` are all topic names this node will use (for scoring). */
  static async start(o: { privateKey: PrivateKey; config: P2PConfig; topics: string[] }): Promise<P2PNode> {
    const gater = new PeerGater()
    const topicsScore: Record<string, TopicScoreParams> = {}
    for (const t of o.topics) topicsScore[t] = gossipTopicScore()
    const libp2p = await createLibp2p({
      privateKey: o.privateKey,
      addresses: { listen: o.config.listen ?? DEFAULT_LISTEN },
      transports: [tcp(), webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: gater,
      // Each ping is a new stream (multistream-select, a peer-store merge on both sides).
      connectionMonitor: { pingInterval: o.config.pingIntervalMs ?? PING_INTERVAL_MS },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (m) => sha256(m.data),
          fastMsgIdFn: (m) => Buffer.from(sha256(m.data ?? new Uint8Array())).toString('base64'),
          allowedTopics: o.topics,
          // The transport-level cap: no single message decoded above this (blocks are compressed).
          maxInboundDataLength: 9 * 1024 * 1024,
          scoreParams: {
            topics: topicsScore,
            topicScoreCap: 100,
            IPColocationFactorWeight: 0, // all devnet validators share 127.0.0.1
            behaviourPenaltyWeight: -1,
            behaviourPenaltyDecay: 0.9,
          },
          scoreThresholds: {
            gossipThreshold: -50,
            publishThreshold: -100,
            graylistThreshold: -200,
            acceptPXThreshold: 10,
            opportunisticGraftThreshold: 5,
          },
        }),
      },
    })
    const node = new P2PNode(libp2p, gater, o.config)
    for (const t of o.topics) node.topicStats.set(t, emptyTopicStats())
    node.wire()
    for (const a of o.config.bootstrap ?? []) node.addKnown(multiaddr(a))
    for (const t of o.topics) libp2p.services.pubsub.subscribe(t)
    if (o.config.px?.enabled !== false) {
      node.px = new PeerExchange(node, o.config.px)
      await node.px.start()
    }
    for (const id of node.known.keys()) node.redial(id)
    node.every(1000, () => node.scoreSweep())
    return node
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  /** Listening multiaddrs including /p2p/<id> (what other nodes put in `bootstrap`). */
  addrs(): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  connectedPeers(): string[] {
    return this.libp2p.getPeers().map((p) => p.toString())
  }

  /** Installs the validator and handler of `topic` (one spec per topic). */
  registerTopic(topic: string, spec: TopicSpec): void {
    this.topics.set(topic, spec)
    this.libp2p.services.pubsub.topicValidators.set(topic, (peer, msg) => this.admit(topic, spec, peer, msg))
  }

  /** Publishes `data` (compressed when that helps) to every peer of the topic's mesh. */
  publish(topic: string, data: Uint8Array): void {
    if (this.stopped) return
    const frame = compressFrame(data)
    const payload = new Uint8Array(NONCE_BYTES + frame.length)
    payload.set(randomBytes(NONCE_BYTES), 0)
    payload.set(frame, NONCE_BYTES)
    this.stats.published++
    this.stats.publishedBytes += payload.length
    const ts = this.topicStats.get(topic)
    if (ts) {
      ts.messagesOut++
      ts.bytesOut += payload.length
    }
    this.libp2p.services.pubsub.publish(topic, payload).catch((e) => this.emit('warn', e))
  }

  private async admit(
    topic: string,
    spec: TopicSpec,
    peer: PeerId,
    msg: Message,
  ): Promise<TopicValidatorResult> {
    const from = peer.toString()
    this.stats.received++
    this.stats.receivedBytes += msg.data.length
    const ts = this.topicStats.get(topic) ?? emptyTopicStats()
    ts.messagesIn++
    ts.bytesIn += msg.data.length
    // Nonce + frame header are at most 13 bytes over the data; anything larger is oversized.
    if (msg.data.length > spec.maxBytes + NONCE_BYTES + 5 || msg.data.length <= NONCE_BYTES) {
      this.stats.oversized++
      ts.oversized++
      this.penalize(from, PENALTY.oversized, `oversized ${topic}`)
      return TopicValidatorResult.Reject
    }
    if (!this.buckets.take(from, topic, spec.rate)) {
      this.stats.rateLimited++
      ts.rateLimited++
      this.penalize(from, PENALTY.rateLimited, `rate ${topic}`)
      return TopicValidatorResult.Ignore
    }
    let data: Uint8Array
    try {
      data = decompressFrame(msg.data.subarray(NONCE_BYTES), spec.maxBytes)
      this.stats.receivedRawBytes += NONCE_BYTES + 1 + data.length
    } catch {
      this.stats.rejected++
      ts.rejected++
      this.penalize(from, PENALTY.reject, `bad frame ${topic}`)
      return TopicValidatorResult.Reject
    }
    let verdict: Verdict
    try {
      verdict = await spec.validate(data, from)
    } catch {
      verdict = 'reject'
    }
    if (verdict === 'reject') {
      this.stats.rejected++
      ts.rejected++
      this.penalize(from, PENALTY.reject, `invalid ${topic}`)
      return TopicValidatorResult.Reject
    }
    if (verdict === 'ignore') {
      this.stats.ignored++
      ts.ignored++
      return TopicValidatorResult.Ignore
    }
    this.stats.accepted++
    ts.accepted++
    // Delivered from here (after acceptance) so the payload is decompressed only once.
    setImmediate(() => {
      if (!this.stopped) spec.deliver(data, from)
    })
    return TopicValidatorResult.Accept
  }

  /** Adds penalty points; over `penaltyMax` the peer is disconnected and blocked for `blockMs`. */
  penalize(peer: string, points: number, reason: string): void {
    const now = Date.now()
    let e = this.ledger.get(peer)
    if (!e) {
      if (this.ledger.size >= MAX_LEDGER) this.ledger.delete(this.ledger.keys().next().value!)
      e = { points: 0, at: now }
      this.ledger.set(peer, e)
    }
    e.points = Math.max(0, e.points - (now - e.at) / 1000) + points
    this.stats.penalties++
    this.stats.penaltyPoints += points
    e.at = now
    if (e.points > this.cfg.penaltyMax) this.blockPeer(peer, reason)
  }

  penaltyOf(peer: string): number {
    const e = this.ledger.get(peer)
    return e ? Math.max(0, e.points - (Date.now() - e.at) / 1000) : 0
  }

  /** Gossipsub's own score (P4 invalid deliveries etc.) below the graylist also gets a peer blocked. */
  private scoreSweep(): void {
    const ps = this.libp2p.services.pubsub
    // getScore is on the implementation, not on the exported GossipSub interface.
    const scored = ps as unknown as { getScore(id: string): number }
    for (const p of ps.getPeers()) {
      const id = p.toString()
      if (scored.getScore(id) < -200) this.blockPeer(id, 'gossipsub score below graylist')
    }
  }

  blockPeer(peer: string, reason: string): void {
    if (this.gater.denies(peer)) return
    this.gater.block(peer, this.cfg.blockMs)
    // Forgotten as a redial target: it may come back (inbound, or via bootstrap/identify) later.
    this.known.delete(peer)
    this.ledger.delete(peer)
    this.buckets.forget(peer)
    this.stats.blockedPeers++
    this.emit('peerBlocked', { peer, reason })
    this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
  }

  /** Cuts this node off from every peer not in `allow` (null heals); existing connections close. */
  async partition(allow: string[] | null): Promise<void> {
    this.gater.partition(allow)
    if (allow === null) {
      for (const id of this.known.keys()) this.redial(id)
      return
    }
    for (const p of this.libp2p.getPeers()) {
      if (this.gater.denies(p.toString())) await this.libp2p.hangUp(p).catch(() => {})
    }
  }

  private wire(): void {
    this.libp2p.addEventListener('peer:identify', (e) => {
      const r = e.detail
      // Address learning: remember where identified peers listen, so we can redial them.
      if (r.listenAddrs.length > 0) this.setKnown(r.peerId.toString(), r.listenAddrs)
    })
    this.libp2p.addEventListener('peer:disconnect', (e) => {
      const id = e.detail.toString()
      this.emit('peerDisconnected', id)
      if (this.known.has(id)) this.redial(id)
    })
    this.libp2p.addEventListener('peer:connect', (e) => this.emit('peerConnected', e.detail.toString()))
  }

  /**
   * A peer learned from peer exchange (addresses already verified and filtered): remembered as a
   * redial target and dialled while fewer than `target` peers are connected. True if it was new.
   */
  learnPeer(id: string, addrs: Multiaddr[], target: number): boolean {
    if (id === this.peerId || this.known.has(id) || this.gater.denies(id)) return false
    if (this.known.size >= MAX_KNOWN_PEERS) return false
    this.setKnown(id, addrs)
    if (this.libp2p.getPeers().length < target) this.redial(id)
    return true
  }

  knownPeers(): string[] {
    return [...this.known.keys()]
  }

  private addKnown(ma: Multiaddr): void {
    const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (!id || id === this.peerId) return
    this.setKnown(id, [...(this.known.get(id) ?? []), ma])
  }

  private setKnown(id: string, addrs: Multiaddr[]): void {
    if (id === this.peerId) return
    if (!this.known.has(id) && this.known.size >= MAX_KNOWN_PEERS) return
    const withPeer = addrs.map((a) =>
      a.getComponents().some((c) => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${id}`),
    )
    this.known.set(id, withPeer.slice(0, 8))
  }

  private breaker(id: string): CircuitBreakerPolicy {
    let b = this.breakers.get(id)
    if (!b) {
      b = circuitBreaker(handleAll, {
        halfOpenAfter: this.cfg.breakerOpenMs,
        breaker: new ConsecutiveBreaker(this.cfg.breakerFailures),
      })
      this.breakers.set(id, b)
    }
    return b
  }

  /**
   * Keeps dialing a known peer until connected: exponential backoff with decorrelated jitter
   * (cockatiel's ExponentialBackoff), each attempt through the peer's circuit breaker.
   */
  private redial(id: string): void {
    if (this.stopped || this.redialing.has(id)) return
    this.redialing.add(id)
    const backoff = new ExponentialBackoff({
      initialDelay: this.cfg.redialInitialMs,
      maxDelay: this.cfg.redialMaxMs,
    }).next()
    let state = backoff
    const attempt = async (): Promise<void> => {
      if (this.stopped) return
      const connected = this.libp2p.getConnections(peerIdFromString(id)).length > 0
      if (connected || !this.known.has(id)) {
        this.redialing.delete(id)
        return
      }
      if (!this.gater.denies(id)) {
        this.stats.redials++
        try {
          await this.breaker(id).execute(() =>
            this.libp2p.dial(this.known.get(id) ?? [], { signal: AbortSignal.timeout(5000) }),
          )
          this.redialing.delete(id)
          return
        } catch (e) {
          if (!(e instanceof BrokenCircuitError)) this.emit('dialFailed', { peer: id, error: e })
        }
      }
      const delay = state.duration
      state = state.next(undefined)
      this.after(delay, () => void attempt())
    }
    this.after(0, () => void attempt())
  }

  private after(ms: number, fn: () => void): void {
    if (this.stopped) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.add(t as unknown as NodeJS.Timeout)
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.px?.stop()
    for (const t of this.timers) {
      clearTimeout(t)
      clearInterval(t)
    }
    this.timers.clear()
    await this.libp2p.stop()
  }
}
