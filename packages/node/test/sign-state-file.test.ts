/**
 * The two-slot sign-state file: one in-place write per save, a torn or corrupt slot falls back to
 * the other, no intact slot (or an ambiguous pair) is a typed error, and the older JSON format is
 * read and converted.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { encodeSignState, type SignState } from '@pulsemesh/consensus'
import { isPulseError } from '@pulsemesh/core'
import {
  DEFAULT_SLOT_BYTES,
  encodeSlot,
  HEADER_BYTES,
  SignStateFile,
  SLOT_HEADER_BYTES,
} from '../src/consensus/sign-state-file.ts'

const dir = mkdtempSync(join(tmpdir(), 'pm-signstate-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => join(dir, `ss-${n++}.json`)

const state = (height: bigint, round = 0, step: 2 | 3 = 2, ext = 0): SignState => ({
  height,
  round,
  step,
  proposal: null,
  vote: {
    type: step === 3 ? 2 : 1,
    height,
    round,
    blockHash: new Uint8Array(32).fill(Number(height % 250n) + 1),
    timestampMs: 1000n + height,
    validatorIndex: 1,
    extension: new Uint8Array(ext).fill(9),
  },
  lockedRound: -1,
  lockedBlockHash: null,
})

const isCorrupt = (e: unknown) => isPulseError(e) && e.code === 'SIGN_STATE_CORRUPT'
const slotAt = (i: number, slotSize = DEFAULT_SLOT_BYTES) => HEADER_BYTES + i * slotSize

test('saves alternate slots in place (one atomic create, then in-place writes); load takes the newest', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  assert.equal(f.load(), null)
  for (let h = 1n; h <= 5n; h++) f.save(state(h))
  assert.deepEqual(f.writes, { atomic: 1, inPlace: 4 })
  assert.equal(statSync(path).size, HEADER_BYTES + 2 * DEFAULT_SLOT_BYTES)
  const back = new SignStateFile(path).load()!
  assert.equal(back.height, 5n)
  assert.equal(back.vote!.height, 5n)
  // A second instance continues the sequence (save without load first).
  const g = new SignStateFile(path)
  g.save(state(6n))
  assert.equal(new SignStateFile(path).load()!.height, 6n)
  f.close()
  g.close()
})

test('a torn or corrupt newest slot falls back to the previous record', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  f.save(state(1n)) // seq 0, slot 0
  f.save(state(2n)) // seq 1, slot 1
  f.close()
  const good = readFileSync(path)
  // Torn: the newest slot's payload half written (its tail zero).
  const torn = Uint8Array.from(good)
  torn.fill(0, slotAt(1) + SLOT_HEADER_BYTES + 20, slotAt(2))
  writeFileSync(path, torn)
  assert.equal(new SignStateFile(path).load()!.height, 1n)
  // Corrupt: one flipped bit in the newest slot's sequence.
  const flipped = Uint8Array.from(good)
  flipped[slotAt(1) + 7] ^= 1
  writeFileSync(path, flipped)
  assert.equal(new SignStateFile(path).load()!.height, 1n)
  // File cut short inside slot 1.
  writeFileSync(path, good.subarray(0, slotAt(1) + 30))
  assert.equal(new SignStateFile(path).load()!.height, 1n)
  // After falling back, the next save overwrites the broken slot, not the good one.
  writeFileSync(path, torn)
  const g = new SignStateFile(path)
  assert.equal(g.load()!.height, 1n)
  g.save(state(3n))
  g.close()
  assert.equal(new SignStateFile(path).load()!.height, 3n)
})

test('both slots intact: the higher sequence wins, whichever slot it is in', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  for (let h = 1n; h <= 4n; h++) f.save(state(h)) // seq 3 in slot 1, seq 2 in slot 0
  f.close()
  assert.equal(new SignStateFile(path).load()!.height, 4n)
  // Put a newer record (seq 10) into slot 0 by hand: it wins over slot 1.
  const b = Uint8Array.from(readFileSync(path))
  b.fill(0, slotAt(0), slotAt(1))
  b.set(encodeSlot(10n, new TextEncoder().encode(encodeSignState(state(9n)))), slotAt(0))
  writeFileSync(path, b)
  assert.equal(new SignStateFile(path).load()!.height, 9n)
})

test('neither slot intact, a bad header or an ambiguous pair: SIGN_STATE_CORRUPT, never an empty guard', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  f.save(state(1n))
  f.save(state(2n))
  f.close()
  const good = readFileSync(path)
  const both = Uint8Array.from(good)
  both[slotAt(0) + SLOT_HEADER_BYTES + 3] ^= 0x20
  both[slotAt(1) + SLOT_HEADER_BYTES + 3] ^= 0x20
  writeFileSync(path, both)
  assert.throws(() => new SignStateFile(path).load(), isCorrupt)
  // A save must not paper over it either (it would restart the sequence below what was signed).
  assert.throws(() => new SignStateFile(path).save(state(3n)), isCorrupt)
  assert.deepEqual(readFileSync(path), Buffer.from(both), 'file untouched by the refused save')

  const header = Uint8Array.from(good)
  header[9] ^= 1 // slot size changed: header checksum fails
  writeFileSync(path, header)
  assert.throws(() => new SignStateFile(path).load(), isCorrupt)

  writeFileSync(path, good.subarray(0, 10))
  assert.throws(() => new SignStateFile(path).load(), isCorrupt)

  // Two intact slots with one sequence number and different records: ambiguous.
  const amb = Uint8Array.from(good)
  amb.fill(0, slotAt(0), slotAt(2))
  amb.set(encodeSlot(4n, new TextEncoder().encode(encodeSignState(state(7n)))), slotAt(0))
  amb.set(encodeSlot(4n, new TextEncoder().encode(encodeSignState(state(8n)))), slotAt(1))
  writeFileSync(path, amb)
  assert.throws(() => new SignStateFile(path).load(), isCorrupt)

  // Intact checksum over a record the engine's codec refuses.
  const junk = Uint8Array.from(good)
  junk.fill(0, slotAt(0), slotAt(2))
  junk.set(encodeSlot(5n, new TextEncoder().encode('{"v":1}')), slotAt(0))
  writeFileSync(path, junk)
  assert.throws(() => new SignStateFile(path).load(), isCorrupt)
})

test('the older format (JSON text) is read, converted atomically on the next save, corrupt JSON refused', () => {
  const path = fresh()
  writeFileSync(path, encodeSignState(state(41n, 1, 3)))
  const f = new SignStateFile(path)
  const old = f.load()!
  assert.equal(old.height, 41n)
  assert.equal(old.round, 1)
  f.save(state(42n))
  assert.deepEqual(f.writes, { atomic: 1, inPlace: 0 })
  f.save(state(43n))
  assert.deepEqual(f.writes, { atomic: 1, inPlace: 1 })
  f.close()
  assert.equal(readFileSync(path).subarray(0, 7).toString('latin1'), 'PMSIGN2')
  assert.equal(new SignStateFile(path).load()!.height, 43n)

  const bad = fresh()
  writeFileSync(bad, '{"height": 1')
  assert.throws(() => new SignStateFile(bad).load(), isCorrupt)
  writeFileSync(bad, new Uint8Array([0xff, 0xfe, 0x00]))
  assert.throws(() => new SignStateFile(bad).load(), isCorrupt)
})

test('a record larger than the slot grows the file (atomically) and later saves stay in place', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  f.save(state(1n))
  f.save(state(2n, 0, 3, 3000)) // a 3,000-byte extension: ~6 KB of hex, over a 4 KiB slot
  assert.deepEqual(f.writes, { atomic: 2, inPlace: 0 })
  assert.equal(statSync(path).size, HEADER_BYTES + 2 * 2 * DEFAULT_SLOT_BYTES)
  f.save(state(3n))
  assert.deepEqual(f.writes, { atomic: 2, inPlace: 1 })
  f.close()
  const back = new SignStateFile(path).load()!
  assert.equal(back.height, 3n)
})

const locked = (height: bigint, fill: number): SignState => ({
  ...state(height, 0, 3),
  lockedRound: 0,
  lockedBlockHash: new Uint8Array(32).fill(fill),
})

test('the blocks a record names are saved in its slot and read back with it', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  const block = new Uint8Array(10_000).map((_, i) => i % 251)
  const other = new Uint8Array(300).fill(7)
  f.save(locked(7n, 1), [block, other]) // outgrows the default slot: one atomic grow
  const inPlace = f.writes.inPlace
  f.save(locked(7n, 1), [block])
  assert.equal(f.writes.inPlace, inPlace + 1, 'then saved in place, one fdatasync')
  const back = new SignStateFile(path).loadWithBlocks()
  assert.equal(back.state?.height, 7n)
  assert.deepEqual(back.blocks, [block])
  f.save(locked(7n, 1), [block, other])
  assert.deepEqual(new SignStateFile(path).loadWithBlocks().blocks, [block, other])
  // A later record without blocks reads back with none.
  f.save(state(8n))
  const next = new SignStateFile(path).loadWithBlocks()
  assert.equal(next.state?.height, 8n)
  assert.deepEqual(next.blocks, [])
})

test('records of the older formats load with no blocks', () => {
  const old = fresh()
  writeFileSync(old, encodeSignState(locked(4n, 3)))
  assert.deepEqual(new SignStateFile(old).loadWithBlocks().blocks, [])
  const path = fresh()
  new SignStateFile(path).save(locked(3n, 2))
  const back = new SignStateFile(path).loadWithBlocks()
  assert.equal(back.state?.lockedRound, 0)
  assert.deepEqual(back.blocks, [])
})

test('a block record with a bad JSON or block length is SIGN_STATE_CORRUPT', () => {
  const path = fresh()
  const f = new SignStateFile(path)
  f.save(state(1n))
  const json = new TextEncoder().encode(encodeSignState(locked(2n, 4)))
  // [JSON length field, block length field] (the block part holds 3 bytes).
  for (const [len, blockLen] of [
    [json.length + 10, 3],
    [0, 3],
    [1, 3],
    [json.length, 0],
    [json.length, 4],
    [json.length, 2],
  ]) {
    const payload = new Uint8Array(5 + json.length + 4 + 3)
    const dv = new DataView(payload.buffer)
    payload[0] = 0x01
    dv.setUint32(1, len)
    payload.set(json, 5)
    dv.setUint32(5 + json.length, blockLen)
    const image = readFileSync(path)
    image.fill(0, slotAt(0), slotAt(2))
    image.set(encodeSlot(5n, payload), slotAt(1))
    writeFileSync(path, image)
    assert.throws(() => new SignStateFile(path).loadWithBlocks(), isCorrupt, `lengths ${len}, ${blockLen}`)
  }
})
