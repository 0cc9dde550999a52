/**
 * On-disk storage of every network a node hosts, in one LevelDB (classic-level).
 * Each network has its own key space (prefix: length byte + network id); within it, one-letter tables:
 *
 *   M latest             -> u64 height of the last committed block
 *   G                    -> genesis JSON
 *   B <height u64>       -> encoded Block
 *   C <height u64>       -> encoded Commit certificate for that block
 *   H <block hash>       -> u64 height
 *   T <tx hash>          -> u64 height ++ u32 index
 *   R <height>           -> the block's encoded TxResults, each u32be length-prefixed (one write per block)
 *   A <account 20> <height> <index> -> tx hash     (txs by account, both sender and recipients)
 *   S <state key>        -> state value            (the flat state; the Merkle tree is rebuilt from it)
 *   V <height u64>       -> validator set of that height, with proposer priorities (JSON; written
 *                           two heights ahead: committing block H writes the set of H+2)
 *
 * Everything a block changes is written in ONE atomic batch, fsynced, so a node killed at any
 * moment restarts at the last committed block with exactly its state.
 */
import { ClassicLevel } from 'classic-level'
import { concatBytes, encodeFrames, frameAt, readU64be, u64be } from '@pulsemesh/core'

type Bytes = Uint8Array
type DB = ClassicLevel<Bytes, Bytes>

const T = (c: string) => new Uint8Array([c.charCodeAt(0)])
const LATEST = concatBytes(T('M'), new TextEncoder().encode('latest'))
const GENESIS = T('G')
/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Bytes): Bytes {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const out = prefix.slice(0, i + 1)
      out[i]++
      return out
    }
  }
  throw new RangeError('prefixEnd: prefix is all 0xff')
}
const u32be = (n: number) => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

export interface BlockWrite {
  height: bigint
  hash: Bytes
  blockBytes: Bytes
  commitBytes: Bytes
  txHashes: Bytes[]
  results: Bytes[]
  /** account ids touched by each tx (sender, recipients), for the by-account index */
  accounts: Bytes[][]
  /** Sorted state changes; null = delete. A key may be given as its bytes or as a string of one char per byte. */
  stateChanges: [Bytes | string, Bytes | null][]
  /** Validator sets decided by this block (height -> encoded set). */
  validatorSets?: [bigint, Bytes][]
}

/** See NetworkStore.openView. */
export interface StateView {
  latestHeight(): Promise<bigint>
  /** Flat-state entries with keys after `after` (from the start if undefined), in key order. */
  entries(
    after: Bytes | undefined,
    limit: number,
    bytesMax: number,
  ): Promise<{ entries: [Bytes, Bytes][]; done: boolean }>
  close(): Promise<void>
}

export class ChainStore {
  readonly db: ClassicLevel<Bytes, Bytes>
  private constructor(db: ClassicLevel<Bytes, Bytes>) {
    this.db = db
  }
  static async open(dir: string): Promise<ChainStore> {
    const db = new ClassicLevel<Bytes, Bytes>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    return new ChainStore(db)
  }
  network(id: string): NetworkStore {
    const idBytes = new TextEncoder().encode(id)
    return new NetworkStore(this.db, concatBytes(new Uint8Array([idBytes.length]), idBytes))
  }
  close(): Promise<void> {
    return this.db.close()
  }
}

type Op = { type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes }

export class NetworkStore {
  private readonly db: DB
  /** Key-space prefix of this network. */
  private readonly ns: Bytes
  constructor(db: DB, ns: Bytes) {
    this.db = db
    this.ns = ns
  }
  private k(key: Bytes): Bytes {
    return concatBytes(this.ns, key)
  }
  private async get(key: Bytes): Promise<Bytes | undefined> {
    const v = await this.db.get(this.k(key))
    return v === undefined ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  }
  private write(ops: Op[]): Promise<void> {
    return this.db.batch(
      ops.map((o) => ({ ...o, key: this.k(o.key) })),
      { sync: true },
    )
  }

  async latestHeight(): Promise<bigint> {
    const v = await this.get(LATEST)
    return v === undefined ? 0n : readU64be(v)
  }
  async getGenesis(): Promise<string | undefined> {
    const v = await this.get(GENESIS)
    return v === undefined ? undefined : new TextDecoder().decode(v)
  }
  async putGenesis(
    json: string,
    initialState: [Bytes, Bytes][],
    validatorSets: [bigint, Bytes][] = [],
  ): Promise<void> {
    const ops: Op[] = [
      { type: 'put', key: GENESIS, value: new TextEncoder().encode(json) },
      { type: 'put', key: LATEST, value: u64be(0n) },
    ]
    for (const [h, v] of validatorSets)
      ops.push({ type: 'put', key: concatBytes(T('V'), u64be(h)), value: v })
    for (const [k, v] of initialState) ops.push({ type: 'put', key: concatBytes(T('S'), k), value: v })
    await this.write(ops)
  }
  getBlock(height: bigint): Promise<Bytes | undefined> {
    return this.get(concatBytes(T('B'), u64be(height)))
  }
  getValidatorSet(height: bigint): Promise<Bytes | undefined> {
    return this.get(concatBytes(T('V'), u64be(height)))
  }
  getCommit(height: bigint): Promise<Bytes | undefined> {
    return this.get(concatBytes(T('C'), u64be(height)))
  }
  async heightOfBlock(hash: Bytes): Promise<bigint | undefined> {
    const v = await this.get(concatBytes(T('H'), hash))
    return v === undefined ? undefined : readU64be(v)
  }
  async txLocation(hash: Bytes): Promise<{ height: bigint; index: number } | undefined> {
    const v = await this.get(concatBytes(T('T'), hash))
    if (v === undefined) return undefined
    return { height: readU64be(v), index: new DataView(v.buffer, v.byteOffset + 8, 4).getUint32(0) }
  }
  getTxResult(height: bigint, index: number): Promise<Bytes | undefined> {
    return this.get(concatBytes(T('R'), u64be(height))).then((blob) =>
      blob ? frameAt(blob, index)?.slice() : undefined,
    )
  }

  /** Tx hashes touching an account, newest first, at most `limit`, strictly before `before` (height,index). */
  async txsByAccount(
    account: Bytes,
    limit: number,
    before?: { height: bigint; index: number },
  ): Promise<{ hash: Bytes; height: bigint; index: number }[]> {
    const prefix = concatBytes(T('A'), account)
    const lt = before ? concatBytes(prefix, u64be(before.height), u32be(before.index)) : prefixEnd(prefix)
    const out: { hash: Bytes; height: bigint; index: number }[] = []
    const skip = this.ns.length + prefix.length
    for await (const [k, v] of this.db.iterator({
      gte: this.k(prefix),
      lt: this.k(lt),
      reverse: true,
      limit,
    })) {
      const dv = new DataView(k.buffer, k.byteOffset + skip, 12)
      out.push({ hash: new Uint8Array(v), height: dv.getBigUint64(0), index: dv.getUint32(8) })
    }
    return out
  }

  /** Every state entry, in key order (for rebuilding the Merkle tree at start-up). */
  async *stateEntries(prefix: Bytes = new Uint8Array()): AsyncGenerator<[Bytes, Bytes]> {
    const gte = concatBytes(T('S'), prefix)
    const lt = prefixEnd(gte)
    const skip = this.ns.length + 1
    for await (const [k, v] of this.db.iterator({ gte: this.k(gte), lt: this.k(lt) })) {
      yield [new Uint8Array(k.subarray(skip)), new Uint8Array(v)]
    }
  }

  /**
   * A consistent read view (LevelDB snapshot) of this network's head height and flat state as of
   * now, for serving state snapshots while blocks keep committing. Close it when done: an open view
   * keeps LevelDB from compacting away the versions it sees.
   */
  openView(): StateView {
    const snap = this.db.snapshot()
    const ns = this.ns
    const db = this.db
    const k = (key: Bytes) => concatBytes(ns, key)
    return {
      async latestHeight() {
        const v = await db.get(k(LATEST), { snapshot: snap })
        return v === undefined ? 0n : readU64be(new Uint8Array(v))
      },
      async entries(after, limit, bytesMax) {
        const gte = T('S')
        const lt = prefixEnd(gte)
        const out: [Bytes, Bytes][] = []
        let bytes = 0
        const skip = ns.length + 1
        const range = after ? { gt: k(concatBytes(gte, after)), lt: k(lt) } : { gte: k(gte), lt: k(lt) }
        for await (const [key, v] of db.iterator({ ...range, snapshot: snap, limit: limit + 1 })) {
          if (out.length >= limit || (out.length > 0 && bytes + key.length + v.length > bytesMax))
            return { entries: out, done: false }
          out.push([new Uint8Array(key.subarray(skip)), new Uint8Array(v)])
          bytes += key.length + v.length
        }
        return { entries: out, done: true }
      },
      close: () => snap.close(),
    }
  }

  /**
   * Replaces this network's state by a verified snapshot at `height` (state sync): every flat-state
   * entry, block `height` with its commit, the validator sets given, and the head pointer, in ONE
   * atomic fsynced batch (a crash leaves either the old store or the complete snapshot).
   */
  async installSnapshot(s: {
    height: bigint
    hash: Bytes
    blockBytes: Bytes
    commitBytes: Bytes
    validatorSets: [bigint, Bytes][]
    state: [Bytes, Bytes][]
  }): Promise<void> {
    const ops: Op[] = []
    const keep = new Set(s.state.map(([key]) => Buffer.from(key).toString('hex')))
    for await (const [key] of this.stateEntries())
      if (!keep.has(Buffer.from(key).toString('hex')))
        ops.push({ type: 'del', key: concatBytes(T('S'), key) })
    for (const [key, v] of s.state) ops.push({ type: 'put', key: concatBytes(T('S'), key), value: v })
    const h = u64be(s.height)
    ops.push({ type: 'put', key: concatBytes(T('B'), h), value: s.blockBytes })
    ops.push({ type: 'put', key: concatBytes(T('C'), h), value: s.commitBytes })
    ops.push({ type: 'put', key: concatBytes(T('H'), s.hash), value: h })
    for (const [vh, v] of s.validatorSets)
      ops.push({ type: 'put', key: concatBytes(T('V'), u64be(vh)), value: v })
    ops.push({ type: 'put', key: LATEST, value: h })
    await this.write(ops)
  }

  /** `ns ++ table ++ parts`, in one allocation (the block batch builds thousands of these). */
  private key(table: number, ...parts: Bytes[]): Bytes {
    let n = this.ns.length + 1
    for (const p of parts) n += p.length
    const out = new Uint8Array(n)
    out.set(this.ns, 0)
    out[this.ns.length] = table
    let o = this.ns.length + 1
    for (const p of parts) {
      out.set(p, o)
      o += p.length
    }
    return out
  }

  /**
   * The one atomic, fsynced write of a committed block and everything it changed. Keys are built
   * with the network prefix directly (no second pass over the ops); per tx the location value
   * (height ++ index) is one allocation shared with the by-account keys' suffix. Written through a
   * chained batch: each put goes straight into LevelDB's WriteBatch, about a third of the
   * main-thread cost of an array of op objects (which abstract-level clones and the binding reads
   * back property by property) for the ~4 ops per tx of a full block.
   */
  commitBlock(w: BlockWrite): Promise<void> {
    const b = this.db.batch()
    try {
      this.fillBlockBatch(b, w)
    } catch (e) {
      void b.close()
      return Promise.reject(e)
    }
    return b.write({ sync: true })
  }

  private fillBlockBatch(b: ReturnType<DB['batch']>, w: BlockWrite): void {
    const h = u64be(w.height)
    const c = (ch: string) => ch.charCodeAt(0)
    b.put(this.key(c('B'), h), w.blockBytes)
    b.put(this.key(c('C'), h), w.commitBytes)
    b.put(this.key(c('H'), w.hash), h)
    b.put(this.key(c('R'), h), encodeFrames(w.results))
    // The per-tx and per-state-write keys and values (thousands per block) are views of ONE slab:
    // LevelDB's binding reads a small standalone Uint8Array only after V8 moves its bytes off the
    // JS heap (an allocation and a copy per key and per value); a view of a large buffer is read
    // in place, about half the main-thread cost per put.
    const ns = this.ns
    const pre = ns.length + 1
    let size = 0
    for (let i = 0; i < w.txHashes.length; i++) {
      size += pre + w.txHashes[i].length + 12
      const accts = w.accounts[i]
      if (accts !== undefined) for (let j = 0; j < accts.length; j++) size += pre + accts[j].length + 12
    }
    for (const [k, v] of w.stateChanges) size += pre + k.length + (v === null ? 0 : v.length)
    const slab = new Uint8Array(size)
    let at = 0
    const take = (n: number): Bytes => {
      const v = slab.subarray(at, at + n)
      at += n
      return v
    }
    const keyOf = (table: number, n: number): Bytes => {
      const k = take(pre + n)
      k.set(ns, 0)
      k[ns.length] = table
      return k
    }
    const tT = c('T')
    const tA = c('A')
    for (let i = 0; i < w.txHashes.length; i++) {
      const hash = w.txHashes[i]
      const tKey = keyOf(tT, hash.length)
      tKey.set(hash, pre)
      const loc = take(12)
      loc.set(h, 0)
      const idx = i >>> 0
      loc[8] = idx >>> 24
      loc[9] = (idx >>> 16) & 0xff
      loc[10] = (idx >>> 8) & 0xff
      loc[11] = idx & 0xff
      b.put(tKey, loc)
      const accts = w.accounts[i]
      if (accts === undefined) continue
      const hashView = tKey.subarray(pre) // the tx hash, already in the slab
      for (let j = 0; j < accts.length; j++) {
        const a = accts[j]
        const aKey = keyOf(tA, a.length + 12)
        aKey.set(a, pre)
        aKey.set(loc, pre + a.length)
        b.put(aKey, hashView)
      }
    }
    const tS = c('S')
    for (const [k, v] of w.stateChanges) {
      const key = keyOf(tS, k.length)
      if (typeof k === 'string') for (let i = 0; i < k.length; i++) key[pre + i] = k.charCodeAt(i)
      else key.set(k, pre)
      if (v === null) b.del(key)
      else {
        const val = take(v.length)
        val.set(v)
        b.put(key, val)
      }
    }
    for (const [vh, v] of w.validatorSets ?? []) b.put(this.key(c('V'), u64be(vh)), v)
    b.put(this.k(LATEST), h)
  }
}
