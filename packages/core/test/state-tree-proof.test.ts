import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { toHex, utf8 } from '../src/bytes.ts'
import { DecodeError, PulseError } from '../src/errors.ts'
import {
  decodeStateProof,
  encodeStateProof,
  STATE_PROOF_MAX_BYTES,
  type StateProof,
  verifyStateProof,
} from '../src/merkle/state-proof.ts'
import { StateTree } from '../src/merkle/state-tree.ts'

const entries = fc.uniqueArray(
  fc.tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 300 }).map((i) => utf8(`acct/${i}`)),
      fc.uint8Array({ maxLength: 5 }),
    ),
    fc.oneof(fc.uint8Array({ maxLength: 10 }), fc.uint8Array({ minLength: 64, maxLength: 80 })),
  ),
  { maxLength: 60, selector: ([k]) => toHex(k) },
)
const probe = fc.integer({ min: 0, max: 400 }).map((i) => utf8(`acct/${i}`))

function clone(p: StateProof): StateProof {
  return decodeStateProof(encodeStateProof(p))
}

function other(v: Uint8Array): Uint8Array {
  return v.length === 0 ? Uint8Array.of(0) : Uint8Array.from(v, (b, i) => (i === 0 ? b ^ 1 : b))
}

describe('state proofs', () => {
  it('every present key: membership verifies, and fails for a wrong value, null, or another key', () => {
    fc.assert(
      fc.property(entries, (es) => {
        const t = StateTree.fromEntries(es)
        const root = t.root()
        for (const [k, v] of es) {
          const p = t.prove(k)
          assert.equal(p.otherLeaf, null)
          assert.equal(verifyStateProof(root, k, v, p), true)
          assert.equal(verifyStateProof(root, k, v, clone(p)), true)
          assert.equal(verifyStateProof(root, k, other(v), p), false)
          assert.equal(verifyStateProof(root, k, null, p), false) // cannot pass as absence
          assert.equal(verifyStateProof(root, other(k), v, p), false)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('absent keys: non-membership verifies, and fails for any claimed value', () => {
    fc.assert(
      fc.property(entries, fc.array(probe, { maxLength: 20 }), (es, probes) => {
        const t = StateTree.fromEntries(es)
        const root = t.root()
        for (const k of probes) {
          if (t.has(k)) continue
          const p = t.prove(k)
          assert.equal(verifyStateProof(root, k, null, p), true)
          assert.equal(verifyStateProof(root, k, null, clone(p)), true)
          assert.equal(verifyStateProof(root, k, new Uint8Array(0), p), false)
          assert.equal(verifyStateProof(root, k, utf8('x'), p), false)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('a present key has no valid absence proof: proofs of absent neighbours do not transfer', () => {
    fc.assert(
      fc.property(
        entries.filter((es) => es.length > 0),
        fc.array(probe, { maxLength: 10 }),
        (es, probes) => {
          const t = StateTree.fromEntries(es)
          const root = t.root()
          const absentProofs = probes.filter((k) => !t.has(k)).map((k) => t.prove(k))
          for (const [k, v] of es) {
            for (const p of absentProofs) {
              assert.equal(verifyStateProof(root, k, null, p), false)
              assert.equal(verifyStateProof(root, k, v, p), false)
            }
            // Forge: turn the membership path into an "empty slot" claim by clearing the key's bit.
            const m = t.prove(k)
            if (m.levels.length > 0) {
              const last = m.levels[m.levels.length - 1]
              for (let bit = 0; bit < 16; bit++) {
                const forged = clone(m)
                forged.levels[forged.levels.length - 1].bitmap = last.bitmap & ~(1 << bit)
                if (forged.levels[forged.levels.length - 1].bitmap === 0) continue
                assert.equal(verifyStateProof(root, k, null, forged), false)
              }
            }
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('proofs stay valid on incrementally edited trees (deletes, reverts, reused node slots)', () => {
    const op = fc.record({
      del: fc.boolean(),
      k: fc.integer({ min: 0, max: 60 }),
      v: fc.uint8Array({ maxLength: 70 }),
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(op, { maxLength: 20 }), (ops, undone) => {
        const t = new StateTree()
        const apply = (o: { del: boolean; k: number; v: Uint8Array }) => {
          if (o.del) t.delete(utf8(`acct/${o.k}`))
          else t.set(utf8(`acct/${o.k}`), o.v)
        }
        ops.forEach((o, i) => {
          apply(o)
          if (i % 7 === 0) t.root()
        })
        const s = t.snapshot()
        for (const o of undone) apply(o)
        t.root()
        t.revert(s)
        const root = t.root()
        for (let i = 0; i <= 60; i++) {
          const k = utf8(`acct/${i}`)
          const v = t.get(k) ?? null
          assert.equal(verifyStateProof(root, k, v, t.prove(k)), true)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('edge shapes: empty tree, single-leaf root, stale root', () => {
    const t = new StateTree()
    const k = utf8('only')
    assert.equal(verifyStateProof(t.root(), k, null, t.prove(k)), true)
    assert.equal(verifyStateProof(t.root(), k, utf8('v'), t.prove(k)), false)
    t.set(k, utf8('v'))
    const r1 = t.root()
    assert.deepEqual(t.prove(k), { levels: [], otherLeaf: null })
    assert.equal(verifyStateProof(r1, k, utf8('v'), t.prove(k)), true)
    const absent = t.prove(utf8('nope'))
    assert.equal(absent.levels.length, 0)
    assert.notEqual(absent.otherLeaf, null)
    assert.equal(verifyStateProof(r1, utf8('nope'), null, absent), true)
    t.set(k, utf8('w'))
    assert.equal(verifyStateProof(r1, k, utf8('w'), t.prove(k)), false) // old root
    assert.equal(verifyStateProof(t.root(), k, utf8('w'), t.prove(k)), true)
  })

  it('tampered encodings are rejected: a decode error or a failed verification', () => {
    const es: [Uint8Array, Uint8Array][] = []
    for (let i = 0; i < 300; i++)
      es.push([utf8(`acct/${i}`), i % 3 === 0 ? new Uint8Array(70).fill(i) : utf8(`${i}`)])
    const t = StateTree.fromEntries(es)
    const root = t.root()
    const cases: [Uint8Array, Uint8Array | null][] = [
      [utf8('acct/5'), utf8('5')],
      [utf8('acct/6'), new Uint8Array(70).fill(6)],
      [utf8('acct/1000'), null],
      [utf8('acct/1001'), null],
    ]
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (c, pos, x) => {
        const [k, v] = cases[c]
        const bytes = encodeStateProof(t.prove(k))
        assert.equal(verifyStateProof(root, k, v, decodeStateProof(bytes)), true)
        const bad = bytes.slice()
        bad[pos % bad.length] ^= x
        let p: StateProof
        try {
          p = decodeStateProof(bad)
        } catch (e) {
          assert.ok(e instanceof DecodeError)
          return
        }
        assert.equal(verifyStateProof(root, k, v, p), false)
      }),
      { numRuns: 400 },
    )
  })

  it('verifyStateProof never throws on arbitrary input', () => {
    const t = StateTree.fromEntries([
      [utf8('a'), utf8('1')],
      [utf8('b'), utf8('2')],
    ])
    const root = t.root()
    const good = t.prove(utf8('a'))
    const level = fc.record({
      bitmap: fc.oneof(fc.integer({ min: -2, max: 0x10001 }), fc.double(), fc.constant(undefined)),
      siblings: fc.oneof(
        fc.array(fc.oneof(fc.uint8Array({ minLength: 31, maxLength: 33 }), fc.anything()), { maxLength: 17 }),
        fc.anything(),
      ),
    })
    const proof = fc.oneof(
      fc.anything(),
      fc.record({
        levels: fc.oneof(fc.array(level, { maxLength: 66 }), fc.anything()),
        otherLeaf: fc.oneof(
          fc.constant(null),
          fc.anything(),
          fc.record({
            keyPath: fc.uint8Array({ minLength: 31, maxLength: 33 }),
            inline: fc.anything(),
            data: fc.uint8Array({ maxLength: 70 }),
          }),
        ),
      }),
    )
    fc.assert(
      fc.property(
        proof,
        fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 3 }), fc.anything()),
        (p, v) => {
          const r = verifyStateProof(root, utf8('a'), v as Uint8Array | null, p as StateProof)
          assert.equal(r, false)
        },
      ),
      { numRuns: 500 },
    )
    // Wrong-typed top-level arguments.
    assert.equal(verifyStateProof(root.subarray(1), utf8('a'), utf8('1'), good), false)
    assert.equal(verifyStateProof(root, 'a' as unknown as Uint8Array, utf8('1'), good), false)
    assert.equal(verifyStateProof(root, new Uint8Array(257), null, good), false)
    assert.equal(verifyStateProof(root, utf8('a'), new Uint8Array(65537), good), false)
    assert.equal(verifyStateProof(root, utf8('a'), utf8('1'), good), true)
  })
})

describe('state proof encoding', () => {
  it('round-trips and stays under the size limit', () => {
    fc.assert(
      fc.property(entries, fc.array(probe, { maxLength: 5 }), (es, probes) => {
        const t = StateTree.fromEntries(es)
        for (const k of [...es.map(([k]) => k), ...probes]) {
          const p = t.prove(k)
          const bytes = encodeStateProof(p)
          assert.ok(bytes.length <= STATE_PROOF_MAX_BYTES)
          assert.deepEqual(decodeStateProof(bytes), p)
        }
      }),
      { numRuns: 40 },
    )
  })

  it('decode: typed errors for every malformed input, DecodeError only', () => {
    const code = (b: Uint8Array, c: string) =>
      assert.throws(
        () => decodeStateProof(b),
        (e) => e instanceof DecodeError && e.code === c,
      )
    code(new Uint8Array(0), 'DECODE_ERROR')
    code(Uint8Array.of(2, 0, 0), 'DECODE_ERROR') // version
    code(Uint8Array.of(1, 4, 0), 'DECODE_NON_CANONICAL') // unknown flag
    code(Uint8Array.of(1, 2, 0), 'DECODE_NON_CANONICAL') // inline without leaf
    code(Uint8Array.of(1, 0, 65), 'DECODE_ERROR') // too many levels
    code(Uint8Array.of(1, 0, 1, 0, 0, 0), 'DECODE_ERROR') // empty bitmap
    code(Uint8Array.of(1, 0, 1, 0, 1, 2), 'DECODE_ERROR') // more siblings than bits
    code(Uint8Array.of(1, 0, 1, 0, 3, 1), 'DECODE_ERROR') // truncated sibling
    code(Uint8Array.of(1, 0, 0, 9), 'DECODE_NON_CANONICAL') // trailing
    code(Uint8Array.from([1, 1, 0, ...new Uint8Array(32), 31, ...new Uint8Array(31)]), 'DECODE_ERROR') // hashed != 32
    code(Uint8Array.from([1, 3, 0, ...new Uint8Array(32), 65, ...new Uint8Array(65)]), 'DECODE_ERROR') // inline > 64
    code(new Uint8Array(STATE_PROOF_MAX_BYTES + 1), 'DECODE_TOO_LARGE')
    assert.throws(
      () => decodeStateProof('x' as unknown as Uint8Array),
      (e) => e instanceof DecodeError,
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const bytes =
          b.length > 0 ? Uint8Array.from([1, b[0] & 3, b.length > 1 ? b[1] % 4 : 0, ...b.subarray(2)]) : b
        try {
          const p = decodeStateProof(bytes)
          assert.deepEqual(encodeStateProof(p), bytes) // canonical: one encoding per proof
        } catch (e) {
          assert.ok(e instanceof DecodeError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('encode refuses malformed proofs', () => {
    const bad = (p: unknown) =>
      assert.throws(
        () => encodeStateProof(p as StateProof),
        (e) => e instanceof PulseError && e.code === 'STATE_PROOF_INVALID',
      )
    bad(null)
    bad({ levels: [{ bitmap: 0, siblings: [] }], otherLeaf: null })
    bad({ levels: [{ bitmap: 1, siblings: [new Uint8Array(31)] }], otherLeaf: null })
    bad({ levels: [], otherLeaf: { keyPath: new Uint8Array(32), inline: false, data: new Uint8Array(5) } })
  })
})
