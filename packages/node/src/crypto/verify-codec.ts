/**
 * Wire format between the verification pool and its workers: a batch of signature jobs packed into
 * ONE ArrayBuffer (transferred, never structured-cloned job by job), answered by one Uint8Array of
 * 0/1. Shared by verify-pool.ts (encode) and verify-worker.ts (decode + verify).
 *
 * Chunk layout (little-endian):
 *   u32 count
 *   count x { u8 scheme, u8 pkLen, u8 sigLen, u32 msgLen, pk[pkLen], sig[sigLen], msg[msgLen] }
 * scheme is KEY_SCHEME_BYTE (1 = ed25519, 2 = secp256k1, verified with the low-S account rule).
 */
import { KEY_SCHEME_BYTE } from '@pulsemesh/core/crypto/index.ts'
import type { KeyScheme } from '@pulsemesh/core/types.ts'
import { nodeBackend } from './node-backend.ts'

export interface VerifyJob {
  scheme: KeyScheme
  publicKey: Uint8Array
  msg: Uint8Array
  sig: Uint8Array
  /**
   * Bytes signed before `msg` (the signed message is msgPrefix || msg): a tx's domain prefix and
   * its body, a view of the tx, go to the worker without being concatenated first. Same wire
   * format: the chunk carries the joined message.
   */
  msgPrefix?: Uint8Array
}

export const CHUNK_HEADER_BYTES = 4
export const JOB_HEADER_BYTES = 7
/** pk and sig lengths travel in one byte; anything longer can never be valid. */
export const MAX_KEY_OR_SIG_BYTES = 255

/** Scheme byte of a job the pool can send, or 0 when the job can be answered `false` without a worker. */
export function jobSchemeByte(job: VerifyJob): number {
  if (job === null || typeof job !== 'object') return 0
  const { publicKey, msg, sig } = job
  if (!(publicKey instanceof Uint8Array) || !(msg instanceof Uint8Array) || !(sig instanceof Uint8Array))
    return 0
  if (job.msgPrefix !== undefined && !(job.msgPrefix instanceof Uint8Array)) return 0
  if (publicKey.length > MAX_KEY_OR_SIG_BYTES || sig.length > MAX_KEY_OR_SIG_BYTES) return 0
  return job.scheme === 'ed25519' || job.scheme === 'secp256k1' ? KEY_SCHEME_BYTE[job.scheme] : 0
}

export function encodedJobBytes(job: VerifyJob): number {
  return JOB_HEADER_BYTES + job.publicKey.length + job.sig.length + msgBytes(job)
}
function msgBytes(job: VerifyJob): number {
  return job.msg.length + (job.msgPrefix?.length ?? 0)
}

/** Pack jobs[from, to) (all with a non-zero jobSchemeByte) into one transferable buffer. */
export function encodeChunk(jobs: readonly VerifyJob[], totalJobBytes: number): ArrayBuffer {
  const buf = new ArrayBuffer(CHUNK_HEADER_BYTES + totalJobBytes)
  const view = new DataView(buf)
  const bytes = new Uint8Array(buf)
  view.setUint32(0, jobs.length, true)
  let o = CHUNK_HEADER_BYTES
  for (const job of jobs) {
    bytes[o] = jobSchemeByte(job)
    bytes[o + 1] = job.publicKey.length
    bytes[o + 2] = job.sig.length
    view.setUint32(o + 3, msgBytes(job), true)
    o += JOB_HEADER_BYTES
    bytes.set(job.publicKey, o)
    o += job.publicKey.length
    bytes.set(job.sig, o)
    o += job.sig.length
    if (job.msgPrefix !== undefined) {
      bytes.set(job.msgPrefix, o)
      o += job.msgPrefix.length
    }
    bytes.set(job.msg, o)
    o += job.msg.length
  }
  return buf
}

/** Verify every job of a chunk with node:crypto. Malformed chunks answer 0 for what cannot be read. */
export function verifyChunk(buf: ArrayBuffer): Uint8Array<ArrayBuffer> {
  const view = new DataView(buf)
  const bytes = new Uint8Array(buf)
  const count = buf.byteLength >= CHUNK_HEADER_BYTES ? view.getUint32(0, true) : 0
  const out = new Uint8Array(Math.min(count, buf.byteLength))
  let o = CHUNK_HEADER_BYTES
  for (let i = 0; i < out.length; i++) {
    if (o + JOB_HEADER_BYTES > bytes.length) break
    const scheme = bytes[o]
    const pkLen = bytes[o + 1]
    const sigLen = bytes[o + 2]
    const msgLen = view.getUint32(o + 3, true)
    o += JOB_HEADER_BYTES
    if (o + pkLen + sigLen + msgLen > bytes.length) break
    const pk = bytes.subarray(o, o + pkLen)
    const sig = bytes.subarray(o + pkLen, o + pkLen + sigLen)
    const msg = bytes.subarray(o + pkLen + sigLen, o + pkLen + sigLen + msgLen)
    o += pkLen + sigLen + msgLen
    let ok = false
    if (scheme === 1) ok = nodeBackend.ed25519Verify(pk, msg, sig)
    else if (scheme === 2) ok = nodeBackend.secp256k1Verify(pk, msg, sig, { lowS: true })
    out[i] = ok ? 1 : 0
  }
  return out
}

/**
 * The machine limit, measured inside a worker: `n` Ed25519 verifications of one valid signature in a
 * tight loop through the same backend path (key cache hit), no messaging. Returns elapsed ns.
 */
export function selfBenchEd25519(n: number): { verified: number; elapsedNs: number } {
  const seed = new Uint8Array(32).fill(0x5a)
  const msg = new Uint8Array(128).fill(0x33)
  const pk = nodeBackend.ed25519PublicKey(seed)
  const sig = nodeBackend.ed25519Sign(seed, msg)
  let verified = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) if (nodeBackend.ed25519Verify(pk, msg, sig)) verified++
  return { verified, elapsedNs: Number(process.hrtime.bigint() - t0) }
}
