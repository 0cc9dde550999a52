/**
 * The virtual clock: a binary min-heap ordered by (time, sequence number). The sequence number makes
 * simultaneous events run in the order they were scheduled, so a run never depends on heap internals.
 */
export class EventQueue<T> {
  private times: number[] = []
  private seqs: number[] = []
  private items: T[] = []
  private seq = 0

  get size(): number {
    return this.items.length
  }

  push(time: number, item: T): void {
    let i = this.items.length
    this.times.push(time)
    this.seqs.push(this.seq++)
    this.items.push(item)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(i, p)) break
      this.swap(i, p)
      i = p
    }
  }

  /** Earliest event (and its time), or undefined when empty. */
  pop(): { time: number; item: T } | undefined {
    const n = this.items.length
    if (n === 0) return undefined
    const time = this.times[0]
    const item = this.items[0]
    this.swap(0, n - 1)
    this.times.pop()
    this.seqs.pop()
    this.items.pop()
    let i = 0
    const m = this.items.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let s = i
      if (l < m && this.less(l, s)) s = l
      if (r < m && this.less(r, s)) s = r
      if (s === i) break
      this.swap(i, s)
      i = s
    }
    return { time, item }
  }

  private less(a: number, b: number): boolean {
    return this.times[a] < this.times[b] || (this.times[a] === this.times[b] && this.seqs[a] < this.seqs[b])
  }

  private swap(a: number, b: number): void {
    ;[this.times[a], this.times[b]] = [this.times[b], this.times[a]]
    ;[this.seqs[a], this.seqs[b]] = [this.seqs[b], this.seqs[a]]
    ;[this.items[a], this.items[b]] = [this.items[b], this.items[a]]
  }
}
