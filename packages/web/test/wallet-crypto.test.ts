/** The wallet's encryption at rest (WebCrypto; Node has the same API as browsers). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decryptSecret, encryptSecret, parseSecretHex, WalletError } from '../src/lib/wallet-crypto.ts'

// Fewer PBKDF2 rounds than the wallet's default keep the test quick; the code path is the same.
const ITER = 2000
const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7)

test('round trip; fresh salt and IV each time; no plaintext in the record', async () => {
  const a = await encryptSecret(secret, 'correct horse', ITER)
  const b = await encryptSecret(secret, 'correct horse', ITER)
  assert.notEqual(a.salt, b.salt)
  assert.notEqual(a.iv, b.iv)
  assert.notEqual(a.ciphertext, b.ciphertext)
  const hex = Buffer.from(secret).toString('hex')
  assert.ok(!JSON.stringify(a).includes(hex))
  assert.deepEqual(await decryptSecret(a, 'correct horse'), secret)
  assert.deepEqual(await decryptSecret(b, 'correct horse'), secret)
})

test('wrong passphrase and tampering fail with WRONG_PASSPHRASE', async () => {
  const e = await encryptSecret(secret, 'correct horse', ITER)
  const wrong = (x: unknown) => x instanceof WalletError && x.code === 'WRONG_PASSPHRASE'
  await assert.rejects(decryptSecret(e, 'correct horsE'), wrong)
  const flipped = (e.ciphertext[0] === '0' ? '1' : '0') + e.ciphertext.slice(1)
  await assert.rejects(decryptSecret({ ...e, ciphertext: flipped }, 'correct horse'), wrong)
  await assert.rejects(decryptSecret({ ...e, salt: '00'.repeat(16) }, 'correct horse'), wrong)
})

test('weak passphrases and malformed records are refused', async () => {
  await assert.rejects(
    encryptSecret(secret, 'short', ITER),
    (x: unknown) => x instanceof WalletError && x.code === 'WEAK_PASSPHRASE',
  )
  const e = await encryptSecret(secret, 'correct horse', ITER)
  const bad = (x: unknown) => x instanceof WalletError && x.code === 'BAD_RECORD'
  await assert.rejects(decryptSecret({ ...e, v: 2 as 1 }, 'correct horse'), bad)
  await assert.rejects(decryptSecret({ ...e, iterations: 10 }, 'correct horse'), bad)
  await assert.rejects(decryptSecret({ ...e, iv: 'zz' }, 'correct horse'), bad)
  // biome-ignore lint/suspicious/noExplicitAny: a record from a corrupted store
  await assert.rejects(decryptSecret(null as any, 'correct horse'), bad)
})

test('parseSecretHex takes 64 hex digits (optional 0x), nothing else', () => {
  assert.deepEqual(parseSecretHex(`0x${Buffer.from(secret).toString('hex').toUpperCase()}`), secret)
  for (const bad of ['', 'ab', 'zz'.repeat(32), 'ab'.repeat(33)])
    assert.throws(
      () => parseSecretHex(bad),
      (x: unknown) => x instanceof WalletError && x.code === 'BAD_SECRET',
    )
})
