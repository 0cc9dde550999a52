/**
 * Differential fuzz: node:crypto and @noble must give the same answer on every input, valid or
 * mutated (bit flips, S + L, high S, out-of-range scalars, truncation, torsion, garbage). A failure
 * prints the fast-check seed and path to replay it.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { test } from 'node:test'
import { ed25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { generateKeyPair } from '@pulsemesh/core/crypto/index.ts'
import { nobleBackend } from '@pulsemesh/core/crypto/noble-backend.ts'
import { SECP256K1_N } from '@pulsemesh/core/crypto/secp256k1-rule.ts'
import { nodeBackend } from '@pulsemesh/node/crypto/node-backend.ts'

// PULSEMESH_FUZZ_RUNS raises the count for a long local run; CI keeps it small.
const RUNS = Number(process.env.PULSEMESH_FUZZ_RUNS ?? 300)
const P = ed25519.Point
const L = P.Fn.ORDER

const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n)
const be = (b: Uint8Array): bigint => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n)
function toLE(n: bigint, len = 32): Uint8Array {
  const o = new Uint8Array(len)
  for (let i = 0; i < len; i++) {
    o[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return o
}
const toBE = (n: bigint): Uint8Array => toLE(n).reverse()
const cat = (...a: Uint8Array[]): Uint8Array => Uint8Array.from(a.flatMap((x) => [...x]))
function flip(b: Uint8Array, bit: number): Uint8Array {
  if (b.length === 0) return Uint8Array.of(1)
  const o = b.slice()
  const i = bit % (b.length * 8)
  o[i >>> 3] ^= 1 << (i & 7)
  return o
}

/** A generator of the 8-torsion subgroup, to build mixed-order keys and small-order R. */
const T8 = (() => {
  for (let i = 2; ; i++) {
    try {
      const pt = P.fromBytes(toLE(BigInt(i)), true)
      const t = pt.multiplyUnsafe(L - 1n).add(pt)
      if (!t.is0() && !t.double().double().is0()) return t
    } catch {
      // not a point
    }
  }
})()

const edMutation = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constantFrom('sigbit' as const, 'pkbit' as const, 'msgbit' as const), bit: fc.nat() }),
  fc.constant({ kind: 'S+L' as const }),
  fc.constant({ kind: 'S+8L' as const }),
  fc.record({ kind: fc.constant('truncSig' as const), len: fc.nat({ max: 63 }) }),
  fc.record({ kind: fc.constant('truncPk' as const), len: fc.nat({ max: 31 }) }),
  fc.record({
    kind: fc.constant('garbageSig' as const),
    bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('garbagePk' as const),
    bytes: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('torsionPk' as const), j: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constant('torsionR' as const), j: fc.integer({ min: 0, max: 7 }) }),
)

test('ed25519: node:crypto and noble agree on valid and mutated inputs', () => {
  let valid = 0
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 96 }),
      edMutation,
      (seed, msg0, mut) => {
        let pk: Uint8Array = nobleBackend.ed25519PublicKey(seed)
        let sig: Uint8Array = nobleBackend.ed25519Sign(seed, msg0)
        let msg: Uint8Array = msg0
        assert.deepEqual(nodeBackend.ed25519Sign(seed, msg0), sig, 'deterministic signatures match')
        assert.deepEqual(nodeBackend.ed25519PublicKey(seed), pk)
        switch (mut.kind) {
          case 'none':
            break
          case 'sigbit':
            sig = flip(sig, mut.bit)
            break
          case 'pkbit':
            pk = flip(pk, mut.bit)
            break
          case 'msgbit':
            msg = flip(msg, mut.bit)
            break
          case 'S+L':
            sig = cat(sig.subarray(0, 32), toLE(le(sig.subarray(32)) + L))
            break
          case 'S+8L':
            sig = cat(sig.subarray(0, 32), toLE((le(sig.subarray(32)) + 8n * L) % (1n << 256n)))
            break
          case 'truncSig':
            sig = sig.subarray(0, mut.len)
            break
          case 'truncPk':
            pk = pk.subarray(0, mut.len)
            break
          case 'garbageSig':
            sig = mut.bytes
            break
          case 'garbagePk':
            pk = mut.bytes
            break
          case 'torsionPk':
            pk = P.fromBytes(pk)
              .add(T8.multiply(BigInt(mut.j)))
              .toBytes()
            break
          case 'torsionR':
            sig = cat(mut.j === 0 ? P.ZERO.toBytes() : T8.multiply(BigInt(mut.j)).toBytes(), sig.subarray(32))
            break
        }
        const a = nodeBackend.ed25519Verify(pk, msg, sig)
        const b = nobleBackend.ed25519Verify(pk, msg, sig)
        assert.equal(a, b, `disagreement on ${mut.kind}`)
        if (mut.kind === 'none') {
          assert.equal(a, true)
          valid++
        }
        if (['S+L', 'S+8L', 'truncSig', 'truncPk', 'torsionR'].includes(mut.kind)) assert.equal(a, false)
      },
    ),
    { numRuns: RUNS },
  )
  assert.ok(valid > 0)
})

const kMutation = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constantFrom('sigbit' as const, 'pkbit' as const, 'msgbit' as const), bit: fc.nat() }),
  fc.constant({ kind: 'highS' as const }),
  fc.constantFrom(
    { kind: 'r+n' as const },
    { kind: 's+n' as const },
    { kind: 'r=0' as const },
    { kind: 's=0' as const },
    { kind: 'hybrid' as const },
  ),
  fc.record({ kind: fc.constant('truncSig' as const), len: fc.nat({ max: 63 }) }),
  fc.record({
    kind: fc.constant('garbageSig' as const),
    bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('garbagePk' as const),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 33, maxLength: 33 }),
      fc.uint8Array({ minLength: 65, maxLength: 65 }),
    ),
  }),
)

test('secp256k1: node:crypto and noble agree on valid and mutated inputs, both key forms, both S rules', () => {
  let valid = 0
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 96 }),
      fc.boolean(),
      fc.boolean(),
      kMutation,
      (rand, msg0, uncompressed, lowS, mut) => {
        const kp = generateKeyPair('secp256k1', rand)
        let pk: Uint8Array = kp.publicKey.bytes
        if (uncompressed) pk = uncompress(pk)
        let sig: Uint8Array = nobleBackend.secp256k1Sign(kp.secretKey, msg0)
        let msg: Uint8Array = msg0
        assert.deepEqual(nodeBackend.secp256k1PublicKey(kp.secretKey), kp.publicKey.bytes)
        const r = be(sig.subarray(0, 32))
        const s = be(sig.subarray(32))
        switch (mut.kind) {
          case 'none':
            break
          case 'sigbit':
            sig = flip(sig, mut.bit)
            break
          case 'pkbit':
            pk = flip(pk, mut.bit)
            break
          case 'msgbit':
            msg = flip(msg, mut.bit)
            break
          case 'highS':
            sig = cat(toBE(r), toBE(SECP256K1_N - s))
            break
          case 'r+n':
            sig = cat(toBE((r + SECP256K1_N) % (1n << 256n)), toBE(s))
            break
          case 's+n':
            sig = cat(toBE(r), toBE((s + SECP256K1_N) % (1n << 256n)))
            break
          case 'r=0':
            sig = cat(toBE(0n), toBE(s))
            break
          case 's=0':
            sig = cat(toBE(r), toBE(0n))
            break
          case 'hybrid':
            pk = uncompress(pk)
            pk[0] = 0x06 | (pk[64] & 1)
            break
          case 'truncSig':
            sig = sig.subarray(0, mut.len)
            break
          case 'garbageSig':
            sig = mut.bytes
            break
          case 'garbagePk':
            pk = mut.bytes
            break
        }
        const a = nodeBackend.secp256k1Verify(pk, msg, sig, { lowS })
        const b = nobleBackend.secp256k1Verify(pk, msg, sig, { lowS })
        assert.equal(a, b, `disagreement on ${mut.kind} lowS=${lowS}`)
        if (mut.kind === 'none') {
          assert.equal(a, true)
          valid++
        }
        if (mut.kind === 'highS') assert.equal(a, !lowS)
        if (['r+n', 's+n', 'r=0', 's=0', 'hybrid', 'truncSig'].includes(mut.kind)) assert.equal(a, false)
      },
    ),
    { numRuns: RUNS },
  )
  assert.ok(valid > 0)
})

/** SEC1 decompression by node:crypto, an implementation independent of the code under test. */
function uncompress(compressed: Uint8Array): Uint8Array {
  if (compressed.length === 65) return compressed.slice()
  return Uint8Array.from(
    crypto.ECDH.convertKey(compressed, 'secp256k1', undefined, undefined, 'uncompressed') as Buffer,
  )
}

test('sha256: node:crypto and noble agree on random inputs', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      assert.deepEqual(nodeBackend.sha256(data), nobleBackend.sha256(data))
    }),
    { numRuns: RUNS },
  )
})
