/**
 * Wycheproof vectors through core's public `verify` with the default (@noble) backend: what a browser
 * runs. The same vectors against node:crypto as well are in packages/node/test/crypto-wycheproof.
 * Read from /work/shared/vectors (override with PULSEMESH_VECTORS_DIR), never copied.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  cryptoBackend,
  ecdsaSignatureFromDer,
  secp256k1CompressPublicKey,
  verify,
} from '../src/crypto/index.ts'
import type { KeyScheme } from '../src/types.ts'

const dir =
  process.env.PULSEMESH_VECTORS_DIR ??
  new URL('../../../../shared/vectors/wycheproof/', import.meta.url).pathname
const missing = existsSync(dir) ? false : `Wycheproof vectors not found in ${dir}`
// In CI the vectors must be there (shared/ sits beside the clone): a skip would hide a broken rule.
if (missing && process.env.CI) throw new Error(missing)
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

interface File {
  numberOfTests: number
  testGroups: {
    publicKey: { pk?: string; uncompressed?: string }
    tests: { tcId: number; msg: string; sig: string; result: string }[]
  }[]
}

function run(file: string, scheme: KeyScheme, decodeSig: (s: Uint8Array) => Uint8Array | null): number {
  const data = JSON.parse(readFileSync(dir + file, 'utf8')) as File
  const wrong: number[] = []
  let n = 0
  for (const g of data.testGroups) {
    const raw = hex(g.publicKey.pk ?? g.publicKey.uncompressed!)
    const keys = scheme === 'secp256k1' ? [raw, secp256k1CompressPublicKey(raw)!] : [raw]
    for (const v of g.tests) {
      n++
      const sig = decodeSig(hex(v.sig))
      for (const bytes of keys) {
        // `acceptable` would be rejected (strict rule); none of these files has any.
        const got = sig !== null && verify({ scheme, bytes }, hex(v.msg), sig)
        if (got !== (v.result === 'valid')) wrong.push(v.tcId)
      }
    }
  }
  assert.deepEqual(wrong, [])
  assert.equal(n, data.numberOfTests)
  return n
}

test('noble is the default backend in core', () => assert.equal(cryptoBackend().name, 'noble'))

test('wycheproof ed25519 through verify()', { skip: missing }, () => {
  assert.equal(
    run('ed25519_test.json', 'ed25519', (s) => s),
    151,
  )
})

test('wycheproof secp256k1 bitcoin (strict DER, low S) through verify()', { skip: missing }, () => {
  assert.equal(run('ecdsa_secp256k1_sha256_bitcoin_test.json', 'secp256k1', ecdsaSignatureFromDer), 463)
})
