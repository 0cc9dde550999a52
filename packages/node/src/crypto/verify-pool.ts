/**
 * Signature verification off the main thread: a pool of worker_threads running node:crypto.
 *
 * - Jobs submitted in the same tick are grouped (one microtask flush) and cut into chunks; a chunk is
 *   one transferred ArrayBuffer (see verify-codec.ts) and its answer one Uint8Array of 0/1.
 * - Each worker has at most `maxInFlightPerWorker` chunks outstanding (2: one running, one waiting,
 *   so a worker never idles on a message round trip); chunk size adapts to the backlog.
 * - Bounded: more than `maxQueuedJobs` jobs waiting or in flight -> the new submission is rejected
 *   with PulseError VERIFY_POOL_OVERLOADED (nothing is queued).
 * - A worker that dies is replaced; its in-flight jobs are retried once, each alone in its own chunk
 *   so one poison job cannot take innocent neighbours down, then rejected with VERIFY_WORKER_CRASHED.
 *   After `maxConsecutiveCrashes` crashes without a single answer in between the pool gives up
 *   (VERIFY_POOL_BROKEN) instead of respawning forever.
 * - Idle workers are unref'd: an idle pool does not keep the process alive. `close()` terminates them.
 */
import os from 'node:os'
import { Worker } from 'node:worker_threads'
import { PulseError } from '@pulsemesh/core/errors.ts'
import { encodeChunk, encodedJobBytes, jobSchemeByte, type VerifyJob, verifyChunk } from './verify-codec.ts'

export type { VerifyJob } from './verify-codec.ts'

export interface VerifyPoolOptions {
  /** Worker threads (default os.availableParallelism()). */
  size?: number
  /** Jobs queued + in flight before submissions are refused (default 100_000). */
  maxQueuedJobs?: number
  /** Jobs per chunk, upper bound (default 256). */
  maxChunkJobs?: number
  /** Packed bytes per chunk, upper bound; a single larger job still goes alone (default 1 MiB). */
  maxChunkBytes?: number
  /** Chunks outstanding per worker (default 2). */
  maxInFlightPerWorker?: number
  /** Crashes in a row, with no answer in between, after which the pool is declared broken (default 3 x size). */
  maxConsecutiveCrashes?: number
  /** Worker entry point; tests substitute a faulty one. Default ./verify-worker.ts. */
  workerUrl?: URL
}

export interface VerifyPoolStats {
  size: number
  queuedJobs: number
  inFlightJobs: number
  verifiedJobs: number
  chunksSent: number
  workerCrashes: number
  retriedJobs: number
  rejectedOverload: number
}

/** Where a job's answer goes: one slot of a batch, or the one answer of `verify`. */
interface Sink {
  /** A batch's answers (null for a single job, answered through `one`). */
  results: boolean[] | null
  one: ((ok: boolean) => void) | null
  remaining: number
  failed: boolean
  resolve: (r: boolean[]) => void
  reject: (e: Error) => void
}
interface Pending {
  job: VerifyJob
  schemeByte: number
  bytes: number
  sink: Sink
  index: number
  attempts: number
}
interface Chunk {
  id: number
  slot: Slot
  jobs: Pending[]
}
interface Slot {
  worker: Worker
  inFlight: number
  chunks: Set<number>
  alive: boolean
  /** Running a retried job alone: nothing else is sent to this worker until it answers. */
  isolating: boolean
}

const DEFAULTS = {
  maxQueuedJobs: 100_000,
  maxChunkJobs: 256,
  maxChunkBytes: 1 << 20,
  maxInFlightPerWorker: 2,
}

const SINGLE: readonly VerifyJob[] = [undefined as unknown as VerifyJob]
const noop = () => {}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new PulseError('VERIFY_POOL_CONFIG', `${name} must be a positive integer`, { [name]: v })
  }
  return v
}

export class VerifyPool {
  readonly size: number
  readonly maxQueuedJobs: number
  readonly maxChunkJobs: number
  readonly maxChunkBytes: number
  readonly maxInFlightPerWorker: number
  readonly maxConsecutiveCrashes: number
  readonly #workerUrl: URL
  #slots: Slot[] = []
  /** Jobs waiting for a worker; `#head` avoids O(n) shifts. */
  #queue: Pending[] = []
  #head = 0
  /** Crash survivors, sent one per chunk. */
  #retry: Pending[] = []
  #chunks = new Map<number, Chunk>()
  #nextId = 1
  #flushScheduled = false
  #closed = false
  #broken: PulseError | null = null
  #consecutiveCrashes = 0
  #inFlightJobs = 0
  #benchWaiters = new Map<
    number,
    { slot: Slot; resolve: (r: { verified: number; elapsedNs: number }) => void; reject: (e: Error) => void }
  >()
  #stats = { verifiedJobs: 0, chunksSent: 0, workerCrashes: 0, retriedJobs: 0, rejectedOverload: 0 }

  constructor(opts: VerifyPoolOptions = {}) {
    this.size = positiveInt('size', opts.size ?? os.availableParallelism())
    this.maxQueuedJobs = positiveInt('maxQueuedJobs', opts.maxQueuedJobs ?? DEFAULTS.maxQueuedJobs)
    this.maxChunkJobs = positiveInt('maxChunkJobs', opts.maxChunkJobs ?? DEFAULTS.maxChunkJobs)
    this.maxChunkBytes = positiveInt('maxChunkBytes', opts.maxChunkBytes ?? DEFAULTS.maxChunkBytes)
    this.maxInFlightPerWorker = positiveInt(
      'maxInFlightPerWorker',
      opts.maxInFlightPerWorker ?? DEFAULTS.maxInFlightPerWorker,
    )
    this.maxConsecutiveCrashes = positiveInt(
      'maxConsecutiveCrashes',
      opts.maxConsecutiveCrashes ?? 3 * this.size,
    )
    this.#workerUrl = opts.workerUrl ?? new URL('./verify-worker.ts', import.meta.url)
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#spawn())
  }

  /** This pool understands `VerifyJob.msgPrefix` (NetworkNode then skips joining prefix and body). */
  readonly acceptsMsgPrefix = true

  /** Verify one signature (project rule: strict Ed25519, low-S secp256k1). Malformed jobs resolve false. */
  verify(job: VerifyJob): Promise<boolean> {
    // The hot single-job path (every admitted tx): one promise, one queue entry, no arrays.
    return new Promise<boolean>((resolve, reject) => {
      const refusal = this.#refusal(SINGLE)
      const schemeByte = refusal === null ? jobSchemeByte(job) : 0
      if (refusal !== null) reject(refusal)
      else if (schemeByte === 0) resolve(false)
      else {
        const sink: Sink = { results: null, one: resolve, remaining: 1, failed: false, resolve: noop, reject }
        this.#queue.push({ job, schemeByte, bytes: encodedJobBytes(job), sink, index: 0, attempts: 0 })
        this.#scheduleFlush()
      }
    })
  }

  /**
   * Nothing queued or in flight: a job handed to `verify` now would wait only for its own round trip.
   * NetworkNode then checks a lone tx (a light-load API request or gossip batch) with `verifySync`.
   */
  get idle(): boolean {
    return !this.#closed && this.#broken === null && this.queuedJobs === 0 && this.#inFlightJobs === 0
  }

  /**
   * One job verified on the calling thread, through the workers' own code (a one-job chunk and
   * verifyChunk), so the verdict is the pool's. For a lone tx on an idle pool: the worker round trip
   * waits for a worker to be scheduled and then for this thread's event loop to take the answer,
   * which on a busy validator is ~10 ms (traced: p50 9.4 ms at 100 tx/s), the verify itself ~0.1 ms.
   */
  verifySync(job: VerifyJob): boolean {
    if (jobSchemeByte(job) === 0) return false
    return verifyChunk(encodeChunk([job], encodedJobBytes(job)))[0] === 1
  }

  /** Verify many; resolves one boolean per job, in order. Refused whole when over the queue bound. */
  verifyBatch(jobs: readonly VerifyJob[]): Promise<boolean[]> {
    return new Promise<boolean[]>((resolve, reject) => {
      this.#submit(jobs, resolve, reject)
    })
  }

  #submit(jobs: readonly VerifyJob[], resolve: (r: boolean[]) => void, reject: (e: Error) => void): void {
    const refusal = this.#refusal(jobs)
    if (refusal !== null) {
      reject(refusal)
      return
    }
    const sink: Sink = {
      results: new Array(jobs.length).fill(false),
      one: null,
      remaining: 0,
      failed: false,
      resolve,
      reject,
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]
      const schemeByte = jobSchemeByte(job)
      if (schemeByte === 0) continue // malformed: false without a round trip
      sink.remaining++
      this.#queue.push({ job, schemeByte, bytes: encodedJobBytes(job), sink, index: i, attempts: 0 })
    }
    if (sink.remaining === 0) {
      resolve(sink.results!)
      return
    }
    this.#scheduleFlush()
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      queueMicrotask(() => {
        this.#flushScheduled = false
        this.#dispatch()
      })
    }
  }

  /** Why a submission cannot be accepted (closed, broken, not an array, queue full), or null. */
  #refusal(jobs: readonly VerifyJob[]): PulseError | null {
    if (this.#closed) return new PulseError('VERIFY_POOL_CLOSED', 'verify pool is closed')
    if (this.#broken) return this.#broken
    if (!Array.isArray(jobs))
      return new PulseError('VERIFY_JOB_INVALID', 'verifyBatch expects an array of jobs')
    const outstanding = this.queuedJobs + this.#inFlightJobs
    if (outstanding + jobs.length > this.maxQueuedJobs) {
      this.#stats.rejectedOverload += jobs.length
      return new PulseError('VERIFY_POOL_OVERLOADED', 'signature verification queue is full', {
        outstanding,
        submitted: jobs.length,
        maxQueuedJobs: this.maxQueuedJobs,
      })
    }
    return null
  }

  get queuedJobs(): number {
    return this.#queue.length - this.#head + this.#retry.length
  }

  stats(): VerifyPoolStats {
    return { size: this.size, queuedJobs: this.queuedJobs, inFlightJobs: this.#inFlightJobs, ...this.#stats }
  }

  /**
   * Raw Ed25519 verify rate of the machine through this pool's workers: every worker runs `n`
   * verifications in a tight loop at the same time (no messaging, no batching). This is the
   * physical limit the pool's own throughput is compared with.
   */
  async measureRawVerifyRate(n: number): Promise<{ verifiesPerSecond: number; perWorker: number[] }> {
    positiveInt('n', n)
    if (this.#closed) throw new PulseError('VERIFY_POOL_CLOSED', 'verify pool is closed')
    const t0 = process.hrtime.bigint()
    const runs = this.#slots.map(
      (slot) =>
        new Promise<{ verified: number; elapsedNs: number }>((resolve, reject) => {
          const id = this.#nextId++
          this.#benchWaiters.set(id, { slot, resolve, reject })
          slot.worker.ref()
          slot.worker.postMessage({ t: 'bench', id, n })
        }),
    )
    const results = await Promise.all(runs)
    const wallNs = Number(process.hrtime.bigint() - t0)
    for (const slot of this.#slots) if (slot.inFlight === 0) slot.worker.unref()
    const total = results.reduce((a, r) => a + r.verified, 0)
    return {
      verifiesPerSecond: (total * 1e9) / wallNs,
      perWorker: results.map((r) => (r.verified * 1e9) / r.elapsedNs),
    }
  }

  /** Terminate the workers. Queued and in-flight jobs are rejected with VERIFY_POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const err = new PulseError('VERIFY_POOL_CLOSED', 'verify pool closed before the job was verified')
    this.#failAll(err)
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
    this.#slots = []
  }

  #spawn(): Slot {
    const worker = new Worker(this.#workerUrl)
    const slot: Slot = { worker, inFlight: 0, chunks: new Set(), alive: true, isolating: false }
    worker.unref()
    worker.on(
      'message',
      (m: { t: string; id: number; res?: Uint8Array; verified?: number; elapsedNs?: number }) => {
        if (m.t === 'verify') this.#onResult(slot, m.id, m.res!)
        else if (m.t === 'bench') {
          const w = this.#benchWaiters.get(m.id)
          this.#benchWaiters.delete(m.id)
          w?.resolve({ verified: m.verified!, elapsedNs: m.elapsedNs! })
        }
      },
    )
    // 'error' (uncaught exception in the worker) is always followed by 'exit'; handle the crash there.
    worker.on('error', () => {})
    worker.on('exit', () => this.#onExit(slot))
    return slot
  }

  #onResult(slot: Slot, id: number, res: Uint8Array): void {
    const chunk = this.#chunks.get(id)
    if (chunk === undefined) return
    this.#chunks.delete(id)
    slot.chunks.delete(id)
    slot.inFlight--
    slot.isolating = false
    this.#inFlightJobs -= chunk.jobs.length
    this.#consecutiveCrashes = 0
    for (let i = 0; i < chunk.jobs.length; i++) this.#settle(chunk.jobs[i], res[i] === 1)
    this.#stats.verifiedJobs += chunk.jobs.length
    if (slot.inFlight === 0) slot.worker.unref()
    this.#dispatch()
  }

  #settle(p: Pending, ok: boolean): void {
    const sink = p.sink
    if (sink.failed) return
    if (sink.one !== null) {
      sink.remaining = 0
      sink.one(ok)
      return
    }
    sink.results![p.index] = ok
    if (--sink.remaining === 0) sink.resolve(sink.results!)
  }

  #fail(p: Pending, err: Error): void {
    if (p.sink.failed) return
    p.sink.failed = true
    p.sink.reject(err)
  }

  #onExit(slot: Slot): void {
    if (!slot.alive) return
    slot.alive = false
    for (const [id, w] of this.#benchWaiters) {
      if (w.slot !== slot) continue
      this.#benchWaiters.delete(id)
      w.reject(new PulseError('VERIFY_WORKER_CRASHED', 'verification worker exited during a measurement'))
    }
    const idx = this.#slots.indexOf(slot)
    if (this.#closed || this.#broken || idx < 0) return
    this.#stats.workerCrashes++
    this.#consecutiveCrashes++
    const crashed = new PulseError('VERIFY_WORKER_CRASHED', 'verification worker crashed twice on this job')
    for (const id of slot.chunks) {
      const chunk = this.#chunks.get(id)!
      this.#chunks.delete(id)
      this.#inFlightJobs -= chunk.jobs.length
      for (const p of chunk.jobs) {
        if (p.attempts >= 1) this.#fail(p, crashed)
        else {
          p.attempts++
          this.#stats.retriedJobs++
          this.#retry.push(p)
        }
      }
    }
    slot.chunks.clear()
    if (this.#consecutiveCrashes >= this.maxConsecutiveCrashes) {
      this.#broken = new PulseError(
        'VERIFY_POOL_BROKEN',
        'verification workers keep crashing; pool stopped',
        {
          consecutiveCrashes: this.#consecutiveCrashes,
        },
      )
      this.#slots.splice(idx, 1)
      this.#failAll(this.#broken)
      for (const s of this.#slots) void s.worker.terminate()
      return
    }
    this.#slots[idx] = this.#spawn()
    this.#dispatch()
  }

  #failAll(err: Error): void {
    for (let i = this.#head; i < this.#queue.length; i++) this.#fail(this.#queue[i], err)
    for (const p of this.#retry) this.#fail(p, err)
    this.#queue = []
    this.#head = 0
    this.#retry = []
    for (const chunk of this.#chunks.values()) for (const p of chunk.jobs) this.#fail(p, err)
    this.#chunks.clear()
    this.#inFlightJobs = 0
    for (const s of this.#slots) {
      s.chunks.clear()
      s.inFlight = 0
    }
  }

  #dispatch(): void {
    if (this.#closed || this.#broken) return
    while (this.queuedJobs > 0) {
      const jobs: Pending[] = []
      let bytes = 0
      let slot: Slot | undefined
      if (this.#retry.length > 0) {
        // A crash survivor runs alone on an otherwise idle worker, so if it is the poison it takes
        // nothing else down. Until such a worker frees up, nothing new is dispatched.
        slot = this.#slots.find((s) => s.alive && s.inFlight === 0)
        if (slot === undefined) return
        const p = this.#retry.shift()!
        if (p.sink.failed) continue
        jobs.push(p)
        bytes = p.bytes
        slot.isolating = true
      } else {
        // The least busy live worker with room.
        for (const s of this.#slots) {
          if (!s.alive || s.isolating || s.inFlight >= this.maxInFlightPerWorker) continue
          if (slot === undefined || s.inFlight < slot.inFlight) slot = s
        }
        if (slot === undefined) return
        // Spread the backlog over every free in-flight slot, within the chunk bounds.
        let freeSlots = 0
        for (const s of this.#slots)
          if (s.alive && !s.isolating) freeSlots += this.maxInFlightPerWorker - s.inFlight
        const waiting = this.#queue.length - this.#head
        const target = Math.min(this.maxChunkJobs, Math.max(1, Math.ceil(waiting / Math.max(1, freeSlots))))
        while (jobs.length < target && this.#head < this.#queue.length) {
          const p = this.#queue[this.#head]
          if (jobs.length > 0 && bytes + p.bytes > this.maxChunkBytes) break
          this.#head++
          if (p.sink.failed) continue
          jobs.push(p)
          bytes += p.bytes
        }
        if (this.#head === this.#queue.length) {
          this.#queue = []
          this.#head = 0
        } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head)
          this.#head = 0
        }
        if (jobs.length === 0) continue
      }
      const id = this.#nextId++
      const buf = encodeChunk(
        jobs.map((p) => p.job),
        bytes,
      )
      this.#chunks.set(id, { id, slot, jobs })
      slot.chunks.add(id)
      slot.inFlight++
      this.#inFlightJobs += jobs.length
      this.#stats.chunksSent++
      slot.worker.ref()
      slot.worker.postMessage({ t: 'verify', id, buf }, [buf])
    }
  }
}

/** Raw Ed25519 verifies/s using every worker of `pool` (the machine limit for benchmarks). */
export function measureRawVerifyRate(
  pool: VerifyPool,
  n: number,
): Promise<{ verifiesPerSecond: number; perWorker: number[] }> {
  return pool.measureRawVerifyRate(n)
}
