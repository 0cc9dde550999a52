/**
 * The node's libp2p identity: an Ed25519 key kept in <dataDir>/p2p-key (protobuf, mode 0600), so
 * the peer id survives restarts and bootstrap lists can name it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { PulseError } from '@pulsemesh/core'
import { writeFileAtomic } from '../storage/atomic-file.ts'

export const PEER_KEY_FILE = 'p2p-key'

/** Loads <dir>/p2p-key or creates it (written to a temp file, then renamed: never half a key). */
export async function loadOrCreatePeerKey(dir: string): Promise<PrivateKey> {
  const file = join(dir, PEER_KEY_FILE)
  if (existsSync(file)) {
    try {
      return privateKeyFromProtobuf(readFileSync(file))
    } catch (e) {
      throw new PulseError('P2P_KEY_INVALID', `cannot read the peer key ${file}: ${(e as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  writePeerKey(file, key)
  return key
}

export function writePeerKey(file: string, key: PrivateKey): void {
  writeFileAtomic(file, privateKeyToProtobuf(key), { mode: 0o600 })
}
