/**
 * The browser wallet: encrypted keys in IndexedDB (wallet-store.ts), one unlocked key in memory at
 * a time (cleared by lock() or closing the tab), and signing + submitting txs through the SDK.
 */
import {
  addressFromPublicKey,
  fromHex,
  generateKeyPair,
  publicKeyFromSecret,
  type Signer,
  sign,
  signTx,
  toHex,
  type TxResponse,
} from '@pulsemesh/sdk'
import { useSyncExternalStore } from 'react'
import { client } from './live.ts'
import { decryptSecret, encryptSecret, WalletError } from './wallet-crypto.ts'
import { addKey, deleteKey, listKeys, type StoredKey } from './wallet-store.ts'

export interface Unlocked {
  name: string
  signer: Signer
}

/** Domain separation: a signed message can never be mistaken for a tx's sign bytes. */
export const MESSAGE_PREFIX = 'PulseMesh signed message:\n'

class Wallet {
  keys: StoredKey[] = []
  loaded = false
  unlocked: Unlocked | null = null
  error: string | null = null
  private version = 0
  private readonly listeners = new Set<() => void>()
  subscribe = (l: () => void) => {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  getVersion = () => this.version
  private changed() {
    this.version++
    for (const l of this.listeners) l()
  }

  async load(): Promise<void> {
    try {
      this.keys = await listKeys()
      this.error = null
    } catch (e) {
      this.error = `browser storage unavailable: ${(e as Error).message}`
    }
    this.loaded = true
    this.changed()
  }

  /** Stores `secret` (32 bytes) encrypted under `passphrase` as key `name`, and unlocks it. */
  async add(name: string, secret: Uint8Array, passphrase: string): Promise<StoredKey> {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(name))
      throw new WalletError('BAD_RECORD', 'name: 1-32 letters, digits, - or _')
    if (this.keys.some((k) => k.name === name))
      throw new WalletError('BAD_RECORD', `a key named ${name} exists`)
    const pk = publicKeyFromSecret('ed25519', secret)
    const rec: StoredKey = {
      name,
      scheme: 'ed25519',
      publicKey: toHex(pk.bytes),
      encrypted: await encryptSecret(secret, passphrase),
      createdAt: Date.now(),
    }
    await addKey(rec)
    this.keys = [...this.keys, rec]
    this.unlocked = { name, signer: { scheme: 'ed25519', publicKey: pk, secret } }
    this.changed()
    return rec
  }

  /** A new random key: returns its secret once so the user can back it up. */
  async create(name: string, passphrase: string): Promise<Uint8Array> {
    const kp = generateKeyPair('ed25519', crypto.getRandomValues(new Uint8Array(32)))
    await this.add(name, kp.secretKey, passphrase)
    return kp.secretKey
  }

  async unlock(name: string, passphrase: string): Promise<void> {
    const rec = this.keys.find((k) => k.name === name)
    if (rec === undefined) throw new WalletError('BAD_RECORD', `no key ${name}`)
    const secret = await decryptSecret(rec.encrypted, passphrase)
    const pk = publicKeyFromSecret('ed25519', secret)
    if (toHex(pk.bytes) !== rec.publicKey)
      throw new WalletError('BAD_RECORD', 'the key record is inconsistent')
    this.unlocked = { name, signer: { scheme: 'ed25519', publicKey: pk, secret } }
    this.changed()
  }

  lock(): void {
    this.unlocked?.signer.secret.fill(0)
    this.unlocked = null
    this.changed()
  }

  async remove(name: string): Promise<void> {
    await deleteKey(name)
    this.keys = this.keys.filter((k) => k.name !== name)
    if (this.unlocked?.name === name) this.lock()
    this.changed()
  }

  addressOf(k: { publicKey: string }, prefix: string): string {
    return addressFromPublicKey({ scheme: 'ed25519', bytes: fromHex(k.publicKey) }, prefix)
  }

  /** The unlocked key's address on a network with `prefix`. */
  myAddress(prefix: string): string {
    if (this.unlocked === null) throw new WalletError('BAD_RECORD', 'unlock a key first')
    return addressFromPublicKey(this.unlocked.signer.publicKey, prefix)
  }

  /** Signs and submits one tx on `network` with the unlocked key; waits until it is committed. */
  async submit(
    network: string,
    kind: number,
    payload: Uint8Array,
    memo = '',
  ): Promise<{ hash: string; tx: TxResponse }> {
    const u = this.unlocked
    if (u === null) throw new WalletError('BAD_RECORD', 'unlock a key first')
    const st = await client.status(network)
    const me = addressFromPublicKey(u.signer.publicKey, st.params.addressPrefix)
    const acct = await client.account(network, me)
    const lifetime = BigInt(st.params.txLifetimeBlocksMax)
    const tx = signTx(
      u.signer,
      {
        networkId: network,
        nonce: BigInt(acct.nextNonce),
        fee: BigInt(st.params.minFee),
        expiresAt: BigInt(st.height) + (lifetime < 100n ? lifetime : 100n),
        memo,
      },
      kind,
      payload,
    )
    const { hash } = await client.submitTx(network, tx.bytes)
    return { hash, tx: await client.waitForTx(network, hash, 60_000, 250) }
  }

  /** Ed25519 signature (hex) over MESSAGE_PREFIX + message. */
  async signMessage(message: string): Promise<string> {
    const u = this.unlocked
    if (u === null) throw new WalletError('BAD_RECORD', 'unlock a key first')
    return toHex(sign('ed25519', u.signer.secret, new TextEncoder().encode(MESSAGE_PREFIX + message)))
  }
}

export const wallet = new Wallet()

export function useWallet(): Wallet {
  useSyncExternalStore(wallet.subscribe, wallet.getVersion)
  return wallet
}
