import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { toHex, utf8 } from '../src/bytes.ts'
import { PulseError } from '../src/errors.ts'
import { StateTree } from '../src/merkle/state-tree.ts'

const key = fc.integer({ min: 0, max: 30 }).map((i) => utf8(`k${i}`))
const value = fc.oneof(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ minLength: 65, maxLength: 70 }))
const op = fc.record({ del: fc.boolean(), key, value })

function isCode(code: string) {
  return (e: unknown) => e instanceof PulseError && e.code === code
}

function apply(t: StateTree, ops: { del: boolean; key: Uint8Array; value: Uint8Array }[]): void {
  for (const o of ops) {
    if (o.del) t.delete(o.key)
    else t.set(o.key, o.value)
  }
}

function contents(t: StateTree): string[] {
  return [...t.entries()].map(([k, v]) => `${toHex(k)}=${toHex(v)}`)
}

describe('StateTree snapshot / revert / release', () => {
  it('revert restores the exact root and contents (nested, as a block executor uses it)', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 20 }),
        fc.array(fc.tuple(fc.array(op, { maxLength: 6 }), fc.boolean()), { maxLength: 8 }),
        fc.boolean(),
        (base, txs, keepBlock) => {
          const t = new StateTree()
          apply(t, base)
          const rootBefore = t.root()
          const before = contents(t)
          // Expected result: the base plus only the successful txs.
          const expected = new StateTree()
          apply(expected, base)

          const block = t.snapshot()
          for (const [writes, fails] of txs) {
            const tx = t.snapshot()
            apply(t, writes)
            if (fails) t.revert(tx)
            else {
              t.release(tx)
              apply(expected, writes)
            }
            if (writes.length % 2 === 0) t.root() // hashing in between must not matter
          }
          assert.equal(t.openSnapshots, 1)
          if (keepBlock) {
            t.release(block)
            assert.equal(t.openSnapshots, 0)
            assert.deepEqual(t.root(), expected.root())
            assert.deepEqual(contents(t), contents(expected))
          } else {
            t.revert(block)
            assert.deepEqual(t.root(), rootBefore)
            assert.deepEqual(contents(t), before)
          }
          t.checkInvariants()
        },
      ),
      { numRuns: 150 },
    )
  })

  it('reverting an outer snapshot closes the inner ones; stale tokens are refused', () => {
    const t = new StateTree()
    t.set(utf8('a'), utf8('1'))
    const r0 = t.root()
    const outer = t.snapshot()
    t.set(utf8('a'), utf8('2'))
    const inner = t.snapshot()
    t.delete(utf8('a'))
    t.set(utf8('b'), utf8('3'))
    t.revert(outer)
    assert.equal(t.openSnapshots, 0)
    assert.deepEqual(t.root(), r0)
    assert.deepEqual(t.get(utf8('a')), utf8('1'))
    assert.equal(t.has(utf8('b')), false)
    assert.throws(() => t.revert(inner), isCode('STATE_UNKNOWN_SNAPSHOT'))
    assert.throws(() => t.release(outer), isCode('STATE_UNKNOWN_SNAPSHOT'))
    assert.throws(() => t.revert(12345), isCode('STATE_UNKNOWN_SNAPSHOT'))
  })

  it('writes without an open snapshot are not journaled; limits are enforced without side effects', () => {
    const t = new StateTree({ journalMaxEntries: 3, snapshotsMax: 2 })
    for (let i = 0; i < 10; i++) t.set(utf8(`k${i}`), utf8('v')) // no snapshot: no journal limit
    const s = t.snapshot()
    t.set(utf8('k0'), utf8('w'))
    t.set(utf8('k1'), utf8('w'))
    t.set(utf8('k1'), utf8('w')) // unchanged value: no write, no journal entry
    t.delete(utf8('k2'))
    const root = t.root()
    assert.throws(() => t.set(utf8('k3'), utf8('w')), isCode('STATE_JOURNAL_FULL'))
    assert.throws(() => t.delete(utf8('k3')), isCode('STATE_JOURNAL_FULL'))
    assert.deepEqual(t.root(), root)
    assert.deepEqual(t.get(utf8('k3')), utf8('v'))
    t.snapshot()
    assert.throws(() => t.snapshot(), isCode('STATE_TOO_MANY_SNAPSHOTS'))
    t.revert(s)
    for (let i = 0; i < 10; i++) assert.deepEqual(t.get(utf8(`k${i}`)), utf8('v'))
  })

  it('entries() refuses to continue after a write', () => {
    const t = new StateTree()
    for (let i = 0; i < 5; i++) t.set(utf8(`k${i}`), utf8('v'))
    assert.throws(() => {
      for (const [k] of t.entries()) t.set(k, utf8('changed'))
    }, isCode('STATE_MODIFIED_DURING_ITERATION'))
  })
})
