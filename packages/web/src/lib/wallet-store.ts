/** Encrypted keys in the browser's IndexedDB (database "pulsemesh-wallet", store "keys", by name). */
import type { EncryptedSecret } from './wallet-crypto.ts'

export interface StoredKey {
  name: string
  scheme: 'ed25519'
  /** Public key, hex (not secret: addresses are shown without unlocking). */
  publicKey: string
  encrypted: EncryptedSecret
  createdAt: number
}

const DB = 'pulsemesh-wallet'
const STORE = 'keys'

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1)
    r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'name' })
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB unavailable'))
  })
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open()
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode)
      const req = f(t.objectStore(STORE))
      t.oncomplete = () => resolve(req.result)
      t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'))
      t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted'))
    })
  } finally {
    db.close()
  }
}

export const listKeys = (): Promise<StoredKey[]> =>
  tx('readonly', (s) => s.getAll() as IDBRequest<StoredKey[]>)
/** Adds a key; fails (ConstraintError) if the name is taken, so nothing is overwritten silently. */
export const addKey = (k: StoredKey): Promise<IDBValidKey> => tx('readwrite', (s) => s.add(k))
export const deleteKey = (name: string): Promise<undefined> => tx('readwrite', (s) => s.delete(name))
