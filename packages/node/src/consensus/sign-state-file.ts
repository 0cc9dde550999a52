/**
 * Durable double-sign guard: the engine's SignState written to one small file per validator and
 * network BEFORE the message it allows is signed and sent. After a crash at any point the validator
 * restarts with a record at least as new as anything it ever sent, so the engine's guard refuses
 * every conflicting signature.
 *
 * Format (one fdatasync per save): a fixed-size file of a header and two slots. Saves alternate
 * between the slots, each slot = sequence number + length + SHA-256 + the engine's SignState text,
 * written in place with one fdatasync (the file's size never changes, so no metadata or directory
 * sync is needed). A write torn by a crash breaks only the slot being written: its checksum fails
 * and the other slot still holds the previous record — which is all that was ever signed, because
 * the message is signed only after `save` returned. Load takes the valid slot with the highest
 * sequence; no valid slot is SIGN_STATE_CORRUPT (the validator refuses to start rather than guess).
 *
 * The file is created (and grown, should a record outgrow its slot) atomically: tmp file + fsync +
 * rename + directory fsync. A file of the older format (the SignState JSON text alone, written by
 * tmp + rename) is read as is and converted the same atomic way on the first save.
 *
 * A record may carry the blocks its SignState names: the block it is locked on and the block of its
 * signed proposal (payload = 0x01, JSON length u32, JSON, then per block its length u32 and bytes; a
 * payload of JSON alone starts with "{"). A lock without its block is a liveness trap: if every
 * validator that holds the block restarts, the locked ones prevote nil for any other block and
 * nobody can re-propose the locked one. A signed proposal without its block costs a round after a
 * restart: the guard lets the proposer re-send only that proposal, which it could not. CometBFT
 * keeps both in its consensus WAL; here they share the record's slot and its single fdatasync.
 *
 * The write is synchronous on purpose: nothing else of the driver can run between "persisted" and
 * "signed", and a vote is sent at most a few times per second.
 */
import { createHash } from 'node:crypto'
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { decodeSignState, encodeSignState, type SignState } from '@pulsemesh/consensus'
import { equalBytes, PulseError, sha256 } from '@pulsemesh/core'
import { writeFileAtomic } from '../storage/atomic-file.ts'

/** TEST ONLY: when set to a height, the process SIGKILLs itself right after persisting a vote at it. */
export const CRASH_ENV = 'PULSEMESH_TEST_CRASH_AFTER_SIGNSTATE_HEIGHT'

/** "PMSIGN2\n": the two-slot format (the older format is JSON text and starts with "{"). */
export const SLOT_FILE_MAGIC = new Uint8Array([0x50, 0x4d, 0x53, 0x49, 0x47, 0x4e, 0x32, 0x0a])
/** Header: magic (8), slot size u32, SHA-256 of those 12 bytes truncated to 4. */
export const HEADER_BYTES = 16
/** Slot: sequence u64, payload length u32, SHA-256 of (sequence, length, payload), payload. */
export const SLOT_HEADER_BYTES = 8 + 4 + 32
/** Default slot size; a record that does not fit makes the file grow (slot size doubled). */
export const DEFAULT_SLOT_BYTES = 4096
/** Sanity bound on the slot size read from a header (a lock proof of hundreds of votes fits). */
const MAX_SLOT_BYTES = 16 * 1024 * 1024

type Slot = { seq: bigint; payload: Uint8Array }

/** First payload byte of a record that carries blocks (a JSON-only record starts with "{"). */
const WITH_BLOCKS = 0x01

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

function headerBytes(slotSize: number): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES)
  h.set(SLOT_FILE_MAGIC, 0)
  new DataView(h.buffer).setUint32(8, slotSize)
  h.set(sha256(h.subarray(0, 12)).subarray(0, 4), 12)
  return h
}

/** One slot's bytes (header + payload, not padded). */
export function encodeSlot(seq: bigint, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(SLOT_HEADER_BYTES + payload.length)
  const dv = new DataView(b.buffer)
  dv.setBigUint64(0, seq)
  dv.setUint32(8, payload.length)
  b.set(payload, SLOT_HEADER_BYTES)
  b.set(slotDigest(b.subarray(0, 12), payload), 12)
  return b
}

/**
 * SHA-256 of (sequence, length, payload) with node's native hash: a record can carry blocks of
 * hundreds of KB, which the pure-JS hash took ~1 ms per 100 KB to digest on the signing path.
 */
function slotDigest(seqLen: Uint8Array, payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(seqLen).update(payload).digest()
}

/** The slot at `b` if it is intact (length in bounds, checksum matches), else null. */
function decodeSlot(b: Uint8Array): Slot | null {
  if (b.length < SLOT_HEADER_BYTES) return null
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const len = dv.getUint32(8)
  if (len === 0 || SLOT_HEADER_BYTES + len > b.length) return null
  const payload = b.subarray(SLOT_HEADER_BYTES, SLOT_HEADER_BYTES + len)
  if (!equalBytes(slotDigest(b.subarray(0, 12), payload), b.subarray(12, SLOT_HEADER_BYTES))) return null
  return { seq: dv.getBigUint64(0), payload }
}

const isSlotFile = (b: Uint8Array): boolean =>
  b.length >= SLOT_FILE_MAGIC.length && equalBytes(b.subarray(0, SLOT_FILE_MAGIC.length), SLOT_FILE_MAGIC)

/**
 * The newest intact slot of a two-slot file and the slot size, or SIGN_STATE_CORRUPT: a bad
 * header, no intact slot, or two intact slots with one sequence and different records.
 */
export function readSlots(b: Uint8Array, path = 'sign state'): { newest: Slot; slotSize: number } {
  const corrupt = (why: string): never => {
    throw new PulseError('SIGN_STATE_CORRUPT', `cannot read ${path}: ${why}`)
  }
  if (b.length < HEADER_BYTES) return corrupt('truncated header')
  const slotSize = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(8)
  if (!equalBytes(sha256(b.subarray(0, 12)).subarray(0, 4), b.subarray(12, 16)))
    return corrupt('bad header checksum')
  if (slotSize <= SLOT_HEADER_BYTES || slotSize > MAX_SLOT_BYTES) return corrupt('bad slot size')
  const slots: Slot[] = []
  for (let i = 0; i < 2; i++) {
    const at = HEADER_BYTES + i * slotSize
    const s = decodeSlot(b.subarray(Math.min(at, b.length), Math.min(at + slotSize, b.length)))
    if (s) slots.push(s)
  }
  if (slots.length === 0) return corrupt('no intact slot (both torn or overwritten)')
  if (slots.length === 2 && slots[0].seq === slots[1].seq && !equalBytes(slots[0].payload, slots[1].payload))
    return corrupt('two different records with one sequence number')
  const newest = slots.length === 2 && slots[1].seq > slots[0].seq ? slots[1] : slots[0]
  return { newest, slotSize }
}

export class SignStateFile {
  readonly path: string
  private readonly crashAt: bigint | undefined
  /** The open two-slot file, once known (after load or the first save). */
  private file: { fd: number; slotSize: number; seq: bigint } | undefined
  /** Durable writes done (fdatasync or, for create/grow/migrate, fsync + rename + dir fsync). */
  readonly writes = { inPlace: 0, atomic: 0 }

  constructor(path: string) {
    this.path = path
    const c = process.env[CRASH_ENV]
    this.crashAt = c && /^\d+$/.test(c) ? BigInt(c) : undefined
    mkdirSync(dirname(path), { recursive: true })
  }

  /** The last persisted record, or null if this validator never signed on this network. */
  load(): SignState | null {
    return this.loadWithBlocks().state
  }

  /**
   * The last persisted record and the blocks saved with it (see save), or a null state if this
   * validator never signed on this network.
   */
  loadWithBlocks(): { state: SignState | null; blocks: Uint8Array[] } {
    this.close()
    let b: Uint8Array
    try {
      b = readFileSync(this.path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: null, blocks: [] }
      throw e
    }
    if (isSlotFile(b)) {
      const { newest, slotSize } = readSlots(b, this.path)
      const { json, blocks } = this.splitPayload(newest.payload)
      const state = this.decode(this.utf8(json))
      this.file = { fd: openSync(this.path, 'r+'), slotSize, seq: newest.seq }
      return { state, blocks: blocks.map((x) => new Uint8Array(x)) }
    }
    // The older format: the JSON text alone (converted on the next save).
    return { state: this.decode(this.utf8(b)), blocks: [] }
  }

  /**
   * Writes `s` durably; returns only once it is on disk. `blocks`: the encoded blocks `s` names (its
   * lock, its proposal), kept with it; dropped if the record would outgrow the largest slot (the
   * SignState itself must always be written).
   */
  save(s: SignState, blocks: Uint8Array[] = []): void {
    const json = enc.encode(encodeSignState(s))
    let payload = json
    const size = blocks.reduce((n, x) => n + 4 + x.length, 5 + json.length)
    if (blocks.length > 0 && SLOT_HEADER_BYTES + size <= MAX_SLOT_BYTES) {
      payload = new Uint8Array(size)
      const dv = new DataView(payload.buffer)
      payload[0] = WITH_BLOCKS
      dv.setUint32(1, json.length)
      payload.set(json, 5)
      let at = 5 + json.length
      for (const x of blocks) {
        dv.setUint32(at, x.length)
        payload.set(x, at + 4)
        at += 4 + x.length
      }
    }
    if (!this.file) this.openExisting()
    const f = this.file
    if (f && SLOT_HEADER_BYTES + payload.length <= f.slotSize) {
      const seq = f.seq + 1n
      const slot = encodeSlot(seq, payload)
      const at = HEADER_BYTES + Number(seq % 2n) * f.slotSize
      let off = 0
      while (off < slot.length) off += writeSync(f.fd, slot, off, slot.length - off, at + off)
      fdatasyncSync(f.fd)
      f.seq = seq
      this.writes.inPlace++
    } else {
      this.create(payload, f)
    }
    if (this.crashAt !== undefined && s.height === this.crashAt && s.vote !== null) {
      process.kill(process.pid, 'SIGKILL')
    }
  }

  /** Closes the file descriptor (a later save or load reopens it). */
  close(): void {
    if (this.file) closeSync(this.file.fd)
    this.file = undefined
  }

  /** Picks up a two-slot file written earlier without a load (so its sequence continues). */
  private openExisting(): void {
    let b: Uint8Array
    try {
      b = readFileSync(this.path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw e
    }
    if (!isSlotFile(b)) return
    const { newest, slotSize } = readSlots(b, this.path)
    this.file = { fd: openSync(this.path, 'r+'), slotSize, seq: newest.seq }
  }

  /**
   * A fresh two-slot file holding `payload` in slot 0 (slot 1 zero, i.e. torn), swapped in
   * atomically: used to create, to grow the slots, and to convert a file of the older format.
   */
  private create(payload: Uint8Array, prev: { fd: number; slotSize: number; seq: bigint } | undefined): void {
    let slotSize = Math.max(DEFAULT_SLOT_BYTES, prev?.slotSize ?? 0)
    while (SLOT_HEADER_BYTES + payload.length > slotSize) slotSize *= 2
    if (slotSize > MAX_SLOT_BYTES) throw new PulseError('SIGN_STATE_TOO_LARGE', 'sign state record too large')
    // Sequence even so the record sits in slot 0; above the previous one so it is the newest.
    const seq = prev ? prev.seq + 2n - (prev.seq % 2n) : 0n
    const image = new Uint8Array(HEADER_BYTES + 2 * slotSize)
    image.set(headerBytes(slotSize), 0)
    image.set(encodeSlot(seq, payload), HEADER_BYTES)
    this.close()
    writeFileAtomic(this.path, image)
    this.file = { fd: openSync(this.path, 'r+'), slotSize, seq }
    this.writes.atomic++
  }

  /** A slot payload's SignState text and the blocks stored after it. */
  private splitPayload(p: Uint8Array): { json: Uint8Array; blocks: Uint8Array[] } {
    if (p[0] !== WITH_BLOCKS) return { json: p, blocks: [] }
    const corrupt = (): never => {
      throw new PulseError('SIGN_STATE_CORRUPT', `cannot read ${this.path}: bad block record`)
    }
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength)
    const len = p.length >= 5 ? dv.getUint32(1) : -1
    if (len < 2 || 5 + len > p.length) corrupt()
    const blocks: Uint8Array[] = []
    let at = 5 + len
    while (at < p.length) {
      if (at + 4 > p.length) corrupt()
      const n = dv.getUint32(at)
      if (n === 0 || at + 4 + n > p.length) corrupt()
      blocks.push(p.subarray(at + 4, at + 4 + n))
      at += 4 + n
    }
    return { json: p.subarray(5, 5 + len), blocks }
  }

  private utf8(b: Uint8Array): string {
    try {
      return dec.decode(b)
    } catch {
      throw new PulseError('SIGN_STATE_CORRUPT', `cannot read ${this.path}: not UTF-8`)
    }
  }

  private decode(text: string): SignState {
    try {
      // The engine's own codec: it carries every field the guard and the lock need after a restart.
      return decodeSignState(text)
    } catch (e) {
      // Never guess: a validator that cannot read its guard must not sign at all.
      throw new PulseError('SIGN_STATE_CORRUPT', `cannot read ${this.path}: ${(e as Error).message}`)
    }
  }
}
