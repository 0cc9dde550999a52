/**
 * The simulator's signature scheme: a deterministic keyed hash (MAC) behind the same
 * ConsensusVerifier interface the engine uses with Ed25519.
 *
 * Why not Ed25519 here: @noble's pure-JS Ed25519 verifies ~400 signatures/s per core; a 7-validator
 * height needs ~100-200 verifications, so 200 seeds x 8 heights would take minutes per core (see
 * bench/consensus.bench.ts for the measured ratio). The engine's logic is what the simulator tests.
 *
 * Unforgeability holds by construction, not by cryptographic strength: verification looks up the
 * signer's secret in a registry only the verifier holds, and a byzantine node is only ever handed a
 * Signer for its own key, so it cannot produce another validator's signature. The MAC (4 lanes of
 * multiply-xorshift, murmur3-style finalisation, 32-byte output) is NOT a cryptographic function.
 */
import { toHex } from '@pulsemesh/core/bytes.ts'
import type { ConsensusVerifier } from '../types.ts'

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** 32-byte keyed hash of msg under a 16-byte key. */
export function mac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const kv = new DataView(key.buffer, key.byteOffset, 16)
  let a = kv.getUint32(0) ^ msg.length
  let b = kv.getUint32(4) ^ 0x9e3779b9
  let c = kv.getUint32(8) ^ 0x7f4a7c15
  let d = kv.getUint32(12) ^ 0x94d049bb
  for (let i = 0; i < msg.length; i++) {
    const x = msg[i]
    switch (i & 3) {
      case 0:
        a = Math.imul(a ^ x, 0x01000193) + (b >>> 7)
        break
      case 1:
        b = Math.imul(b ^ x, 0x01000193) + (c >>> 11)
        break
      case 2:
        c = Math.imul(c ^ x, 0x01000193) + (d >>> 13)
        break
      default:
        d = Math.imul(d ^ x, 0x01000193) + (a >>> 17)
    }
  }
  const out = new Uint8Array(32)
  const ov = new DataView(out.buffer)
  for (let i = 0; i < 8; i++) {
    a = fmix(a + Math.imul(b, 0x27d4eb2f) + i)
    b = fmix(b ^ c ^ a)
    c = fmix(c + d)
    d = fmix(d ^ a)
    ov.setUint32(4 * i, a ^ c)
  }
  return out
}

export interface Signer {
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

/** Holds every simulated validator's secret; hands each node only its own Signer. */
export class FakeKeyRegistry {
  private readonly secrets = new Map<string, Uint8Array>()

  /** A new key from 16 secret bytes (e.g. from the seeded PRNG). */
  createSigner(secret: Uint8Array): Signer {
    if (secret.length !== 16) throw new RangeError('fake secret must be 16 bytes')
    const publicKey = mac(secret, new Uint8Array(0))
    this.secrets.set(toHex(publicKey), secret.slice())
    const sk = secret.slice()
    return { publicKey, sign: (m) => mac(sk, m) }
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 32) return false
    const sk = this.secrets.get(toHex(publicKey))
    if (!sk) return false
    const want = mac(sk, message)
    for (let i = 0; i < 32; i++) if (want[i] !== signature[i]) return false
    return true
  }

  verifier(signBytes: Pick<ConsensusVerifier, 'voteSignBytes' | 'proposalSignBytes'>): ConsensusVerifier {
    return {
      voteSignBytes: signBytes.voteSignBytes,
      proposalSignBytes: signBytes.proposalSignBytes,
      verify: (pk, m, s) => this.verify(pk, m, s),
    }
  }
}
