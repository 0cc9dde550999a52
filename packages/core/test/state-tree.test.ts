import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { compareBytes, concatBytes, toHex, utf8 } from '../src/bytes.ts'
import { sha256 } from '../src/crypto/index.ts'
import { PulseError } from '../src/errors.ts'
import { STATE_KEY_MAX_BYTES, STATE_VALUE_MAX_BYTES } from '../src/merkle/state-hashing.ts'
import { StateTree } from '../src/merkle/state-tree.ts'

// ---- an independent reference: the root straight from the spec in state-hashing.ts ----

type PathFn = (key: Uint8Array) => Uint8Array

function refLeaf(path: Uint8Array, value: Uint8Array): Uint8Array {
  return value.length <= 64
    ? sha256(concatBytes(Uint8Array.of(2), path, value))
    : sha256(concatBytes(Uint8Array.of(0), path, sha256(value)))
}

function nib(path: Uint8Array, d: number): number {
  return d % 2 === 0 ? path[d >> 1] >> 4 : path[d >> 1] & 15
}

function refSubtree(items: { path: Uint8Array; value: Uint8Array }[], depth: number): Uint8Array {
  if (items.length === 1) return refLeaf(items[0].path, items[0].value)
  const groups: { path: Uint8Array; value: Uint8Array }[][] = Array.from({ length: 16 }, () => [])
  for (const it of items) groups[nib(it.path, depth)].push(it)
  let bitmap = 0
  const hashes: Uint8Array[] = []
  for (let i = 0; i < 16; i++) {
    if (groups[i].length === 0) continue
    bitmap |= 1 << i
    hashes.push(refSubtree(groups[i], depth + 1))
  }
  return sha256(concatBytes(Uint8Array.of(1, bitmap >> 8, bitmap & 0xff), ...hashes))
}

function refRoot(model: Map<string, [Uint8Array, Uint8Array]>, pathOf: PathFn = sha256): Uint8Array {
  if (model.size === 0) return new Uint8Array(32)
  return refSubtree(
    [...model.values()].map(([k, v]) => ({ path: pathOf(k), value: v })),
    0,
  )
}

// ---- generators ----

const key = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((i) => utf8(`acct/${i}`)),
  fc.uint8Array({ maxLength: 6 }),
)
// Values on both sides of the 64-byte inline limit.
const value = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 60, maxLength: 90 }))
const op = fc.record({ del: fc.boolean(), key, value })

function isCode(code: string) {
  return (e: unknown) => e instanceof PulseError && e.code === code
}

describe('StateTree basics', () => {
  it('empty tree: zero root, nothing stored', () => {
    const t = new StateTree()
    assert.equal(toHex(t.root()), '00'.repeat(32))
    assert.equal(t.size, 0)
    assert.equal(t.get(utf8('a')), undefined)
    assert.equal(t.has(utf8('a')), false)
    assert.equal(t.delete(utf8('a')), false)
    assert.deepEqual([...t.entries()], [])
  })

  it('one key: the root is its leaf (inline and hashed forms, as documented)', () => {
    const t = new StateTree()
    const k = utf8('alice')
    const small = utf8('balance=10')
    t.set(k, small)
    assert.deepEqual(t.root(), sha256(concatBytes(Uint8Array.of(0x02), sha256(k), small)))
    const big = new Uint8Array(65).fill(7)
    t.set(k, big)
    assert.deepEqual(t.root(), sha256(concatBytes(Uint8Array.of(0x00), sha256(k), sha256(big))))
    const edge = new Uint8Array(64).fill(9)
    t.set(k, edge)
    assert.deepEqual(t.root(), sha256(concatBytes(Uint8Array.of(0x02), sha256(k), edge)))
    assert.deepEqual(t.get(k), edge)
    assert.equal(t.size, 1)
  })

  it('two keys: one internal node over both leaves, as documented', () => {
    const t = new StateTree()
    // Pick two keys whose paths differ in the first nibble.
    const a = utf8('a')
    let b = utf8('b')
    for (let i = 0; nib(sha256(a), 0) === nib(sha256(b), 0); i++) b = utf8(`b${i}`)
    t.set(a, utf8('1'))
    t.set(b, utf8('2'))
    const [na, nb] = [nib(sha256(a), 0), nib(sha256(b), 0)]
    const bitmap = (1 << na) | (1 << nb)
    const [first, second] =
      na < nb
        ? [
            [a, '1'],
            [b, '2'],
          ]
        : [
            [b, '2'],
            [a, '1'],
          ]
    const expected = sha256(
      concatBytes(
        Uint8Array.of(0x01, bitmap >> 8, bitmap & 0xff),
        refLeaf(sha256(first[0] as Uint8Array), utf8(first[1] as string)),
        refLeaf(sha256(second[0] as Uint8Array), utf8(second[1] as string)),
      ),
    )
    assert.deepEqual(t.root(), expected)
  })

  it('stores copies: caller buffers can be reused', () => {
    const t = new StateTree()
    const k = utf8('k')
    const v = utf8('value')
    t.set(k, v)
    const root = t.root()
    v[0] = 0
    k[0] = 0
    assert.deepEqual(t.get(utf8('k')), utf8('value'))
    const got = t.get(utf8('k'))!
    got[0] = 0
    assert.deepEqual(t.get(utf8('k')), utf8('value'))
    assert.deepEqual(t.root(), root)
  })

  it('same-length overwrites (stored in place) keep earlier copies and snapshots intact', () => {
    const t = new StateTree()
    const k = utf8('acct')
    t.set(k, utf8('aaaa'))
    const first = t.get(k)!
    t.set(k, utf8('bbbb')) // no snapshot open: overwritten in place
    assert.deepEqual(first, utf8('aaaa'))
    const s = t.snapshot()
    t.set(k, utf8('cccc')) // journaled: the old bytes must survive for revert
    t.set(k, utf8('dddd'))
    t.revert(s)
    assert.deepEqual(t.get(k), utf8('bbbb'))
    const expected = new StateTree()
    expected.set(k, utf8('bbbb'))
    assert.deepEqual(t.root(), expected.root())
  })

  it('hash / hashInto options give the same roots as the default backend', () => {
    const viaHash = new StateTree({ hash: sha256 })
    const viaInto = new StateTree({ hashInto: (d, out, off) => out.set(sha256(d), off) })
    const plain = new StateTree()
    for (let i = 0; i < 200; i++) {
      for (const t of [viaHash, viaInto, plain]) t.set(utf8(`k${i}`), new Uint8Array(i % 100).fill(i))
    }
    assert.deepEqual(viaHash.root(), plain.root())
    assert.deepEqual(viaInto.root(), plain.root())
    const bad = new StateTree({ hash: () => new Uint8Array(31) })
    assert.throws(() => bad.set(utf8('k'), utf8('v')), isCode('STATE_BAD_HASH'))
    assert.equal(bad.size, 0)
    assert.throws(
      () => new StateTree({ hash: 5 as unknown as () => Uint8Array }),
      isCode('STATE_INVALID_ARGUMENT'),
    )
  })

  it('copies Node Buffers instead of sharing them (Buffer#slice is a view)', () => {
    const t = new StateTree()
    const v = Buffer.from('value-1')
    t.set(Buffer.from('k'), v)
    const root = t.root()
    t.set(Buffer.from('k'), Buffer.from('value-2')) // same length: overwritten in place
    v.fill(0)
    assert.deepEqual(t.get(utf8('k')), utf8('value-2'))
    t.set(utf8('k'), utf8('value-1'))
    assert.deepEqual(t.root(), root)
    const built = StateTree.fromEntries([[Buffer.from('k'), v]])
    v.fill(1)
    assert.deepEqual(built.get(utf8('k')), new Uint8Array(7))
  })

  it('distinguishes an empty value from absence, and the empty key is a key', () => {
    const t = new StateTree()
    t.set(new Uint8Array(0), new Uint8Array(0))
    assert.equal(t.has(new Uint8Array(0)), true)
    assert.deepEqual(t.get(new Uint8Array(0)), new Uint8Array(0))
    assert.notDeepEqual(t.root(), new Uint8Array(32))
  })

  it('by key string (one char per byte): same state and roots as by bytes; returns the old length', () => {
    const a = new StateTree()
    const b = new StateTree()
    const ks = (k: Uint8Array) => String.fromCharCode(...k)
    const keys = Array.from({ length: 40 }, (_, i) => utf8(`key-${i}`))
    for (const [i, k] of keys.entries()) {
      a.set(k, utf8(`v${i}`))
      assert.equal(b.setByKeyString(ks(k), utf8(`v${i}`)), -1)
    }
    assert.equal(toHex(a.root()), toHex(b.root()))
    assert.equal(b.setByKeyString(ks(keys[3]), utf8('longer value')), 2)
    a.set(keys[3], utf8('longer value'))
    assert.equal(b.deleteByKeyString(ks(keys[5])), 2)
    assert.equal(b.deleteByKeyString(ks(keys[5])), -1)
    a.delete(keys[5])
    assert.equal(toHex(a.root()), toHex(b.root()))
    assert.equal(toHex(b.getByKeyString(ks(keys[3]))!), toHex(utf8('longer value')))
    assert.equal(b.getByKeyString(ks(keys[5])), undefined)
    assert.throws(() => b.setByKeyString('x'.repeat(STATE_KEY_MAX_BYTES + 1), utf8('v')), PulseError)
  })

  it('enforces key/value limits with typed errors and leaves the state untouched', () => {
    const t = new StateTree()
    t.set(utf8('x'), utf8('y'))
    const root = t.root()
    t.set(new Uint8Array(STATE_KEY_MAX_BYTES), new Uint8Array(STATE_VALUE_MAX_BYTES)) // limits are inclusive
    t.delete(new Uint8Array(STATE_KEY_MAX_BYTES))
    assert.throws(
      () => t.set(new Uint8Array(STATE_KEY_MAX_BYTES + 1), utf8('v')),
      isCode('STATE_KEY_TOO_LARGE'),
    )
    assert.throws(
      () => t.set(utf8('k'), new Uint8Array(STATE_VALUE_MAX_BYTES + 1)),
      isCode('STATE_VALUE_TOO_LARGE'),
    )
    assert.throws(() => t.get(new Uint8Array(STATE_KEY_MAX_BYTES + 1)), isCode('STATE_KEY_TOO_LARGE'))
    assert.throws(() => t.prove(new Uint8Array(STATE_KEY_MAX_BYTES + 1)), isCode('STATE_KEY_TOO_LARGE'))
    assert.throws(() => t.set('k' as unknown as Uint8Array, utf8('v')), isCode('STATE_INVALID_ARGUMENT'))
    assert.throws(() => t.set(utf8('k'), [1] as unknown as Uint8Array), isCode('STATE_INVALID_ARGUMENT'))
    assert.throws(() => new StateTree({ journalMaxEntries: -1 }), isCode('STATE_INVALID_ARGUMENT'))
    assert.equal(t.size, 1)
    assert.deepEqual(t.root(), root)
    t.checkInvariants()
  })
})

describe('StateTree against the reference model', () => {
  it('random set/delete sequences: root, size, get, entries and invariants match a plain Map', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (ops, rootEvery) => {
        const t = new StateTree()
        const model = new Map<string, [Uint8Array, Uint8Array]>()
        ops.forEach((o, i) => {
          if (o.del) {
            assert.equal(t.delete(o.key), model.delete(toHex(o.key)))
          } else {
            t.set(o.key, o.value)
            model.set(toHex(o.key), [o.key, o.value])
          }
          if (i % rootEvery === 0) t.root() // interleave root() calls: lazy hashing must not matter
        })
        t.checkInvariants()
        assert.deepEqual(t.root(), refRoot(model))
        assert.equal(t.size, model.size)
        for (const [k, v] of model.values()) assert.deepEqual(t.get(k), v)
        const expected = [...model.values()].sort((x, y) => compareBytes(sha256(x[0]), sha256(y[0])))
        assert.deepEqual([...t.entries()], expected)
      }),
      { numRuns: 150 },
    )
  })

  it('the root does not depend on insertion order', () => {
    const entries = fc.uniqueArray(fc.tuple(key, value), { maxLength: 40, selector: ([k]) => toHex(k) })
    fc.assert(
      fc.property(entries, fc.integer(), (es, seed) => {
        const a = new StateTree()
        for (const [k, v] of es) a.set(k, v)
        // A deterministic shuffle from the seed.
        const shuffled = es.map((e, i) => [((seed ^ (i * 2654435761)) >>> 0) % 1000003, e] as const)
        shuffled.sort((x, y) => x[0] - y[0])
        const b = new StateTree()
        for (const [, [k, v]] of shuffled) b.set(k, v)
        assert.deepEqual(a.root(), b.root())
        assert.deepEqual(StateTree.fromEntries(es).root(), a.root())
      }),
      { numRuns: 100 },
    )
  })

  it('deleting keys gives the root of a tree built without them', () => {
    const entries = fc.uniqueArray(fc.tuple(key, value, fc.boolean()), {
      maxLength: 50,
      selector: ([k]) => toHex(k),
    })
    fc.assert(
      fc.property(entries, (es) => {
        const full = new StateTree()
        for (const [k, v] of es) full.set(k, v)
        full.root()
        for (const [k, , drop] of es) if (drop) assert.equal(full.delete(k), true)
        const kept = new StateTree()
        for (const [k, v, drop] of es) if (!drop) kept.set(k, v)
        full.checkInvariants()
        assert.deepEqual(full.root(), kept.root())
      }),
      { numRuns: 100 },
    )
  })

  it('fromEntries equals incremental building and rejects duplicates', () => {
    const es: [Uint8Array, Uint8Array][] = []
    for (let i = 0; i < 500; i++) es.push([utf8(`k${i}`), utf8(`v${i}`)])
    const inc = new StateTree()
    for (const [k, v] of es) inc.set(k, v)
    const built = StateTree.fromEntries(es)
    built.checkInvariants()
    assert.deepEqual(built.root(), inc.root())
    assert.equal(built.size, 500)
    // Its own snapshot stream rebuilds it.
    assert.deepEqual(StateTree.fromEntries(built.entries()).root(), inc.root())
    assert.throws(() => StateTree.fromEntries([...es, es[7]]), isCode('STATE_DUPLICATE_KEY'))
  })
})

describe('StateTree structure edge cases (injected key paths)', () => {
  // Key paths chosen by the test: `hash` maps keys starting with "P:" to a path given in hex after
  // the colon, and everything else (values, nodes) to real SHA-256.
  const crafted: PathFn = (data) => {
    if (data.length > 2 && data[0] === 0x50 && data[1] === 0x3a) {
      const hex = new TextDecoder().decode(data.subarray(2))
      return Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16)))
    }
    return sha256(data)
  }
  const pk = (hex: string) => utf8(`P:${hex}`)

  it('splits at the last nibble, collapses a 63-deep chain on delete', () => {
    const t = new StateTree({ hash: crafted })
    const base = 'ab'.repeat(31)
    const k1 = pk(base + 'c0')
    const k2 = pk(base + 'c1') // differs only in nibble 63
    const k3 = pk('f'.repeat(64))
    const model = new Map<string, [Uint8Array, Uint8Array]>()
    for (const k of [k1, k2, k3]) {
      const v = k.subarray(2) // 64 bytes, inline; must not start with "P:" (values go through `hash` too)
      t.set(k, v)
      model.set(toHex(k), [k, v])
      t.checkInvariants()
    }
    assert.deepEqual(t.root(), refRoot(model, crafted))
    t.delete(k2)
    model.delete(toHex(k2))
    t.checkInvariants()
    assert.deepEqual(t.root(), refRoot(model, crafted))
    t.delete(k3)
    model.delete(toHex(k3))
    t.checkInvariants()
    assert.deepEqual(t.root(), refRoot(model, crafted)) // back to a single leaf at the root
  })

  it('fromEntries builds deep chains exactly like incremental inserts', () => {
    const paths = [
      'ab'.repeat(31) + 'c0',
      'ab'.repeat(31) + 'c1',
      'ab'.repeat(30) + 'ffff',
      'f'.repeat(64),
      '0'.repeat(64),
    ]
    const es = paths.map((h, i) => [pk(h), Uint8Array.of(i)] as [Uint8Array, Uint8Array])
    const inc = new StateTree({ hash: crafted })
    for (const [k, v] of es) inc.set(k, v)
    const built = StateTree.fromEntries([...es].reverse(), { hash: crafted })
    built.checkInvariants()
    assert.deepEqual(built.root(), inc.root())
    const model = new Map(es.map(([k, v]) => [toHex(k), [k, v] as [Uint8Array, Uint8Array]]))
    assert.deepEqual(built.root(), refRoot(model, crafted))
    // Then it behaves like any tree: delete down to one key.
    for (const [k] of es.slice(1)) built.delete(k)
    built.checkInvariants()
    assert.deepEqual(built.root(), refRoot(new Map([[toHex(es[0][0]), es[0]]]), crafted))
    assert.throws(
      () =>
        StateTree.fromEntries(
          [
            [pk('ab'.repeat(32)), utf8('a')],
            [pk('AB'.repeat(32)), utf8('b')],
          ],
          { hash: crafted },
        ),
      isCode('STATE_PATH_COLLISION'),
    )
  })

  it('refuses two keys with the same path without corrupting the tree', () => {
    const t = new StateTree({ hash: crafted })
    t.set(pk('ab'.repeat(32)), utf8('a'))
    const root = t.root()
    const twin = pk('AB'.repeat(32)) // other key bytes, same path
    assert.throws(() => t.set(twin, utf8('b')), isCode('STATE_PATH_COLLISION'))
    t.set(pk('ab'.repeat(31) + 'cd'), utf8('c'))
    assert.throws(() => t.set(twin, utf8('b')), isCode('STATE_PATH_COLLISION'))
    assert.equal(t.has(twin), false)
    assert.equal(t.size, 2)
    t.checkInvariants()
    t.delete(pk('ab'.repeat(31) + 'cd'))
    assert.deepEqual(t.root(), root)
  })
})
