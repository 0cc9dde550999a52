/**
 * Request/response block sync for one network over a libp2p protocol
 * (`/pulsemesh/<network>/sync/1`), and the catch-up loop that uses it.
 *
 * Wire (length-prefixed frames, @libp2p/utils lpStream):
 *   request  = [1] status | [2][from u64][count u32]
 *   status   = [height u64][head hash 32]
 *   blocks   = [n u32] then n frames, each compressFrame(consensus blockResponse message)
 * Server limits: at most SYNC_BLOCKS_MAX blocks and SYNC_BYTES_MAX bytes per response, a token
 * bucket per peer; a peer over it is penalised. Client limits: frames over FRAME_BYTES_MAX are
 * refused by lpStream, decompression is bounded by the same size.
 *
 * The client does not write anything itself: each block goes to the consensus driver as a
 * blockResponse message, whose catch-up path verifies the commit certificate against the validator
 * set of that height (> 2/3 power) and re-executes the block before committing it. A peer whose
 * blocks are not accepted (no progress) is penalised and another peer is tried.
 *
 * When a round runs: it is event-driven, because every status request is a libp2p stream (yamux
 * open, multistream-select, a peer-store merge on the server) and polling every peer of every
 * network each second was most of an idle node's CPU. A round asks every peer when kicked — at
 * start, when a peer connects (networking.ts: a restart, a healed partition), when gossip or the driver shows a
 * height we cannot follow by consensus — and again after `pollMs` (1 s) while a peer is ahead or a
 * status request failed (backing off). While level, a fallback poll covers the only case no event
 * does, a node one block behind on an idle network (it missed that height's precommits and nobody
 * is sending anything): in a node process that is `HeadsPoll` below — every 10 s one peer (in
 * turn) answers the head heights of all its networks in one stream, and only networks behind it
 * run a round — so N networks cost one timer and one stream, not N; a BlockSync used alone polls
 * one peer every `idlePollMs` itself.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { concatBytes, DecodeError, decodeBlock, toHex, u64be } from '@pulsemesh/core'
import cliProgress from 'cli-progress'
import type { NetworkNode } from '../chain/network-node.ts'
import { decodeMessage, encodeMessage } from '../consensus/messages.ts'
import { compressFrame, decompressFrame } from './compression.ts'
import { PENALTY, type P2PNode } from './p2p-node.ts'
import { PeerTopicBuckets } from './rate-limit.ts'

export const SYNC_BLOCKS_MAX = 64
export const SYNC_BYTES_MAX = 16 * 1024 * 1024
/** One block + certificate, decompressed (the chain's blockBytesMax is 8 MiB). */
export const FRAME_BYTES_MAX = 9 * 1024 * 1024
const REQUEST_TIMEOUT_MS = 10_000
const STALL_MS = 1000
/** Status poll while a peer is ahead (or a request failed, doubling up to the idle poll). */
export const SYNC_POLL_MS = 1000
/** Fallback status poll (one peer) while level and nothing else woke the client. */
export const SYNC_IDLE_POLL_MS = 10_000
const SERVE_RATE = { capacity: 40, refillPerSecond: 20 }

export const syncProtocol = (networkId: string) => `/pulsemesh/${networkId}/sync/1`

export interface PeerStatus {
  peer: string
  height: bigint
  headHash: Uint8Array
}

export interface BlockSyncOptions {
  p2p: P2PNode
  node: NetworkNode
  /** Hands one encoded blockResponse message to the consensus driver. */
  deliver(msg: Uint8Array, from: string): void
  /** Show a cli-progress bar on stderr while more than this many blocks behind (default 3). */
  progressMinBlocks?: number
  progress?: boolean
  log?: (m: string) => void
  /** false = serve only (no consumer for fetched blocks, e.g. a node without a consensus driver). */
  client?: boolean
  /** Status poll while a peer is ahead (default SYNC_POLL_MS). */
  pollMs?: number
  /** Fallback poll of one peer while level (default SYNC_IDLE_POLL_MS); 0 = none (HeadsPoll does it). */
  idlePollMs?: number
}

export interface SyncStats {
  servedBlocks: number
  servedBytes: number
  servedRawBytes: number
  fetchedBlocks: number
  fetchedBytes: number
  fetchedRawBytes: number
  rounds: number
  badPeers: number
  /** Status requests sent (each one a libp2p stream). */
  statusRequests: number
}

export class BlockSync {
  readonly protocol: string
  readonly stats: SyncStats = {
    servedBlocks: 0,
    servedBytes: 0,
    servedRawBytes: 0,
    fetchedBlocks: 0,
    fetchedBytes: 0,
    fetchedRawBytes: 0,
    rounds: 0,
    badPeers: 0,
    statusRequests: 0,
  }
  private readonly o: BlockSyncOptions
  private readonly buckets = new PeerTopicBuckets()
  private running = false
  /** A round was asked for while one ran: run another (asking every peer) afterwards. */
  private again = false
  private stopped = false
  private poll: NodeJS.Timeout | undefined
  private readonly pollMs: number
  private readonly idlePollMs: number
  /** Consecutive rounds with a failed status request (fast re-poll backs off with it). */
  private failStreak = 0
  /** Set by a round: a peer claimed a height above ours (re-poll soon). */
  private peerAhead = false
  private rotate = 0
  /** Best height any peer claimed (through status or gossip), for the progress bar. */
  private remoteHeight = 0n
  private lastHeight = -1n
  private lastMoveAt = 0

  constructor(o: BlockSyncOptions) {
    this.o = o
    this.protocol = syncProtocol(o.node.id)
    this.pollMs = o.pollMs ?? SYNC_POLL_MS
    this.idlePollMs = o.idlePollMs ?? SYNC_IDLE_POLL_MS
  }

  async start(): Promise<void> {
    await this.o.p2p.libp2p.handle(this.protocol, (s, c) => this.serve(s, c), {
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
    })
    if (this.o.client === false) return
    this.scheduleNext()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.poll) clearTimeout(this.poll)
    await this.o.p2p.libp2p.unhandle(this.protocol).catch(() => {})
  }

  /**
   * (Re)arms the one poll timer of this network: soon (every peer) while a peer is ahead or
   * status requests fail (doubling), else the idle fallback (one peer) if this client has one.
   */
  private scheduleNext(): void {
    if (this.stopped) return
    if (this.poll) clearTimeout(this.poll)
    this.poll = undefined
    const soon = this.peerAhead || this.failStreak > 0
    if (!soon && this.idlePollMs <= 0) return
    const capMs = Math.max(this.pollMs, this.idlePollMs > 0 ? this.idlePollMs : SYNC_IDLE_POLL_MS)
    const ms = !soon
      ? Math.max(this.pollMs, this.idlePollMs)
      : this.peerAhead
        ? this.pollMs
        : Math.min(capMs, this.pollMs * 2 ** (this.failStreak - 1))
    this.poll = setTimeout(() => {
      this.poll = undefined
      this.run(soon)
    }, ms)
    this.poll.unref()
  }

  /** Best height a peer claimed (status polls, gossip); 0 before any. */
  get peerHeight(): bigint {
    return this.remoteHeight
  }

  /** How many blocks the best peer is ahead of this node (0 when level or unknown). */
  get behind(): bigint {
    const d = this.remoteHeight - this.o.node.height
    return d > 0n ? d : 0n
  }

  /** A peer showed a height we cannot follow by consensus (gossip from the future): sync. */
  noteRemoteHeight(h: bigint): void {
    if (h > this.remoteHeight) this.remoteHeight = h
    if (h > this.o.node.height + 1n) this.kick()
  }

  /** A peer answered a heads poll with head `h` of this network: a round if it is above ours. */
  notePeerHead(h: bigint): void {
    if (h > this.remoteHeight) this.remoteHeight = h
    if (h > this.o.node.height) this.kick()
  }

  /** Starts a sync round asking every peer, unless one is running (then it runs once more afterwards). */
  kick(): void {
    this.run(true)
  }

  private run(all: boolean): void {
    if (this.stopped || this.o.client === false) return
    if (this.running) {
      if (all) this.again = true
      return
    }
    this.running = true
    void this.round(all)
      .catch((e) => this.o.log?.(`sync: ${(e as Error).message}`))
      .finally(() => {
        this.running = false
        if (this.stopped) return
        if (this.again) {
          this.again = false
          this.run(true)
          return
        }
        this.scheduleNext()
      })
  }

  // ---- server ----

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    try {
      if (!this.buckets.take(peer, 'sync', SERVE_RATE)) {
        this.o.p2p.penalize(peer, PENALTY.rateLimited, 'sync rate')
        stream.abort(new Error('rate limited'))
        return
      }
      const lp = lpStream(stream, { maxDataLength: 64 })
      const req = (await lp.read({ signal })).subarray()
      const node = this.o.node
      if (req.length === 1 && req[0] === 1) {
        await lp.write(concatBytes(u64be(node.height), node.headHash), { signal })
      } else if (req.length === 13 && req[0] === 2) {
        const dv = new DataView(req.buffer, req.byteOffset, req.byteLength)
        const from = dv.getBigUint64(1)
        const count = Math.min(dv.getUint32(9), SYNC_BLOCKS_MAX)
        const frames: Uint8Array[] = []
        let bytes = 0
        for (let h = from; h >= 1n && h < from + BigInt(count) && h <= node.height; h++) {
          const blockBytes = await node.store.getBlock(h)
          const commitBytes = await node.store.getCommit(h)
          if (!blockBytes || !commitBytes) break
          const raw = encodeMessage({ type: 'blockResponse', blockBytes, commitBytes })
          const f = compressFrame(raw)
          if (frames.length > 0 && bytes + f.length > SYNC_BYTES_MAX) break
          frames.push(f)
          bytes += f.length
          this.stats.servedRawBytes += raw.length
        }
        const n = new Uint8Array(4)
        new DataView(n.buffer).setUint32(0, frames.length)
        await lp.writeV([n, ...frames], { signal })
        this.stats.servedBlocks += frames.length
        this.stats.servedBytes += bytes
      } else {
        this.o.p2p.penalize(peer, PENALTY.reject, 'bad sync request')
        stream.abort(new Error('bad request'))
        return
      }
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
    }
  }

  // ---- client ----

  private async request(peer: string, req: Uint8Array): Promise<Uint8Array[]> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const stream = await this.o.p2p.libp2p.dialProtocol(peerIdFromString(peer), this.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: FRAME_BYTES_MAX + 8 })
      await lp.write(req, { signal })
      const first = (await lp.read({ signal })).subarray()
      if (req[0] === 1) {
        await stream.close({ signal })
        return [first]
      }
      if (first.length !== 4) throw new DecodeError('DECODE_ERROR', 'sync: bad block count')
      const n = new DataView(first.buffer, first.byteOffset, 4).getUint32(0)
      if (n > SYNC_BLOCKS_MAX) throw new DecodeError('DECODE_ERROR', 'sync: too many blocks')
      const out: Uint8Array[] = []
      for (let i = 0; i < n; i++) out.push((await lp.read({ signal })).subarray())
      await stream.close({ signal })
      return out
    } catch (e) {
      stream.abort(e as Error)
      throw e
    }
  }

  async status(peer: string): Promise<PeerStatus> {
    this.stats.statusRequests++
    const [b] = await this.request(peer, new Uint8Array([1]))
    if (b.length !== 40) throw new DecodeError('DECODE_ERROR', 'sync: bad status')
    return {
      peer,
      height: new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0),
      headHash: b.slice(8),
    }
  }

  private async fetch(peer: string, from: bigint, count: number): Promise<Uint8Array[]> {
    const req = new Uint8Array(13)
    req[0] = 2
    const dv = new DataView(req.buffer)
    dv.setBigUint64(1, from)
    dv.setUint32(9, count)
    const frames = await this.request(peer, req)
    const msgs: Uint8Array[] = []
    let h = from
    for (const f of frames) {
      this.stats.fetchedBytes += f.length
      const raw = decompressFrame(f, FRAME_BYTES_MAX)
      this.stats.fetchedRawBytes += raw.length
      const m = decodeMessage(raw)
      if (m.type !== 'blockResponse') throw new DecodeError('DECODE_ERROR', 'sync: not a block response')
      if (decodeBlock(m.blockBytes).header.height !== h)
        throw new DecodeError('DECODE_ERROR', `sync: expected block ${h}`)
      msgs.push(raw)
      this.stats.fetchedBlocks++
      h++
    }
    return msgs
  }

  /** Resolves when the node's height reaches `h`, or false after `ms` without reaching it. */
  private waitHeight(h: bigint, ms: number): Promise<boolean> {
    const node = this.o.node
    if (node.height >= h) return Promise.resolve(true)
    return new Promise((resolve) => {
      const onBlock = () => {
        if (node.height >= h) done(true)
      }
      const t = setTimeout(() => done(false), ms)
      const done = (ok: boolean) => {
        clearTimeout(t)
        node.off('block', onBlock)
        resolve(ok)
      }
      node.on('block', onBlock)
    })
  }

  /**
   * One catch-up round: ask the peers' status (`all`, or one peer in turn for the idle fallback
   * poll), then pull ranges from the highest until level.
   */
  private async round(all: boolean): Promise<void> {
    const node = this.o.node
    this.peerAhead = false
    let peers = this.o.p2p.connectedPeers()
    if (peers.length === 0) return
    if (!all) peers = [peers[this.rotate++ % peers.length]!]
    const settled = await Promise.allSettled(peers.map((p) => this.status(p)))
    const statuses = settled
      .filter((r): r is PromiseFulfilledResult<PeerStatus> => r.status === 'fulfilled')
      .map((r) => r.value)
      .sort((a, b) => (a.height > b.height ? -1 : a.height < b.height ? 1 : 0))
    this.failStreak = statuses.length < settled.length ? this.failStreak + 1 : 0
    if (statuses.length > 0 && statuses[0].height > this.remoteHeight) this.remoteHeight = statuses[0].height
    if (statuses.length === 0 || statuses[0].height <= node.height) return
    this.peerAhead = true
    // One block behind is normal between heights (consensus gets it itself): sync from 2 behind,
    // or from 1 behind when our head has not moved for STALL_MS (the precommits we missed are
    // gone: peers at the next height no longer send them).
    if (node.height !== this.lastHeight) {
      this.lastHeight = node.height
      this.lastMoveAt = performance.now()
    }
    const stalled = performance.now() - this.lastMoveAt > STALL_MS
    const ahead = statuses[0].height > this.remoteHeight ? statuses[0].height : this.remoteHeight
    if (ahead < node.height + (stalled ? 1n : 2n)) return
    this.stats.rounds++
    const start = node.height
    const target = statuses[0].height
    if (target > this.remoteHeight) this.remoteHeight = target
    const bar = this.progressBar(start, target)
    const t0 = performance.now()
    try {
      for (const st of statuses) {
        while (!this.stopped && node.height < st.height) {
          const from = node.height + 1n
          const count = Number(
            st.height - node.height < BigInt(SYNC_BLOCKS_MAX)
              ? st.height - node.height
              : BigInt(SYNC_BLOCKS_MAX),
          )
          let msgs: Uint8Array[]
          try {
            msgs = await this.fetch(st.peer, from, count)
          } catch (e) {
            if (e instanceof DecodeError) this.blame(st.peer, e.message)
            break
          }
          if (msgs.length === 0) break
          for (const m of msgs) this.o.deliver(m, st.peer)
          const ok = await this.waitHeight(from + BigInt(msgs.length) - 1n, 10_000)
          bar?.update(Number(node.height - start), {
            rate: (Number(node.height - start) / ((performance.now() - t0) / 1000)).toFixed(1),
          })
          if (!ok) {
            // Blocks the driver would not commit (bad certificate or execution): not this peer again.
            if (node.height < from) this.blame(st.peer, `blocks from ${from} not accepted`)
            break
          }
        }
        if (node.height >= target) break
      }
    } finally {
      if (bar) {
        bar.update(Number(node.height - start))
        bar.stop()
      }
    }
    if (node.height > start)
      this.o.log?.(
        `sync: ${node.id} caught up ${start} -> ${node.height} (${toHex(node.headHash).slice(0, 12)}…)`,
      )
  }

  private blame(peer: string, why: string): void {
    this.stats.badPeers++
    this.o.p2p.penalize(peer, PENALTY.reject, `sync: ${why}`)
  }

  private progressBar(start: bigint, target: bigint): cliProgress.SingleBar | undefined {
    if (this.o.progress === false || target - start <= BigInt(this.o.progressMinBlocks ?? 3)) return undefined
    const bar = new cliProgress.SingleBar(
      {
        format: `sync ${this.o.node.id} [{bar}] {value}/{total} blocks | {rate} blocks/s | ETA {eta}s`,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 1000,
        hideCursor: false,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(Number(target - start), 0, { rate: '0' })
    return bar
  }
}

export const HEADS_PROTOCOL = '/pulsemesh/heads/1'
/** A heads answer: at most this many networks, ids of at most 255 bytes (one frame ≤ ~1.1 MiB). */
const HEADS_MAX = 4096
const HEADS_RATE = { capacity: 10, refillPerSecond: 1 }
const HEADS_TIMEOUT_MS = 5000

/** Encodes a heads answer: [n u16] then n × ([id length u8][id utf8][height u64]). */
export function encodeHeads(heads: [string, bigint][]): Uint8Array {
  const enc = new TextEncoder()
  const list = heads
    .map(([id, h]) => [enc.encode(id), h] as const)
    .filter(([b]) => b.length <= 255)
    .slice(0, HEADS_MAX)
  const n = new Uint8Array(2)
  new DataView(n.buffer).setUint16(0, list.length)
  return concatBytes(n, ...list.flatMap(([b, h]) => [new Uint8Array([b.length]), b, u64be(h)]))
}

/** Decodes a heads answer; throws DecodeError on anything malformed. */
export function decodeHeads(b: Uint8Array): [string, bigint][] {
  const bad = () => new DecodeError('DECODE_ERROR', 'heads: malformed answer')
  if (b.length < 2) throw bad()
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const n = dv.getUint16(0)
  if (n > HEADS_MAX) throw bad()
  const out: [string, bigint][] = []
  let o = 2
  const dec = new TextDecoder('utf-8', { fatal: true })
  for (let i = 0; i < n; i++) {
    if (o + 1 > b.length) throw bad()
    const len = b[o]!
    if (o + 1 + len + 8 > b.length) throw bad()
    let id: string
    try {
      id = dec.decode(b.subarray(o + 1, o + 1 + len))
    } catch {
      throw bad()
    }
    out.push([id, dv.getBigUint64(o + 1 + len)])
    o += 1 + len + 8
  }
  if (o !== b.length) throw bad()
  return out
}

/**
 * The idle fallback of every network's block sync in one timer (`/pulsemesh/heads/1`): every
 * `intervalMs` one connected peer, in turn, answers the head heights of all networks it hosts in
 * one stream; each network whose peer head is above ours runs a sync round (`notePeerHead`). It
 * also serves that answer (rate-limited per peer: 10, then 1/s; over it = a penalty point).
 */
export class HeadsPoll {
  private readonly p2p: P2PNode
  private readonly heads: () => [string, bigint][]
  private readonly onHead: (network: string, height: bigint) => void
  private readonly intervalMs: number
  private readonly buckets = new PeerTopicBuckets()
  private timer: NodeJS.Timeout | undefined
  private rotate = 0
  private stopped = false
  /** Polls sent / answers that failed (stream, timeout or a malformed answer). */
  readonly stats = { polls: 0, failures: 0, served: 0 }

  constructor(o: {
    p2p: P2PNode
    /** This node's networks and head heights (what it answers). */
    heads: () => [string, bigint][]
    /** A peer's head of one network (called for every network in its answer). */
    onHead: (network: string, height: bigint) => void
    intervalMs?: number
  }) {
    this.p2p = o.p2p
    this.heads = o.heads
    this.onHead = o.onHead
    this.intervalMs = o.intervalMs ?? SYNC_IDLE_POLL_MS
  }

  async start(): Promise<void> {
    await this.p2p.libp2p.handle(HEADS_PROTOCOL, (s, c) => this.serve(s, c), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    })
    this.timer = setInterval(() => void this.poll().catch(() => {}), this.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.p2p.libp2p.unhandle(HEADS_PROTOCOL).catch(() => {})
  }

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(HEADS_TIMEOUT_MS)
    try {
      if (!this.buckets.take(peer, 'heads', HEADS_RATE)) {
        this.p2p.penalize(peer, PENALTY.rateLimited, 'heads rate')
        stream.abort(new Error('rate limited'))
        return
      }
      const lp = lpStream(stream, { maxDataLength: 16 })
      const req = (await lp.read({ signal })).subarray()
      if (req.length !== 1 || req[0] !== 1) {
        this.p2p.penalize(peer, PENALTY.reject, 'bad heads request')
        stream.abort(new Error('bad request'))
        return
      }
      await lp.write(encodeHeads(this.heads()), { signal })
      this.stats.served++
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
    }
  }

  /** Asks one peer (in turn) for its heads and reports each one. */
  async poll(): Promise<void> {
    if (this.stopped) return
    const peers = this.p2p.connectedPeers()
    if (peers.length === 0) return
    const peer = peers[this.rotate++ % peers.length]!
    this.stats.polls++
    const signal = AbortSignal.timeout(HEADS_TIMEOUT_MS)
    let answer: [string, bigint][]
    try {
      const stream = await this.p2p.libp2p.dialProtocol(peerIdFromString(peer), HEADS_PROTOCOL, { signal })
      try {
        const lp = lpStream(stream, { maxDataLength: 2 + HEADS_MAX * (1 + 255 + 8) })
        await lp.write(new Uint8Array([1]), { signal })
        const b = (await lp.read({ signal })).subarray()
        await stream.close({ signal })
        answer = decodeHeads(b)
      } catch (e) {
        stream.abort(e as Error)
        throw e
      }
    } catch (e) {
      this.stats.failures++
      if (e instanceof DecodeError) this.p2p.penalize(peer, PENALTY.reject, 'heads: malformed answer')
      return
    }
    for (const [id, h] of answer) this.onHead(id, h)
  }
}
