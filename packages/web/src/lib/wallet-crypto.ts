/**
 * Encrypting a wallet secret with a passphrase, WebCrypto only (browsers and Node): PBKDF2-SHA-256
 * (a fresh 16-byte salt) derives an AES-256-GCM key; a fresh 12-byte IV per encryption. GCM's tag
 * makes a wrong passphrase (or a tampered record) fail decryption, reported as WRONG_PASSPHRASE.
 */

export const KDF_ITERATIONS = 310_000
export const PASSPHRASE_MIN = 8

export interface EncryptedSecret {
  v: 1
  kdf: 'PBKDF2-SHA-256'
  iterations: number
  salt: string
  iv: string
  ciphertext: string
}

export class WalletError extends Error {
  readonly code: 'WRONG_PASSPHRASE' | 'WEAK_PASSPHRASE' | 'BAD_RECORD' | 'BAD_SECRET'
  constructor(code: WalletError['code'], message: string) {
    super(message)
    this.code = code
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
export function unhex(s: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(s)) throw new WalletError('BAD_RECORD', 'not hex')
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}

async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(passphrase.normalize('NFKC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  )
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

export async function encryptSecret(
  secret: Uint8Array,
  passphrase: string,
  iterations = KDF_ITERATIONS,
): Promise<EncryptedSecret> {
  if (passphrase.length < PASSPHRASE_MIN)
    throw new WalletError('WEAK_PASSPHRASE', `passphrase must be at least ${PASSPHRASE_MIN} characters`)
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const key = await deriveKey(passphrase, salt, iterations)
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, secret as BufferSource))
  return { v: 1, kdf: 'PBKDF2-SHA-256', iterations, salt: hex(salt), iv: hex(iv), ciphertext: hex(ct) }
}

export async function decryptSecret(e: EncryptedSecret, passphrase: string): Promise<Uint8Array> {
  if (
    e === null ||
    typeof e !== 'object' ||
    e.v !== 1 ||
    e.kdf !== 'PBKDF2-SHA-256' ||
    !Number.isInteger(e.iterations) ||
    e.iterations < 1000 ||
    e.iterations > 10_000_000 ||
    typeof e.salt !== 'string' ||
    typeof e.iv !== 'string' ||
    typeof e.ciphertext !== 'string'
  )
    throw new WalletError('BAD_RECORD', 'not a PulseMesh encrypted key record')
  const salt = unhex(e.salt)
  const iv = unhex(e.iv)
  const ct = unhex(e.ciphertext)
  if (salt.length !== 16 || iv.length !== 12 || ct.length < 16)
    throw new WalletError('BAD_RECORD', 'not a PulseMesh encrypted key record')
  const key = await deriveKey(passphrase, salt, e.iterations)
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource }, key, ct as BufferSource),
    )
  } catch {
    throw new WalletError('WRONG_PASSPHRASE', 'wrong passphrase (or a damaged key record)')
  }
}

/** A 32-byte Ed25519 secret from hex text (64 digits, optional 0x); throws BAD_SECRET otherwise. */
export function parseSecretHex(text: string): Uint8Array {
  const s = text.trim().toLowerCase().replace(/^0x/, '')
  if (!/^[0-9a-f]{64}$/.test(s))
    throw new WalletError('BAD_SECRET', 'a secret key is 64 hex digits (32 bytes)')
  return unhex(s)
}
