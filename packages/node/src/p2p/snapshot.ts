/**
 * State snapshots for fast join (`/pulsemesh/<network>/snapshot/1`): a node serves its flat state at
 * a recent certified height in chunks; a node with an empty chain fetches one, verifies it, installs
 * it (one atomic batch) and continues by block sync from there instead of replaying from genesis.
 *
 * Server: at every height that is a multiple of `interval` (default: the network's checkpoint
 * interval) it opens a LevelDB snapshot view (store.openView) in the block event, i.e. exactly at
 * that height, and keeps the newest two. It offers the newest view whose height S is BELOW its head
 * (block S+1 is needed for the proof of the set of S+2), with block S + commit, block S+1 + commit,
 * and the validator sets of S, S+1, S+2 (with proposer priorities). Chunks are key ranges
 * (entries after a key, ≤ CHUNK_ENTRIES / CHUNK_BYTES), so the server keeps no per-client state.
 *
 * Client checks before anything is written:
 *  - trust: with `trust` {height, hash} configured, S and hash(block S) must equal it; otherwise
 *    the commit of S must carry > 1/3 of the GENESIS set's power (light-client skipping rule,
 *    verifyCommitTrusting) — see the README for what that assumes;
 *  - hash(set S) = header S validatorsHash, > 2/3 of set S signed commit S for block S;
 *  - hash(set S+1) = header S nextValidatorsHash = header S+1 validatorsHash, header S+1 prevHash =
 *    hash(block S), > 2/3 of set S+1 signed commit S+1; hash(set S+2) = header S+1 nextValidatorsHash;
 *  - chunks: keys strictly increasing, sizes bounded, total ≤ `maxBytes`; the Merkle root of the
 *    rebuilt state tree = header S stateRoot.
 * Proposer priorities are not covered by any hash (as in CometBFT state sync): a wrong one can only
 * make this node expect the wrong proposer (prevote nil), never accept a wrong block.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { type ValidatorSet, verifyCommit, verifyCommitTrusting } from '@pulsemesh/consensus'
import {
  type Block,
  blockHash,
  type Commit,
  DecodeError,
  decodeBlock,
  decodeCommit,
  decodeFrames,
  encodeFrames,
  equalBytes,
  PulseError,
  proposalSignBytes,
  StateTree,
  toHex,
  u64be,
  verify,
  voteSignBytes,
} from '@pulsemesh/core'
import { validatorSetOf } from '@pulsemesh/app'
import {
  decodeValidatorSet,
  encodeValidatorSet,
  type NetworkNode,
  validatorSetHash,
} from '../chain/network-node.ts'
import type { StateView } from '../storage/chain-store.ts'
import { compressFrame, decompressFrame } from './compression.ts'
import { PENALTY, type P2PNode } from './p2p-node.ts'
import { PeerTopicBuckets } from './rate-limit.ts'

export const snapshotProtocol = (networkId: string) => `/pulsemesh/${networkId}/snapshot/1`
export const CHUNK_ENTRIES = 4096
export const CHUNK_BYTES = 1024 * 1024
/** One frame on the wire: an offer (4 blocks/sets) or a chunk, decompressed. */
export const SNAPSHOT_FRAME_MAX = 20 * 1024 * 1024
const KEY_BYTES_MAX = 1024
const REQUEST_TIMEOUT_MS = 15_000
const SERVE_RATE = { capacity: 64, refillPerSecond: 32 }
const VIEWS_KEPT = 2

export interface SnapshotConfig {
  /** Serve snapshots (default true). */
  serve?: boolean
  /**
   * Join by snapshot when this node's chain is empty (default false, as CometBFT's state sync: an
   * operator opts in, ideally with `trust`; a node whose peers have nothing to offer then replays
   * from genesis).
   */
  join?: boolean
  /** Snapshot every this many blocks (default: the network's checkpoint interval). */
  interval?: number
  /** Pin the snapshot: only a snapshot of exactly this block is accepted. */
  trust?: { height: number | string; hash: string }
  /** Largest state accepted, bytes of keys + values (default 1 GiB; it is held in memory). */
  maxBytes?: number
  /** How long to look for a snapshot before falling back to block sync from genesis (default 20 s). */
  findMs?: number
}

/** What a peer offers: the certified height and everything needed to verify it. */
export interface SnapshotOffer {
  height: bigint
  blockBytes: Uint8Array
  commitBytes: Uint8Array
  nextBlockBytes: Uint8Array
  nextCommitBytes: Uint8Array
  /** Encoded validator sets of height, height+1, height+2. */
  sets: [Uint8Array, Uint8Array, Uint8Array]
}

export interface SnapshotStats {
  viewsOpened: number
  offersServed: number
  chunksServed: number
  entriesServed: number
  chunksFetched: number
  entriesFetched: number
  bytesFetched: number
  installedHeight: number
  rejectedOffers: number
}

export function encodeOffer(o: SnapshotOffer): Uint8Array {
  return encodeFrames([
    u64be(o.height),
    o.blockBytes,
    o.commitBytes,
    o.nextBlockBytes,
    o.nextCommitBytes,
    ...o.sets,
  ])
}

export function decodeOffer(b: Uint8Array): SnapshotOffer {
  const [h, blockBytes, commitBytes, nextBlockBytes, nextCommitBytes, s0, s1, s2] = decodeFrames(b, {
    count: 8,
    what: 'snapshot offer',
  })
  if (h.length !== 8) throw new DecodeError('DECODE_ERROR', 'snapshot: bad height')
  return {
    height: new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0),
    blockBytes,
    commitBytes,
    nextBlockBytes,
    nextCommitBytes,
    sets: [s0, s1, s2],
  }
}

/** A chunk: [done u8][n u32] then n × (key, value) framed. */
export function encodeChunk(entries: [Uint8Array, Uint8Array][], done: boolean): Uint8Array {
  const out = encodeFrames(entries.flat(), 5)
  out[0] = done ? 1 : 0
  new DataView(out.buffer).setUint32(1, entries.length)
  return out
}

export function decodeChunk(b: Uint8Array): { entries: [Uint8Array, Uint8Array][]; done: boolean } {
  if (b.length < 5 || b[0] > 1) throw new DecodeError('DECODE_ERROR', 'snapshot: bad chunk header')
  const n = new DataView(b.buffer, b.byteOffset, 5).getUint32(1)
  if (n > CHUNK_ENTRIES) throw new DecodeError('DECODE_ERROR', 'snapshot: too many entries')
  const items = decodeFrames(b.subarray(5), { count: n * 2, what: 'snapshot chunk' })
  const entries: [Uint8Array, Uint8Array][] = []
  for (let i = 0; i < n; i++) entries.push([items[2 * i], items[2 * i + 1]])
  return { entries, done: b[0] === 1 }
}

const cmp = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/**
 * Verifies an offer against the trust root (pinned block, or > 1/3 of the genesis set) and the
 * chain of hashes and certificates described at the top. Returns the decoded pieces; throws
 * PulseError SNAPSHOT_INVALID (or a consensus/decode error) on any mismatch.
 */
export function verifyOffer(
  node: NetworkNode,
  o: SnapshotOffer,
  trust?: SnapshotConfig['trust'],
): { block: Block; commit: Commit; sets: [ValidatorSet, ValidatorSet, ValidatorSet] } {
  const bad = (why: string): never => {
    throw new PulseError('SNAPSHOT_INVALID', `snapshot at ${o.height}: ${why}`)
  }
  const id = node.id
  const verifier = {
    voteSignBytes: (v: Parameters<typeof voteSignBytes>[1]) => voteSignBytes(id, v),
    proposalSignBytes: (p: Parameters<typeof proposalSignBytes>[1]) => proposalSignBytes(id, p),
    verify: (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) =>
      verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
  }
  const block = decodeBlock(o.blockBytes)
  const commit = decodeCommit(o.commitBytes)
  const next = decodeBlock(o.nextBlockBytes)
  const nextCommit = decodeCommit(o.nextCommitBytes)
  const sets = o.sets.map(decodeValidatorSet) as [ValidatorSet, ValidatorSet, ValidatorSet]
  const h = block.header
  if (h.networkId !== id || next.header.networkId !== id) bad('another network')
  if (o.height < 1n || h.height !== o.height || next.header.height !== o.height + 1n) bad('heights')
  const hash = blockHash(h)
  if (trust) {
    if (BigInt(trust.height) !== o.height || toHex(hash) !== trust.hash.toLowerCase())
      bad('not the trusted block')
  } else {
    verifyCommitTrusting(commit, sets[0], validatorSetOf(node.genesis.validators), verifier)
  }
  node.checkCheckpoint(o.height, hash)
  if (!equalBytes(validatorSetHash(sets[0]), h.validatorsHash)) bad('set of S does not match the header')
  verifyCommit(commit, sets[0], verifier, { height: o.height, blockHash: hash })
  if (!equalBytes(validatorSetHash(sets[1]), h.nextValidatorsHash)) bad('set of S+1 does not match')
  if (!equalBytes(validatorSetHash(sets[1]), next.header.validatorsHash)) bad('block S+1 validators')
  if (!equalBytes(next.header.prevHash, hash)) bad('block S+1 does not follow block S')
  verifyCommit(nextCommit, sets[1], verifier, { height: o.height + 1n, blockHash: blockHash(next.header) })
  if (!equalBytes(validatorSetHash(sets[2]), next.header.nextValidatorsHash)) bad('set of S+2 does not match')
  return { block, commit, sets }
}

export class SnapshotService {
  readonly protocol: string
  readonly stats: SnapshotStats = {
    viewsOpened: 0,
    offersServed: 0,
    chunksServed: 0,
    entriesServed: 0,
    chunksFetched: 0,
    entriesFetched: 0,
    bytesFetched: 0,
    installedHeight: 0,
    rejectedOffers: 0,
  }
  private readonly p2p: P2PNode
  private readonly node: NetworkNode
  private readonly cfg: SnapshotConfig
  private readonly interval: bigint
  private readonly buckets = new PeerTopicBuckets()
  private views: { height: bigint; view: StateView }[] = []
  private stopped = false
  private readonly onBlock: (b: { height: bigint }) => void
  private readonly log: (m: string) => void

  constructor(o: { p2p: P2PNode; node: NetworkNode; config?: SnapshotConfig; log?: (m: string) => void }) {
    this.p2p = o.p2p
    this.node = o.node
    this.cfg = o.config ?? {}
    this.log = o.log ?? (() => {})
    this.protocol = snapshotProtocol(o.node.id)
    this.interval = BigInt(this.cfg.interval ?? Number(o.node.checkpointInterval))
    if (this.interval < 1n) throw new PulseError('CONFIG_INVALID', 'p2p.snapshot.interval must be >= 1')
    // Opened synchronously in the block event: the view sees exactly the state of that height.
    this.onBlock = (b) => {
      if (b.height % this.interval === 0n) this.openView(b.height)
    }
  }

  async start(): Promise<void> {
    if (this.cfg.serve === false) return
    await this.p2p.libp2p.handle(this.protocol, (s, c) => this.serve(s, c), {
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
    })
    this.node.on('block', this.onBlock)
    // A restarted server can offer its head as soon as the next block exists.
    if (this.node.height > 0n) this.openView(this.node.height)
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.node.off('block', this.onBlock)
    await this.p2p.libp2p.unhandle(this.protocol).catch(() => {})
    for (const v of this.views) await v.view.close().catch(() => {})
    this.views = []
  }

  private openView(height: bigint): void {
    const view = this.node.store.openView()
    this.stats.viewsOpened++
    // Guard against a commit path that emits 'block' before/after its write became visible.
    void view.latestHeight().then(async (h) => {
      if (this.stopped) {
        await view.close()
        return
      }
      if (h !== height) {
        this.log(`snapshot: view at ${height} sees height ${h}; dropped`)
        await view.close()
        return
      }
      this.views.push({ height, view })
      while (this.views.length > VIEWS_KEPT)
        await this.views
          .shift()!
          .view.close()
          .catch(() => {})
    })
  }

  /** The newest view below the head (block S+1 exists), or undefined. */
  private offerable(): { height: bigint; view: StateView } | undefined {
    for (let i = this.views.length - 1; i >= 0; i--)
      if (this.views[i].height < this.node.height) return this.views[i]
    return undefined
  }

  async offer(): Promise<SnapshotOffer | undefined> {
    const v = this.offerable()
    if (!v) return undefined
    const s = this.node.store
    const h = v.height
    const [blockBytes, commitBytes, nextBlockBytes, nextCommitBytes] = await Promise.all([
      s.getBlock(h),
      s.getCommit(h),
      s.getBlock(h + 1n),
      s.getCommit(h + 1n),
    ])
    if (!blockBytes || !commitBytes || !nextBlockBytes || !nextCommitBytes) return undefined
    const sets = (await Promise.all([h, h + 1n, h + 2n].map((x) => this.node.validatorSetAt(x)))).map(
      encodeValidatorSet,
    ) as [Uint8Array, Uint8Array, Uint8Array]
    return { height: h, blockBytes, commitBytes, nextBlockBytes, nextCommitBytes, sets }
  }

  // ---- server ----

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    try {
      if (!this.buckets.take(peer, 'snapshot', SERVE_RATE)) {
        this.p2p.penalize(peer, PENALTY.rateLimited, 'snapshot rate')
        stream.abort(new Error('rate limited'))
        return
      }
      const lp = lpStream(stream, { maxDataLength: 16 + KEY_BYTES_MAX })
      const req = (await lp.read({ signal })).subarray()
      if (req.length === 1 && req[0] === 1) {
        const o = await this.offer()
        await lp.write(o ? compressFrame(encodeOffer(o)) : new Uint8Array(0), { signal })
        this.stats.offersServed++
      } else if (req.length >= 11 && req[0] === 2) {
        const dv = new DataView(req.buffer, req.byteOffset, req.byteLength)
        const height = dv.getBigUint64(1)
        const keyLen = dv.getUint16(9)
        if (req.length !== 11 + keyLen || keyLen > KEY_BYTES_MAX) throw new Error('bad chunk request')
        const after = keyLen > 0 ? req.subarray(11) : undefined
        const v = this.views.find((x) => x.height === height)
        if (!v) {
          await lp.write(new Uint8Array(0), { signal }) // no longer kept: the client starts over
        } else {
          const { entries, done } = await v.view.entries(after, CHUNK_ENTRIES, CHUNK_BYTES)
          await lp.write(compressFrame(encodeChunk(entries, done)), { signal })
          this.stats.chunksServed++
          this.stats.entriesServed += entries.length
        }
      } else {
        this.p2p.penalize(peer, PENALTY.reject, 'bad snapshot request')
        stream.abort(new Error('bad request'))
        return
      }
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
    }
  }

  // ---- client ----

  private async request(peer: string, req: Uint8Array): Promise<Uint8Array | undefined> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const stream = await this.p2p.libp2p.dialProtocol(peerIdFromString(peer), this.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: SNAPSHOT_FRAME_MAX + 8 })
      await lp.write(req, { signal })
      const b = (await lp.read({ signal })).subarray()
      await stream.close({ signal })
      return b.length === 0 ? undefined : decompressFrame(b, SNAPSHOT_FRAME_MAX)
    } catch (e) {
      stream.abort(e as Error)
      throw e
    }
  }

  /** Fetches all entries of `height` from `peer`, checking order and bounds. */
  private async fetchState(peer: string, height: bigint): Promise<[Uint8Array, Uint8Array][]> {
    const maxBytes = this.cfg.maxBytes ?? 1024 * 1024 * 1024
    const out: [Uint8Array, Uint8Array][] = []
    let after: Uint8Array | undefined
    let bytes = 0
    for (;;) {
      const key = after ?? new Uint8Array(0)
      const req = new Uint8Array(11 + key.length)
      req[0] = 2
      const dv = new DataView(req.buffer)
      dv.setBigUint64(1, height)
      dv.setUint16(9, key.length)
      req.set(key, 11)
      const raw = await this.request(peer, req)
      if (!raw) throw new PulseError('SNAPSHOT_GONE', `peer no longer keeps the snapshot at ${height}`)
      const { entries, done } = decodeChunk(raw)
      this.stats.chunksFetched++
      if (entries.length === 0 && !done) throw new PulseError('SNAPSHOT_INVALID', 'empty chunk')
      for (const [k, v] of entries) {
        if (k.length === 0 || k.length > KEY_BYTES_MAX)
          throw new PulseError('SNAPSHOT_INVALID', 'bad key size')
        if (after && cmp(k, after) <= 0) throw new PulseError('SNAPSHOT_INVALID', 'keys not increasing')
        bytes += k.length + v.length
        if (bytes > maxBytes) throw new PulseError('SNAPSHOT_TOO_LARGE', `state over ${maxBytes} bytes`)
        out.push([k.slice(), v.slice()])
        after = k
      }
      this.stats.entriesFetched += entries.length
      this.stats.bytesFetched += raw.length
      if (done) return out
    }
  }

  /**
   * Joins by snapshot (empty chain only): asks the connected peers for offers, verifies the best,
   * fetches and verifies its state, installs it. Resolves with the installed height, or undefined if
   * no acceptable snapshot was found within `findMs` (the caller then block-syncs from genesis).
   */
  async join(): Promise<bigint | undefined> {
    if (this.node.height !== 0n || this.cfg.join !== true) return undefined
    const deadline = performance.now() + (this.cfg.findMs ?? 20_000)
    /** Peers whose offer failed verification or transfer: not asked again. */
    const tried = new Set<string>()
    while (performance.now() < deadline) {
      const peers = this.p2p.connectedPeers().filter((p) => !tried.has(p))
      const answers = await Promise.allSettled(
        peers.map(async (peer) => {
          const raw = await this.request(peer, new Uint8Array([1]))
          return raw ? { peer, offer: decodeOffer(raw) } : undefined
        }),
      )
      // Peers that do not host this network (or are still starting) fail the request: not an answer.
      const answered = answers.filter((r) => r.status === 'fulfilled').length
      const offers = answers
        .map((r) => (r.status === 'fulfilled' ? r.value : undefined))
        .filter((x): x is { peer: string; offer: SnapshotOffer } => x !== undefined)
        .sort((a, b) => (a.offer.height > b.offer.height ? -1 : a.offer.height < b.offer.height ? 1 : 0))
      for (const { peer, offer } of offers) {
        tried.add(peer)
        try {
          const v = verifyOffer(this.node, offer, this.cfg.trust)
          const state = await this.fetchState(peer, offer.height)
          if (!equalBytes(StateTree.fromEntries(state).root(), v.block.header.stateRoot))
            throw new PulseError('SNAPSHOT_INVALID', 'state root differs from the certified header')
          await this.node.installSnapshot({
            blockBytes: offer.blockBytes,
            commitBytes: offer.commitBytes,
            validatorSets: [
              [offer.height, v.sets[0]],
              [offer.height + 1n, v.sets[1]],
              [offer.height + 2n, v.sets[2]],
            ],
            state,
          })
          this.stats.installedHeight = Number(offer.height)
          this.log(
            `snapshot: ${this.node.id} joined at height ${offer.height} (${state.length} state entries from ${peer})`,
          )
          return offer.height
        } catch (e) {
          this.stats.rejectedOffers++
          if (e instanceof PulseError && (e.code === 'SNAPSHOT_INVALID' || e.code === 'DECODE_ERROR'))
            this.p2p.penalize(peer, PENALTY.reject, `snapshot: ${e.message}`)
          this.log(`snapshot: offer of ${peer} at ${offer.height} not used: ${(e as Error).message}`)
        }
      }
      // Peers of this network answered and none has a snapshot (a young chain, or all peers empty as
      // at a devnet's first start): block sync from genesis is all there is.
      if (answered > 0 && offers.length === 0) return undefined
      await new Promise((r) => setTimeout(r, 500))
    }
    return undefined
  }
}
