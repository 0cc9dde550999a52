import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cryptoBackend, setCryptoBackend, sha256, sign, verify } from '@pulsemesh/core/crypto/index.ts'
import { nobleBackend } from '@pulsemesh/core/crypto/noble-backend.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'
import {
  installNodeCrypto,
  KeyObjectCache,
  keyObjectCache,
  nodeBackend,
} from '@pulsemesh/node/crypto/node-backend.ts'

const ED_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const code = (c: string) => (e: unknown) => e instanceof PulseError && e.code === c

test('installNodeCrypto makes every core helper use node:crypto', () => {
  const previous = cryptoBackend()
  try {
    installNodeCrypto()
    assert.equal(cryptoBackend(), nodeBackend)
    const seed = new Uint8Array(32).fill(4)
    const msg = Uint8Array.of(1, 2)
    const sig = sign('ed25519', seed, msg)
    assert.deepEqual(sig, nobleBackend.ed25519Sign(seed, msg))
    assert.equal(verify({ scheme: 'ed25519', bytes: nodeBackend.ed25519PublicKey(seed) }, msg, sig), true)
    const h = sha256(msg)
    assert.equal(Object.getPrototypeOf(h), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer')
    assert.deepEqual(h, nobleBackend.sha256(msg))
  } finally {
    setCryptoBackend(previous)
  }
})

test('node backend refuses bad secrets with the same typed error as noble', () => {
  for (const b of [nodeBackend, nobleBackend]) {
    assert.throws(() => b.ed25519PublicKey(new Uint8Array(31)), code('CRYPTO_INVALID_SECRET'), b.name)
    assert.throws(
      () => b.ed25519Sign(new Uint8Array(33), Uint8Array.of(1)),
      code('CRYPTO_INVALID_SECRET'),
      b.name,
    )
    assert.throws(() => b.secp256k1PublicKey(new Uint8Array(32)), code('CRYPTO_INVALID_SECRET'), b.name)
    assert.throws(
      () => b.secp256k1PublicKey(new Uint8Array(32).fill(0xff)),
      code('CRYPTO_INVALID_SECRET'),
      b.name,
    )
    assert.throws(
      () => b.secp256k1Sign(new Uint8Array(32), Uint8Array.of(1)),
      code('CRYPTO_INVALID_SECRET'),
      b.name,
    )
  }
  const secret = new Uint8Array(32).fill(0x11)
  assert.deepEqual(nodeBackend.secp256k1PublicKey(secret), nobleBackend.secp256k1PublicKey(secret))
})

test('KeyObjectCache is bounded, evicts the least recently used, and caches refused keys', () => {
  const cache = new KeyObjectCache(4)
  const key = (i: number) => nobleBackend.ed25519PublicKey(new Uint8Array(32).fill(i + 1))
  const keys = Array.from({ length: 10 }, (_, i) => key(i))
  for (const k of keys.slice(0, 4)) assert.notEqual(cache.get('e', k, ED_PREFIX, 'ed25519'), null)
  assert.equal(cache.size, 4)
  cache.get('e', keys[0], ED_PREFIX, 'ed25519') // touch: keys[0] is now the most recent
  assert.equal(cache.hits, 1)
  for (const k of keys.slice(4, 7)) cache.get('e', k, ED_PREFIX, 'ed25519')
  assert.equal(cache.size, 4, 'never above the bound')
  const missesBefore = cache.misses
  cache.get('e', keys[0], ED_PREFIX, 'ed25519')
  assert.equal(cache.misses, missesBefore, 'the touched key survived')
  cache.get('e', keys[1], ED_PREFIX, 'ed25519')
  assert.equal(cache.misses, missesBefore + 1, 'an untouched old key was evicted')
  // A key OpenSSL refuses (wrong length inside the DER) is remembered as null.
  assert.equal(cache.get('e', new Uint8Array(31), ED_PREFIX, 'ed25519'), null)
  const m = cache.misses
  assert.equal(cache.get('e', new Uint8Array(31), ED_PREFIX, 'ed25519'), null)
  assert.equal(cache.misses, m)
  cache.clear()
  assert.equal(cache.size, 0)
  assert.throws(() => new KeyObjectCache(0), code('CRYPTO_CACHE_INVALID'))
})

test('the shared cache stays within KEY_CACHE_MAX_ENTRIES under many distinct keys', () => {
  keyObjectCache.clear()
  const msg = Uint8Array.of(9)
  const foreignSig = nobleBackend.ed25519Sign(new Uint8Array(32).fill(0xee), msg) // passes the pre-checks
  for (let i = 0; i < 50; i++) {
    const pk = nobleBackend.ed25519PublicKey(new Uint8Array(32).fill(i))
    assert.equal(nodeBackend.ed25519Verify(pk, msg, foreignSig), false)
  }
  assert.equal(keyObjectCache.size, 50)
  assert.ok(keyObjectCache.size <= keyObjectCache.maxEntries)
})
