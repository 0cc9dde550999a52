/**
 * Memory for internal-node hash preimages (0x01 || bitmap || child hashes), carved out of large
 * shared chunks instead of one ArrayBuffer per node. Per-node buffers would be off-heap allocations
 * (V8 keeps only typed arrays ≤ 64 bytes on the JS heap), and hundreds of thousands of them made
 * allocation and GC cost more than the hashing. Here a node owns a slot: (chunk, offset, capacity).
 *
 * Slots come in four capacities (2, 4, 8, 16 children); a node that outgrows its slot moves to the
 * next class and the old slot goes on that class's free list for reuse. Freed slots are never
 * returned to the system: the slab lives as long as its tree.
 */

/** Children a slot of each class can hold. */
export const SLOT_CAPACITIES = [2, 4, 8, 16] as const
/** Slot size: 3-byte header + 32 bytes per child, rounded up to 8. */
const SLOT_BYTES = SLOT_CAPACITIES.map((c) => (3 + 32 * c + 7) & ~7)
const CHUNK_BYTES = 1 << 20

export function slotClassFor(children: number): number {
  return children <= 2 ? 0 : children <= 4 ? 1 : children <= 8 ? 2 : 3
}

export class NodeSlab {
  /** Chunk of the last allocation (read right after `alloc`). */
  chunk: Uint8Array = new Uint8Array(0)
  #current: Uint8Array = new Uint8Array(0)
  #used = 0
  /** Per class: free slots as parallel (chunk, offset) stacks. */
  readonly #freeChunks: Uint8Array[][] = [[], [], [], []]
  readonly #freeOffsets: number[][] = [[], [], [], []]
  #chunks = 0

  /** A slot of class `cls`; returns its offset and leaves its chunk in `this.chunk`. Contents are stale. */
  alloc(cls: number): number {
    const fo = this.#freeOffsets[cls]
    if (fo.length > 0) {
      this.chunk = this.#freeChunks[cls].pop()!
      return fo.pop()!
    }
    const size = SLOT_BYTES[cls]
    if (this.#used + size > this.#current.length) {
      this.#current = new Uint8Array(CHUNK_BYTES)
      this.#used = 0
      this.#chunks++
    }
    const off = this.#used
    this.#used += size
    this.chunk = this.#current
    return off
  }

  free(cls: number, chunk: Uint8Array, off: number): void {
    this.#freeChunks[cls].push(chunk)
    this.#freeOffsets[cls].push(off)
  }

  /** Bytes reserved from the system (for metrics). */
  get reservedBytes(): number {
    return this.#chunks * CHUNK_BYTES
  }
}
