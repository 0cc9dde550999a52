/**
 * Local keystore: one JSON file per key under <home>/keys, created with mode 0600. Secrets are
 * read only to sign and are never printed or logged (the CLI shows public keys and addresses).
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  addressFromPublicKey,
  fromHex,
  generateKeyPair,
  type KeyScheme,
  type PublicKey,
  PulseError,
  toHex,
} from '@pulsemesh/core'

export interface StoredKey {
  name: string
  scheme: KeyScheme
  publicKey: PublicKey
  secret: Uint8Array
}

const NAME = /^[a-zA-Z0-9_.-]{1,64}$/

export class Keystore {
  readonly dir: string
  constructor(home: string) {
    this.dir = join(home, 'keys')
  }
  private path(name: string): string {
    if (!NAME.test(name)) throw new PulseError('KEY_NAME_INVALID', `key name must match ${NAME}`)
    return join(this.dir, `${name}.json`)
  }
  has(name: string): boolean {
    return existsSync(this.path(name))
  }
  create(name: string, scheme: KeyScheme = 'ed25519'): StoredKey {
    if (this.has(name)) throw new PulseError('KEY_EXISTS', `a key named ${name} already exists`)
    const kp = generateKeyPair(scheme, new Uint8Array(randomBytes(32)))
    return this.save(name, scheme, kp.secretKey, kp.publicKey)
  }
  importSecret(name: string, scheme: KeyScheme, secret: Uint8Array, publicKey: PublicKey): StoredKey {
    return this.save(name, scheme, secret, publicKey)
  }
  private save(name: string, scheme: KeyScheme, secret: Uint8Array, publicKey: PublicKey): StoredKey {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const file = this.path(name)
    writeFileSync(
      file,
      JSON.stringify({ name, scheme, publicKey: toHex(publicKey.bytes), secret: toHex(secret) }, null, 2),
      { mode: 0o600 },
    )
    chmodSync(file, 0o600)
    return { name, scheme, publicKey, secret }
  }
  load(name: string): StoredKey {
    if (!this.has(name)) throw new PulseError('KEY_NOT_FOUND', `no key named ${name} in ${this.dir}`)
    const j = JSON.parse(readFileSync(this.path(name), 'utf8')) as {
      scheme: KeyScheme
      publicKey: string
      secret: string
    }
    return {
      name,
      scheme: j.scheme,
      publicKey: { scheme: j.scheme, bytes: fromHex(j.publicKey) },
      secret: fromHex(j.secret),
    }
  }
  list(): { name: string; scheme: KeyScheme; publicKey: string }[] {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const k = this.load(f.slice(0, -5))
        return { name: k.name, scheme: k.scheme, publicKey: toHex(k.publicKey.bytes) }
      })
  }
  address(name: string, prefix: string): string {
    return addressFromPublicKey(this.load(name).publicKey, prefix)
  }
}
