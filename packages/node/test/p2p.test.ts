/** Unit tests of the p2p building blocks: zstd frames and their bounds, token buckets, gater, peer key. */
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { zstdCompressSync } from 'node:zlib'
import { isPulseError } from '@pulsemesh/core'
import fc from 'fast-check'
import { compressFrame, decompressFrame } from '../src/p2p/compression.ts'
import { PeerGater } from '../src/p2p/gater.ts'
import { decodeTxBatch, encodeTxBatch, TX_BATCH_MAX } from '../src/p2p/gossip-transport.ts'
import { loadOrCreatePeerKey, PEER_KEY_FILE } from '../src/p2p/peer-key.ts'
import { PeerTopicBuckets } from '../src/p2p/rate-limit.ts'
import { tempDir } from './fixtures.ts'

const codeOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return isPulseError(e) ? e.code : `non-pulse: ${(e as Error).message}`
  }
  return 'no error'
}

describe('zstd frames', () => {
  it('round-trips any payload and compresses repetitive ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
        assert.deepEqual(decompressFrame(compressFrame(b), 4096), b)
      }),
      { numRuns: 200 },
    )
    const block = new Uint8Array(64 * 1024).map((_, i) => i % 7)
    const f = compressFrame(block)
    assert.equal(f[0], 1)
    assert.ok(f.length < block.length / 10)
    assert.deepEqual(decompressFrame(f, block.length), block)
  })

  it('refuses a zip bomb by its declared size before decompressing', () => {
    const bomb = compressFrame(new Uint8Array(32 * 1024 * 1024))
    assert.ok(bomb.length < 4096)
    assert.equal(
      codeOf(() => decompressFrame(bomb, 1024 * 1024)),
      'DECODE_TOO_LARGE',
    )
  })

  it('refuses a bomb that lies about its size (decompression is capped at the declared size)', () => {
    const z = zstdCompressSync(new Uint8Array(32 * 1024 * 1024))
    const lying = new Uint8Array(5 + z.length)
    lying[0] = 1
    new DataView(lying.buffer).setUint32(1, 100)
    lying.set(z, 5)
    assert.equal(
      codeOf(() => decompressFrame(lying, 1024 * 1024)),
      'DECODE_ERROR',
    )
  })

  it('rejects raw frames over the bound, unknown flags and garbage', () => {
    assert.equal(
      codeOf(() => decompressFrame(compressFrame(new Uint8Array(100).fill(1), 1000), 99)),
      'DECODE_TOO_LARGE',
    )
    assert.equal(
      codeOf(() => decompressFrame(new Uint8Array([7, 1, 2]), 100)),
      'DECODE_ERROR',
    )
    assert.equal(
      codeOf(() => decompressFrame(new Uint8Array(0), 100)),
      'DECODE_ERROR',
    )
    assert.equal(
      codeOf(() => decompressFrame(new Uint8Array([1, 0, 0, 0, 9, 1, 2, 3]), 100)),
      'DECODE_ERROR',
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const c = codeOf(() => decompressFrame(b, 1 << 20))
        assert.ok(['no error', 'DECODE_ERROR', 'DECODE_TOO_LARGE'].includes(c), c)
      }),
      { numRuns: 300 },
    )
  })
})

describe('token buckets per peer and topic', () => {
  it('allows the burst, then the refill rate', () => {
    let t = 0
    const b = new PeerTopicBuckets(() => t)
    const p = { capacity: 3, refillPerSecond: 2 }
    assert.deepEqual(
      [1, 2, 3, 4].map(() => b.take('a', 'votes', p)),
      [true, true, true, false],
    )
    assert.equal(b.take('a', 'txs', p), true, 'topics are separate')
    assert.equal(b.take('b', 'votes', p), true, 'peers are separate')
    t = 500
    assert.equal(b.take('a', 'votes', p), true)
    assert.equal(b.take('a', 'votes', p), false)
  })

  it('stays bounded under a flood of peer ids', () => {
    const b = new PeerTopicBuckets(() => 0)
    for (let i = 0; i < 25_000; i++) b.take(`peer${i}`, 't', { capacity: 1, refillPerSecond: 1 })
    assert.ok(b.size <= 10_000)
  })
})

describe('tx batches', () => {
  it('round-trip, and malformed batches throw DecodeError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }), (txs) => {
        assert.deepEqual(decodeTxBatch(encodeTxBatch(txs)), txs)
      }),
      { numRuns: 100 },
    )
    const ok = encodeTxBatch([new Uint8Array([1, 2, 3])])
    assert.equal(
      codeOf(() => decodeTxBatch(ok.subarray(0, ok.length - 1))),
      'DECODE_ERROR',
    )
    assert.equal(
      codeOf(() => decodeTxBatch(new Uint8Array([...ok, 0]))),
      'DECODE_ERROR',
    )
    assert.equal(
      codeOf(() => decodeTxBatch(new Uint8Array([0, 0]))),
      'DECODE_ERROR',
    )
    const tooMany = new Uint8Array(2)
    new DataView(tooMany.buffer).setUint16(0, TX_BATCH_MAX + 1)
    assert.equal(
      codeOf(() => decodeTxBatch(tooMany)),
      'DECODE_ERROR',
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const c = codeOf(() => decodeTxBatch(b))
        assert.ok(c === 'no error' || c === 'DECODE_ERROR', c)
      }),
      { numRuns: 300 },
    )
  })
})

describe('peer gater', () => {
  it('blocks for a while, and partitions to an allow list', () => {
    let t = 0
    const g = new PeerGater(() => t)
    g.block('x', 1000)
    assert.equal(g.denies('x'), true)
    assert.equal(g.denies('y'), false)
    t = 1001
    assert.equal(g.denies('x'), false)
    g.partition(['y'])
    assert.equal(g.denies('x'), true)
    assert.equal(g.denies('y'), false)
    g.partition(null)
    assert.equal(g.denies('x'), false)
  })
})

describe('peer key', () => {
  it('is created once with mode 0600 and reloaded with the same peer id', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const a = await loadOrCreatePeerKey(dir)
      const file = join(dir, PEER_KEY_FILE)
      assert.equal(statSync(file).mode & 0o777, 0o600)
      const b = await loadOrCreatePeerKey(dir)
      assert.ok(a.equals(b))
      assert.ok(readFileSync(file).length > 32)
    } finally {
      cleanup()
    }
  })
})
