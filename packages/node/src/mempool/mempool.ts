/**
 * The mempool of one network: signature-verified txs waiting for a block.
 *
 * Ordering: per sender, strictly by nonce with no gaps (a tx can only follow the sender's state
 * nonce or its last pending tx); across senders, by fee (highest first), ties by arrival order.
 * Limits (DESIGN §2.4), each with its own error code:
 *  - txsMax / bytesMax for the whole pool: when full, a tx paying more than the cheapest
 *    evictable tx (the last pending tx of some sender) evicts it, else MEMPOOL_FULL;
 *  - perSenderMax pending txs per sender: SENDER_LIMIT;
 *  - replacing a pending tx (same sender and nonce) needs a fee at least `replaceBumpPercent`
 *    higher: REPLACEMENT_UNDERPRICED.
 * A tx already pending is TX_DUPLICATE; one whose nonce is used is NONCE_REUSED (replay).
 */
import { PulseError } from '@pulsemesh/core'
import type { DecodedTx } from '@pulsemesh/app'
import { keyString } from '@pulsemesh/app'

export type MempoolErrorCode =
  | 'TX_DUPLICATE'
  | 'NONCE_REUSED'
  | 'NONCE_GAP'
  | 'SENDER_LIMIT'
  | 'MEMPOOL_FULL'
  | 'REPLACEMENT_UNDERPRICED'
  | 'INSUFFICIENT_FEE_FUNDS'

export class MempoolError extends PulseError<MempoolErrorCode> {
  constructor(code: MempoolErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
    this.name = 'MempoolError'
  }
}

export interface MempoolLimits {
  txsMax: number
  bytesMax: number
  perSenderMax: number
  replaceBumpPercent: bigint
}
export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  txsMax: 100_000,
  bytesMax: 64 * 1024 * 1024,
  perSenderMax: 256,
  replaceBumpPercent: 10n,
}

interface Entry {
  d: DecodedTx
  seq: number
}
interface SenderQueue {
  key: string
  /** Nonce of txs[0]; txs are contiguous from here. */
  firstNonce: bigint
  txs: Entry[]
  feeSum: bigint
}

export interface AdmitContext {
  /** The sender's nonce in committed state. */
  stateNonce: bigint
  /** The sender's balance of the fee asset in committed state. */
  feeBalance: bigint
}

export class Mempool {
  readonly limits: MempoolLimits
  private readonly byHash = new Map<string, Entry>()
  private readonly senders = new Map<string, SenderQueue>()
  private bytes = 0
  private seq = 0
  /**
   * A lower bound of every pending tx's expiresAt (exact after each expiry scan; admissions lower
   * it, removals leave it low): the per-block expiry scan, O(pool), runs only when some tx may
   * actually have expired.
   */
  private minExpiresAt: bigint | undefined

  constructor(limits: Partial<MempoolLimits> = {}) {
    this.limits = { ...DEFAULT_MEMPOOL_LIMITS, ...limits }
  }

  get size(): number {
    return this.byHash.size
  }
  get sizeBytes(): number {
    return this.bytes
  }
  has(hashHex: string): boolean {
    return this.byHash.has(hashHex)
  }
  get(hashHex: string): DecodedTx | undefined {
    return this.byHash.get(hashHex)?.d
  }
  /** Next nonce a sender should use, counting its pending txs. */
  nextNonce(sender: Uint8Array, stateNonce: bigint): bigint {
    const q = this.senders.get(keyString(sender))
    if (q === undefined) return stateNonce
    return q.firstNonce + BigInt(q.txs.length)
  }

  /** Admits a signature-verified, statelessly valid tx, or throws MempoolError. */
  add(d: DecodedTx, ctx: AdmitContext): { replaced?: DecodedTx; evicted?: DecodedTx } {
    if (this.byHash.has(d.hashHex)) throw new MempoolError('TX_DUPLICATE', 'tx is already in the mempool')
    const body = d.tx.body
    if (body.nonce < ctx.stateNonce) {
      throw new MempoolError('NONCE_REUSED', `nonce ${body.nonce} already used; next is ${ctx.stateNonce}`)
    }
    const key = keyString(d.sender)
    let q = this.senders.get(key)
    if (q !== undefined && q.firstNonce < ctx.stateNonce) {
      this.dropBelow(q, ctx.stateNonce) // committed behind our back; keep the queue honest
      q = this.senders.get(key)
    }
    const next = q === undefined ? ctx.stateNonce : q.firstNonce + BigInt(q.txs.length)

    if (q !== undefined && body.nonce < next) {
      // Replacement of a pending tx by the same sender.
      const idx = Number(body.nonce - q.firstNonce)
      const old = q.txs[idx]
      const needed = old.d.tx.body.fee + (old.d.tx.body.fee * this.limits.replaceBumpPercent) / 100n
      if (body.fee < needed || body.fee === old.d.tx.body.fee) {
        throw new MempoolError(
          'REPLACEMENT_UNDERPRICED',
          `replacing nonce ${body.nonce} needs a fee of at least ${needed}`,
        )
      }
      const feeSum = q.feeSum - old.d.tx.body.fee + body.fee
      if (feeSum > ctx.feeBalance) {
        throw new MempoolError('INSUFFICIENT_FEE_FUNDS', 'pending fees would exceed the fee balance')
      }
      this.byHash.delete(old.d.hashHex)
      this.bytes -= old.d.bytes.length
      const e: Entry = { d, seq: this.seq++ }
      q.txs[idx] = e
      q.feeSum = feeSum
      this.byHash.set(d.hashHex, e)
      this.bytes += d.bytes.length
      this.noteExpiry(body.expiresAt)
      return { replaced: old.d }
    }
    if (body.nonce > next) {
      throw new MempoolError('NONCE_GAP', `nonce ${body.nonce} skips ahead; next is ${next}`, {
        expected: next.toString(),
      })
    }
    if (q !== undefined && q.txs.length >= this.limits.perSenderMax) {
      throw new MempoolError(
        'SENDER_LIMIT',
        `a sender may have at most ${this.limits.perSenderMax} pending txs`,
      )
    }
    const feeSum = (q?.feeSum ?? 0n) + body.fee
    if (feeSum > ctx.feeBalance) {
      throw new MempoolError(
        'INSUFFICIENT_FEE_FUNDS',
        `pending fees ${feeSum} exceed the fee balance ${ctx.feeBalance}`,
      )
    }
    let evicted: DecodedTx | undefined
    if (this.byHash.size + 1 > this.limits.txsMax || this.bytes + d.bytes.length > this.limits.bytesMax) {
      evicted = this.evictCheaperThan(d, key)
      if (evicted === undefined)
        throw new MempoolError('MEMPOOL_FULL', 'mempool is full and this tx pays too little')
    }
    if (q === undefined || this.senders.get(key) === undefined) {
      q = { key, firstNonce: body.nonce, txs: [], feeSum: 0n }
      this.senders.set(key, q)
    }
    const e: Entry = { d, seq: this.seq++ }
    q.txs.push(e)
    q.feeSum += body.fee
    this.byHash.set(d.hashHex, e)
    this.bytes += d.bytes.length
    this.noteExpiry(body.expiresAt)
    return { evicted }
  }

  private noteExpiry(expiresAt: bigint): void {
    if (this.minExpiresAt === undefined || expiresAt < this.minExpiresAt) this.minExpiresAt = expiresAt
  }

  /** Evicts the last pending tx of the sender whose last tx pays least, if it pays less than `d`. */
  private evictCheaperThan(d: DecodedTx, exceptSender: string): DecodedTx | undefined {
    let worst: SenderQueue | undefined
    for (const q of this.senders.values()) {
      if (q.key === exceptSender || q.txs.length === 0) continue
      const tail = q.txs[q.txs.length - 1]
      if (worst === undefined) {
        worst = q
        continue
      }
      const w = worst.txs[worst.txs.length - 1]
      if (
        tail.d.tx.body.fee < w.d.tx.body.fee ||
        (tail.d.tx.body.fee === w.d.tx.body.fee && tail.seq > w.seq)
      )
        worst = q
    }
    if (worst === undefined) return undefined
    const victim = worst.txs[worst.txs.length - 1]
    if (victim.d.tx.body.fee >= d.tx.body.fee) return undefined
    worst.txs.pop()
    worst.feeSum -= victim.d.tx.body.fee
    if (worst.txs.length === 0) this.senders.delete(worst.key)
    this.byHash.delete(victim.d.hashHex)
    this.bytes -= victim.d.bytes.length
    return victim.d
  }

  /**
   * Txs for the next block: highest fee first across senders, nonce order within a sender.
   * Returns at most `txsMax` txs and `bytesMax` bytes. Does not remove them.
   *
   * `exclude` (txs of a block not yet committed, which the caller builds on top of): those are
   * walked in the same order and count towards `bytesMax` and a total of `txsMax + exclude.size`
   * as if reaped, but are left out of the result — exactly `reap(txsMax + exclude.size)` filtered
   * and cut to `txsMax`, without building and filtering the longer list.
   */
  reap(txsMax: number, bytesMax: number, exclude?: ReadonlySet<string>): DecodedTx[] {
    const first: Head[] = []
    for (const q of this.senders.values()) if (q.txs.length > 0) first.push(headOf(q, 0))
    const heads = new SenderHeap(first) // heapified in O(senders): a block may take few of many
    const out: DecodedTx[] = []
    const totalMax = txsMax + (exclude?.size ?? 0)
    let total = 0
    let bytes = 0
    while (total < totalMax && out.length < txsMax && heads.size > 0) {
      const top = heads.peek()
      const e = top.q.txs[top.i]
      if (bytes + e.d.bytes.length > bytesMax) {
        heads.pop() // this sender's later txs cannot go without this one
        continue
      }
      if (exclude === undefined || !exclude.has(e.d.hashHex)) out.push(e.d)
      total++
      bytes += e.d.bytes.length
      if (top.i + 1 < top.q.txs.length) {
        // The sender's next tx takes its place: one sift instead of a pop and a push.
        const next = top.q.txs[top.i + 1]
        top.i++
        top.fee = next.d.tx.body.fee
        top.seq = next.seq
        heads.replaceTop()
      } else heads.pop()
    }
    return out
  }

  /** After a block: drop included txs and anything now stale (nonce used, expired). */
  update(included: DecodedTx[], nonces: (sender: Uint8Array) => bigint, height: bigint): DecodedTx[] {
    const touched = new Set<string>()
    for (const d of included) {
      touched.add(keyString(d.sender))
    }
    const dropped: DecodedTx[] = []
    for (const key of touched) {
      const q = this.senders.get(key)
      if (q === undefined) continue
      dropped.push(...this.dropBelow(q, nonces(q.txs[0]?.d.sender ?? new Uint8Array())))
    }
    // Included txs that somehow were not at a queue head (replaced) are removed by hash too.
    for (const d of included) this.removeByHash(d.hashHex)
    dropped.push(...this.dropExpired(height))
    return dropped
  }

  /** Removes one tx and every later-nonce tx of its sender (they can no longer follow). */
  removeWithSuccessors(hashHex: string): DecodedTx[] {
    const e = this.byHash.get(hashHex)
    if (e === undefined) return []
    const q = this.senders.get(keyString(e.d.sender))!
    const idx = q.txs.indexOf(e)
    const gone = q.txs.splice(idx)
    for (const g of gone) {
      this.byHash.delete(g.d.hashHex)
      this.bytes -= g.d.bytes.length
      q.feeSum -= g.d.tx.body.fee
    }
    if (q.txs.length === 0) this.senders.delete(q.key)
    return gone.map((g) => g.d)
  }

  private removeByHash(hashHex: string): void {
    const e = this.byHash.get(hashHex)
    if (e !== undefined) this.removeWithSuccessors(hashHex)
  }

  private dropBelow(q: SenderQueue, stateNonce: bigint): DecodedTx[] {
    const out: DecodedTx[] = []
    if (q.firstNonce < stateNonce) {
      const gap = stateNonce - q.firstNonce
      const n = gap >= BigInt(q.txs.length) ? q.txs.length : Number(gap)
      for (let i = 0; i < n; i++) {
        const e = q.txs[i]
        q.feeSum -= e.d.tx.body.fee
        this.byHash.delete(e.d.hashHex)
        this.bytes -= e.d.bytes.length
        out.push(e.d)
      }
      q.txs.splice(0, n)
      q.firstNonce += BigInt(n)
    }
    if (q.txs.length === 0) this.senders.delete(q.key)
    return out
  }

  private dropExpired(height: bigint): DecodedTx[] {
    if (this.minExpiresAt === undefined || this.minExpiresAt >= height) return []
    const out: DecodedTx[] = []
    let min: bigint | undefined
    for (const q of [...this.senders.values()]) {
      const idx = q.txs.findIndex((e) => e.d.tx.body.expiresAt < height)
      if (idx >= 0) out.push(...this.removeWithSuccessors(q.txs[idx].d.hashHex))
      for (const e of q.txs) if (min === undefined || e.d.tx.body.expiresAt < min) min = e.d.tx.body.expiresAt
    }
    this.minExpiresAt = min
    return out
  }
}

interface Head {
  q: SenderQueue
  i: number
  /** Fee and arrival of q.txs[i], copied so heap comparisons read two fields. */
  fee: bigint
  seq: number
}
function headOf(q: SenderQueue, i: number): Head {
  return { q, i, fee: q.txs[i].d.tx.body.fee, seq: q.txs[i].seq }
}
/** Max-heap of sender heads by (fee desc, arrival asc). */
class SenderHeap {
  private readonly a: Head[]
  constructor(items: Head[] = []) {
    this.a = items
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }
  get size(): number {
    return this.a.length
  }
  private better(x: Head, y: Head): boolean {
    if (x.fee !== y.fee) return x.fee > y.fee
    return x.seq < y.seq
  }
  push(h: Head): void {
    const a = this.a
    a.push(h)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.better(a[i], a[p])) break
      ;[a[i], a[p]] = [a[p], a[i]]
      i = p
    }
  }
  peek(): Head {
    return this.a[0]
  }
  pop(): Head | undefined {
    const a = this.a
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      this.siftDown(0)
    }
    return top
  }
  /** The top's key changed (now the sender's next tx, any fee): sift it down to its place. */
  replaceTop(): void {
    this.siftDown(0)
  }
  private siftDown(i: number): void {
    const a = this.a
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < a.length && this.better(a[l], a[m])) m = l
      if (r < a.length && this.better(a[r], a[m])) m = r
      if (m === i) break
      ;[a[i], a[m]] = [a[m], a[i]]
      i = m
    }
  }
}
