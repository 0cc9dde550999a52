/**
 * Peer exchange (`/pulsemesh/px/1`): a node asks a connected peer for the peers it knows and dials
 * them, so a node bootstrapped to one peer finds the rest of the network.
 *
 * Why signed records and not a DHT: every record is the peer's own libp2p signed peer record
 * (RecordEnvelope, domain `libp2p-peer-record`, as identify exchanges them), so whoever answers
 * can only vouch for peers that signed their own addresses: it cannot invent addresses for an
 * honest peer id or steer us to a victim's IP under someone else's id. A Kademlia DHT would add a
 * routing table, periodic random walks and a second record store for validator sets of a few dozen
 * nodes that mostly list each other; PX answers the only question we have (who else is out there)
 * in one request.
 *
 * Wire (length-prefixed frames): request = [1]; response = [n u8] then n frames, each a sealed
 * envelope (≤ RECORD_BYTES_MAX). Limits: at most `maxRecords` records per answer (more = the peer
 * is penalised and the answer dropped), ≤ 8 addresses kept per record, only ip4/ip6 TCP (or TCP
 * WebSockets) addresses in the allowed ranges (loopback by default, plus `allowCidrs`), a token
 * bucket per asking peer on the server (over it = a penalty point and no answer), an invalid
 * signature or a record whose key is not its peer id = a reject penalty.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { equalBytes, PulseError } from '@pulsemesh/core'
import { PENALTY, type P2PNode } from './p2p-node.ts'
import { PeerTopicBuckets } from './rate-limit.ts'

export const PX_PROTOCOL = '/pulsemesh/px/1'
export const RECORD_BYTES_MAX = 4096
const ADDRS_PER_RECORD_MAX = 8
const REQUEST_TIMEOUT_MS = 5000
/** Per asking peer: 3 answers at once, then one every 5 s. */
const SERVE_RATE = { capacity: 3, refillPerSecond: 0.2 }

export interface PeerExchangeConfig {
  /** Default true. */
  enabled?: boolean
  /** Records per answer (default 16). */
  maxRecords?: number
  /** How often a random connected peer is asked (default 30 s; a newly identified peer at once). */
  intervalMs?: number
  /** Stop dialling learned peers once this many are connected (default 32). */
  targetPeers?: number
  /** IPv4 ranges accepted besides loopback, e.g. ["10.0.0.0/8"]; IPv6: only ::1. */
  allowCidrs?: string[]
}

export interface PeerExchangeStats {
  asked: number
  served: number
  refused: number
  recordsReceived: number
  recordsAccepted: number
  recordsRejected: number
  addrsFiltered: number
  learned: number
}

interface Cidr {
  base: number
  mask: number
}

function ipv4ToInt(ip: string): number | undefined {
  const p = ip.split('.')
  if (p.length !== 4) return undefined
  let n = 0
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined
    n = n * 256 + Number(x)
  }
  return n >>> 0
}

export function parseCidr(s: string): Cidr {
  const [ip, bits] = s.split('/')
  const base = ipv4ToInt(ip ?? '')
  const b = bits === undefined ? 32 : Number(bits)
  if (base === undefined || !Number.isInteger(b) || b < 0 || b > 32)
    throw new PulseError('CONFIG_INVALID', `p2p.px.allowCidrs: bad IPv4 range ${s}`)
  const mask = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0
  return { base: (base & mask) >>> 0, mask }
}

/**
 * Keeps the dialable addresses of a record: /ip4|ip6/<addr>/tcp/<port>[/ws|/wss][/p2p/<id>] with an
 * IP that is loopback or inside an allowed range. Anything else (DNS, relays, other transports,
 * addresses outside the ranges) is dropped.
 */
export function acceptableAddr(ma: Multiaddr, cidrs: Cidr[]): boolean {
  const c = ma.getComponents()
  if (c.length < 2 || c[1].name !== 'tcp') return false
  const rest = c.slice(2).map((x) => x.name)
  const shapeOk =
    rest.length === 0 ||
    (rest.length === 1 && (rest[0] === 'ws' || rest[0] === 'wss' || rest[0] === 'p2p')) ||
    (rest.length === 2 && (rest[0] === 'ws' || rest[0] === 'wss') && rest[1] === 'p2p')
  if (!shapeOk) return false
  const port = Number(c[1].value)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false
  if (c[0].name === 'ip6') return c[0].value === '::1'
  if (c[0].name !== 'ip4') return false
  const ip = ipv4ToInt(c[0].value ?? '')
  if (ip === undefined) return false
  if (ip >>> 24 === 127) return true
  return cidrs.some((r) => (ip & r.mask) >>> 0 === r.base)
}

export class PeerExchange {
  readonly stats: PeerExchangeStats = {
    asked: 0,
    served: 0,
    refused: 0,
    recordsReceived: 0,
    recordsAccepted: 0,
    recordsRejected: 0,
    addrsFiltered: 0,
    learned: 0,
  }
  private readonly p2p: P2PNode
  private readonly maxRecords: number
  private readonly intervalMs: number
  private readonly targetPeers: number
  private readonly cidrs: Cidr[]
  private readonly buckets = new PeerTopicBuckets()
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private readonly onIdentify: (e: CustomEvent<{ peerId: { toString(): string } }>) => void

  constructor(p2p: P2PNode, cfg: PeerExchangeConfig = {}) {
    this.p2p = p2p
    this.maxRecords = Math.max(1, Math.min(cfg.maxRecords ?? 16, 64))
    this.intervalMs = cfg.intervalMs ?? 30_000
    this.targetPeers = cfg.targetPeers ?? 32
    this.cidrs = (cfg.allowCidrs ?? []).map(parseCidr)
    this.onIdentify = (e) => {
      const id = e.detail.peerId.toString()
      // A peer we just met is the best source of peers we do not know yet.
      if (this.wantsPeers()) void this.ask(id).catch(() => {})
    }
  }

  async start(): Promise<void> {
    await this.p2p.libp2p.handle(PX_PROTOCOL, (s, c) => this.serve(s, c), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    })
    this.p2p.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => {
      const peers = this.p2p.connectedPeers()
      if (peers.length === 0 || !this.wantsPeers()) return
      void this.ask(peers[Math.floor(Math.random() * peers.length)]).catch(() => {})
    }, this.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.p2p.libp2p.removeEventListener('peer:identify', this.onIdentify)
    await this.p2p.libp2p.unhandle(PX_PROTOCOL).catch(() => {})
  }

  private wantsPeers(): boolean {
    return !this.stopped && this.p2p.connectedPeers().length < this.targetPeers
  }

  /** Signed records of connected peers other than `requester` (shuffled, at most maxRecords). */
  private async records(requester: string): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    const peers = this.p2p.libp2p.getPeers().filter((p) => {
      const id = p.toString()
      return id !== requester && !this.p2p.gater.denies(id)
    })
    for (let i = peers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[peers[i], peers[j]] = [peers[j], peers[i]]
    }
    for (const p of peers) {
      if (out.length >= this.maxRecords) break
      const env = await this.p2p.libp2p.peerStore
        .get(p)
        .then((x) => x.peerRecordEnvelope)
        .catch(() => undefined)
      if (env && env.length <= RECORD_BYTES_MAX) out.push(env)
    }
    return out
  }

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    try {
      if (!this.buckets.take(peer, 'px', SERVE_RATE)) {
        this.stats.refused++
        this.p2p.penalize(peer, PENALTY.rateLimited, 'px rate')
        stream.abort(new Error('rate limited'))
        return
      }
      const lp = lpStream(stream, { maxDataLength: 8 })
      const req = (await lp.read({ signal })).subarray()
      if (req.length !== 1 || req[0] !== 1) {
        this.p2p.penalize(peer, PENALTY.reject, 'bad px request')
        stream.abort(new Error('bad request'))
        return
      }
      const recs = await this.records(peer)
      await lp.writeV([new Uint8Array([recs.length]), ...recs], { signal })
      this.stats.served++
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
    }
  }

  /**
   * Asks `peer` for its peers, verifies every record, keeps acceptable addresses and hands new peers
   * to the node's redial loop. Resolves with the peer ids learned. A malformed or oversized answer
   * or a bad record penalises `peer` (throws PulseError PX_INVALID for malformed answers).
   */
  async ask(peer: string): Promise<string[]> {
    this.stats.asked++
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const stream = await this.p2p.libp2p.dialProtocol(peerIdFromString(peer), PX_PROTOCOL, { signal })
    const envs: Uint8Array[] = []
    try {
      const lp = lpStream(stream, { maxDataLength: RECORD_BYTES_MAX })
      await lp.write(new Uint8Array([1]), { signal })
      const head = (await lp.read({ signal })).subarray()
      if (head.length !== 1 || head[0] > this.maxRecords) {
        this.p2p.penalize(peer, PENALTY.reject, 'px: oversized answer')
        throw new PulseError('PX_INVALID', `px answer from ${peer}: bad record count`)
      }
      for (let i = 0; i < head[0]; i++) envs.push((await lp.read({ signal })).subarray())
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
      throw e
    }
    const learned: string[] = []
    for (const bytes of envs) {
      this.stats.recordsReceived++
      const rec = await this.openRecord(bytes)
      if (!rec) {
        this.stats.recordsRejected++
        this.p2p.penalize(peer, PENALTY.reject, 'px: invalid peer record')
        continue
      }
      const id = rec.peerId.toString()
      if (id === this.p2p.peerId || this.p2p.gater.denies(id)) continue
      const addrs = rec.multiaddrs.filter((a) => acceptableAddr(a, this.cidrs)).slice(0, ADDRS_PER_RECORD_MAX)
      this.stats.addrsFiltered += rec.multiaddrs.length - addrs.length
      if (addrs.length === 0) continue
      this.stats.recordsAccepted++
      if (
        this.p2p.learnPeer(
          id,
          addrs.map((a) => multiaddr(a.toString())),
          this.targetPeers,
        )
      ) {
        this.stats.learned++
        learned.push(id)
      }
    }
    return learned
  }

  /** The record if its envelope signature verifies and its key is the record's peer id. */
  private async openRecord(bytes: Uint8Array): Promise<PeerRecord | undefined> {
    try {
      const env = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
      if (!equalBytes(env.payloadType, PeerRecord.CODEC)) return undefined
      const rec = PeerRecord.createFromProtobuf(env.payload)
      if (!peerIdFromPublicKey(env.publicKey).equals(rec.peerId)) return undefined
      return rec
    } catch {
      return undefined
    }
  }
}
