import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { ecdsaSignatureFromDer, generateKeyPair, SECP256K1_N, sign } from '@pulsemesh/core/crypto/index.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'
import { measureRawVerifyRate, type VerifyJob, VerifyPool } from '@pulsemesh/node/crypto/verify-pool.ts'

const crashWorker = new URL('./verify-pool-crash-worker.ts', import.meta.url)
const tmp = mkdtempSync(join(os.tmpdir(), 'verify-pool-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

const utf8 = (s: string) => new TextEncoder().encode(s)
const code = (c: string) => (e: unknown) => e instanceof PulseError && e.code === c

const ed = generateKeyPair('ed25519', new Uint8Array(32).fill(1))
const k1 = generateKeyPair('secp256k1', new Uint8Array(32).fill(2))

function job(
  i: number,
  valid = true,
  scheme: 'ed25519' | 'secp256k1' = 'ed25519',
  text = `msg ${i}`,
): VerifyJob {
  const kp = scheme === 'ed25519' ? ed : k1
  const msg = utf8(text)
  const sig = sign(scheme, kp.secretKey, msg)
  if (!valid) sig[10] ^= 1
  return { scheme, publicKey: kp.publicKey.bytes, msg, sig }
}

test('verifies mixed batches in order: valid, tampered, both schemes, malformed jobs are false', async () => {
  const pool = new VerifyPool({ size: 2 })
  try {
    const jobs: VerifyJob[] = []
    const want: boolean[] = []
    for (let i = 0; i < 40; i++) {
      const valid = i % 3 !== 0
      jobs.push(job(i, valid, i % 2 === 0 ? 'ed25519' : 'secp256k1'))
      want.push(valid)
    }
    const malformed = [
      { ...job(100), scheme: 'rsa' },
      { ...job(101), msg: 'not bytes' },
      { ...job(102), publicKey: new Uint8Array(300) },
      { ...job(103), sig: new Uint8Array(0) },
      null,
    ] as unknown as VerifyJob[]
    jobs.push(...malformed)
    want.push(false, false, false, false, false)
    assert.deepEqual(await pool.verifyBatch(jobs), want)
    assert.deepEqual(await pool.verifyBatch([]), [])
    assert.equal(await pool.verify(job(7)), true)
    assert.equal(await pool.verify(job(7, false)), false)
    // The caller's buffers are copied into the chunk, never transferred away.
    assert.equal(jobs[0].msg.length, utf8('msg 0').length)
  } finally {
    await pool.close()
  }
})

test('msgPrefix: the signed message is prefix || msg, for single and batched jobs', async () => {
  const pool = new VerifyPool({ size: 1 })
  try {
    for (const scheme of ['ed25519', 'secp256k1'] as const) {
      const j = job(7, true, scheme, 'domain/v1 and the body')
      const split = { ...j, msgPrefix: j.msg.subarray(0, 10), msg: j.msg.subarray(10) }
      assert.equal(await pool.verify(split), true)
      assert.equal(await pool.verify({ ...split, msgPrefix: j.msg.subarray(0, 9) }), false)
      assert.deepEqual(await pool.verifyBatch([split, { ...split, msg: j.msg.subarray(11) }]), [true, false])
      assert.equal(await pool.verify({ ...split, msgPrefix: 'x' as unknown as Uint8Array }), false)
    }
  } finally {
    await pool.close()
  }
})

test('secp256k1 jobs follow the account rule: high-S signatures are refused', async () => {
  const pool = new VerifyPool({ size: 1 })
  try {
    const j = job(1, true, 'secp256k1')
    let s = 0n
    for (const b of j.sig.subarray(32)) s = (s << 8n) | BigInt(b)
    const high = j.sig.slice()
    let t = SECP256K1_N - s
    for (let i = 63; i >= 32; i--) {
      high[i] = Number(t & 0xffn)
      t >>= 8n
    }
    assert.deepEqual(await pool.verifyBatch([j, { ...j, sig: high }]), [true, false])
  } finally {
    await pool.close()
  }
})

test('jobs submitted in one tick are grouped into at most size x maxInFlightPerWorker chunks', async () => {
  const pool = new VerifyPool({ size: 2, maxInFlightPerWorker: 2 })
  try {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.verify(job(i))))
    assert.equal(results.every(Boolean), true)
    assert.equal(pool.stats().chunksSent, 4)
    assert.equal(pool.stats().verifiedJobs, 100)
  } finally {
    await pool.close()
  }
})

test('chunk bounds: maxChunkJobs and maxChunkBytes split the work', async () => {
  const pool = new VerifyPool({ size: 1, maxChunkJobs: 5, maxChunkBytes: 400 })
  try {
    const jobs = Array.from({ length: 20 }, (_, i) => job(i, true, 'ed25519', 'x'.repeat(200) + i))
    assert.equal((await pool.verifyBatch(jobs)).every(Boolean), true)
    // Each job packs to ~310 bytes, so the byte bound forces one job per chunk.
    assert.equal(pool.stats().chunksSent, 20)
  } finally {
    await pool.close()
  }
})

test('bounded queue: over maxQueuedJobs the submission is refused whole and nothing changes', async () => {
  const pool = new VerifyPool({ size: 1, maxQueuedJobs: 10 })
  try {
    await assert.rejects(
      pool.verifyBatch(Array.from({ length: 11 }, (_, i) => job(i))),
      code('VERIFY_POOL_OVERLOADED'),
    )
    assert.equal(pool.stats().queuedJobs, 0)
    const first = pool.verifyBatch(Array.from({ length: 10 }, (_, i) => job(i)))
    await assert.rejects(pool.verify(job(99)), code('VERIFY_POOL_OVERLOADED'))
    assert.equal(pool.stats().rejectedOverload, 12)
    assert.deepEqual(await first, new Array(10).fill(true))
    assert.equal(await pool.verify(job(99)), true, 'room again once the backlog drained')
  } finally {
    await pool.close()
  }
})

test('close(): pending jobs rejected, later submissions rejected, idempotent', async () => {
  const pool = new VerifyPool({ size: 1 })
  const pending = assert.rejects(
    pool.verifyBatch(Array.from({ length: 50 }, (_, i) => job(i))),
    code('VERIFY_POOL_CLOSED'),
  )
  await pool.close()
  await pending
  await assert.rejects(pool.verify(job(1)), code('VERIFY_POOL_CLOSED'))
  await pool.close()
})

test('a crashed worker is replaced; its jobs are retried once, alone, and a poison job is rejected', async () => {
  // One worker, one chunk in flight: the four jobs travel together in the first chunk.
  const pool = new VerifyPool({ size: 1, maxInFlightPerWorker: 1, workerUrl: crashWorker })
  try {
    const jobs = [job(1), job(2, false), job(3, true, 'ed25519', 'crash-always'), job(4, true, 'secp256k1')]
    const settled = await Promise.allSettled(jobs.map((j) => pool.verify(j)))
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as PulseError).code)),
      [true, false, 'VERIFY_WORKER_CRASHED', true],
    )
    const st = pool.stats()
    assert.equal(st.workerCrashes, 2, 'first crash with the whole chunk, second with the poison job alone')
    assert.equal(st.retriedJobs, 4)
    assert.equal(st.inFlightJobs, 0)
    assert.equal(await pool.verify(job(5)), true, 'the replacement worker serves new jobs')
  } finally {
    await pool.close()
  }
})

test('with pipelined chunks, a poison job still takes no innocent job down', async () => {
  // Two chunks in flight on one worker: [1, 2] and [poison, 4]. Retries run alone on an idle worker.
  const pool = new VerifyPool({ size: 1, maxInFlightPerWorker: 2, workerUrl: crashWorker })
  try {
    const jobs = [job(1), job(2, false), job(3, true, 'ed25519', 'crash-always'), job(4, true, 'secp256k1')]
    const settled = await Promise.allSettled(jobs.map((j) => pool.verify(j)))
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as PulseError).code)),
      [true, false, 'VERIFY_WORKER_CRASHED', true],
    )
    assert.equal(pool.stats().workerCrashes, 2)
  } finally {
    await pool.close()
  }
})

test('a job whose worker crashed once succeeds on the retry', async () => {
  const pool = new VerifyPool({ size: 2, workerUrl: crashWorker })
  try {
    const marker = join(tmp, 'crash-once-marker')
    const j = job(1, true, 'ed25519', `crash-once:${marker}!`)
    assert.equal(await pool.verify(j), true)
    assert.equal(pool.stats().workerCrashes, 1)
  } finally {
    await pool.close()
  }
})

test('workers that die at start make the pool give up (VERIFY_POOL_BROKEN) instead of respawning forever', async () => {
  const pool = new VerifyPool({
    size: 1,
    maxConsecutiveCrashes: 3,
    workerUrl: new URL('data:text/javascript,process.exit(7)'),
  })
  await assert.rejects(pool.verify(job(1)), (e: unknown) => e instanceof PulseError)
  await assert.rejects(pool.verify(job(2)), code('VERIFY_POOL_BROKEN'))
  assert.equal(pool.stats().workerCrashes, 3)
  await pool.close()
})

test('configuration is validated; default size is the machine parallelism', async () => {
  assert.throws(() => new VerifyPool({ size: 0 }), code('VERIFY_POOL_CONFIG'))
  assert.throws(() => new VerifyPool({ maxQueuedJobs: 1.5 }), code('VERIFY_POOL_CONFIG'))
  const pool = new VerifyPool()
  assert.equal(pool.size, os.availableParallelism())
  await pool.close()
})

test('measureRawVerifyRate reports a positive machine rate per worker', async () => {
  const pool = new VerifyPool({ size: 2 })
  try {
    const r = await measureRawVerifyRate(pool, 50)
    assert.equal(r.perWorker.length, 2)
    assert.ok(r.verifiesPerSecond > 0 && r.perWorker.every((x) => x > 0))
    await assert.rejects(pool.measureRawVerifyRate(0), code('VERIFY_POOL_CONFIG'))
  } finally {
    await pool.close()
  }
})

const vectors = new URL('../../../../shared/vectors/wycheproof/', import.meta.url).pathname
test('Wycheproof through the pool (packing, workers, node:crypto): same answers as the rule', {
  skip: existsSync(vectors) ? false : 'vectors not found',
}, async () => {
  const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
  type W = {
    testGroups: {
      publicKey: { pk?: string; uncompressed?: string }
      tests: { msg: string; sig: string; result: string }[]
    }[]
  }
  const jobs: VerifyJob[] = []
  const want: boolean[] = []
  const ed = JSON.parse(readFileSync(vectors + 'ed25519_test.json', 'utf8')) as W
  for (const g of ed.testGroups) {
    for (const t of g.tests) {
      jobs.push({ scheme: 'ed25519', publicKey: hex(g.publicKey.pk!), msg: hex(t.msg), sig: hex(t.sig) })
      want.push(t.result === 'valid')
    }
  }
  const btc = JSON.parse(readFileSync(vectors + 'ecdsa_secp256k1_sha256_bitcoin_test.json', 'utf8')) as W
  for (const g of btc.testGroups) {
    for (const t of g.tests) {
      const sig = ecdsaSignatureFromDer(hex(t.sig)) ?? new Uint8Array(0) // not strict DER: invalid
      jobs.push({ scheme: 'secp256k1', publicKey: hex(g.publicKey.uncompressed!), msg: hex(t.msg), sig })
      want.push(t.result === 'valid')
    }
  }
  const pool = new VerifyPool({ size: 2 })
  try {
    assert.deepEqual(await pool.verifyBatch(jobs), want)
  } finally {
    await pool.close()
  }
})

test('verifySync gives the workers verdict on the calling thread; idle reflects queued and in-flight jobs', async () => {
  const pool = new VerifyPool({ size: 1 })
  try {
    const jobs: VerifyJob[] = []
    for (let i = 0; i < 12; i++) jobs.push(job(i, i % 3 !== 0, i % 2 === 0 ? 'ed25519' : 'secp256k1'))
    jobs.push({ ...job(20), scheme: 'rsa' } as unknown as VerifyJob, { ...job(21), sig: new Uint8Array(0) })
    // A message in two pieces (prefix || body), as NetworkNode sends txs.
    const whole = job(30)
    jobs.push({ ...whole, msgPrefix: whole.msg.subarray(0, 2), msg: whole.msg.subarray(2) })
    assert.equal(pool.idle, true)
    const pending = pool.verifyBatch(jobs)
    assert.equal(pool.idle, false)
    const byPool = await pending
    assert.equal(pool.idle, true)
    assert.deepEqual(
      jobs.map((j) => pool.verifySync(j)),
      byPool,
    )
    assert.equal(byPool.at(-1), true)
  } finally {
    await pool.close()
  }
  assert.equal(pool.idle, false)
})
