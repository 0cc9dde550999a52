import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { DecodeError, decodeFrames, encodeFrames, frameAt } from '../src/index.ts'

const b = (...xs: number[]) => new Uint8Array(xs)

describe('length-prefixed frames', () => {
  test('layout: u32be length then bytes, back to back; headroom zero bytes first', () => {
    assert.deepEqual(encodeFrames([b(7), b(), b(1, 2)]), b(0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2))
    assert.deepEqual(encodeFrames([b(9)], 3), b(0, 0, 0, 0, 0, 0, 1, 9))
    assert.deepEqual(encodeFrames([]), b())
    assert.ok(encodeFrames([b(1)]).buffer instanceof ArrayBuffer)
  })

  test('round trip (any items, with and without count); decoded items are views', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), (items) => {
        const enc = encodeFrames(items)
        assert.deepEqual(decodeFrames(enc), items)
        assert.deepEqual(decodeFrames(enc, { count: items.length }), items)
        for (const [i, it] of items.entries()) assert.deepEqual(frameAt(enc, i), it)
        assert.equal(frameAt(enc, items.length), undefined)
      }),
    )
    const enc = encodeFrames([b(1, 2)])
    assert.equal(decodeFrames(enc)[0].buffer, enc.buffer)
    // A view with a byte offset decodes the same (callers pass subarrays after their own header).
    const withHead = encodeFrames([b(5), b(6, 6)], 5)
    assert.deepEqual(decodeFrames(withHead.subarray(5), { count: 2 }), [b(5), b(6, 6)])
  })

  test('truncated length prefix or item: DECODE_ERROR', () => {
    const enc = encodeFrames([b(1, 2, 3), b(4)])
    for (let cut = 1; cut < enc.length; cut++) {
      if (cut === 7) continue // exactly the first item: a valid one-item encoding
      assert.throws(() => decodeFrames(enc.subarray(0, cut)), { name: 'DecodeError', code: 'DECODE_ERROR' })
      assert.throws(() => decodeFrames(enc.subarray(0, cut), { count: 2 }), { code: 'DECODE_ERROR' })
    }
    assert.throws(() => decodeFrames(enc.subarray(0, 7), { count: 2 }), /truncated length prefix at byte 7/)
    assert.throws(() => decodeFrames(b(0, 0, 0, 9, 1)), /item 0 runs past the end/)
    // A length near 2^32 must not wrap around the bounds check.
    assert.throws(() => decodeFrames(b(0xff, 0xff, 0xff, 0xff, 1, 2)), { code: 'DECODE_ERROR' })
  })

  test('count: fewer items is truncated, more bytes is trailing', () => {
    const enc = encodeFrames([b(1), b(2), b(3)])
    assert.throws(() => decodeFrames(enc, { count: 4 }), /truncated/)
    assert.throws(
      () => decodeFrames(enc, { count: 2, what: 'snapshot' }),
      /^DecodeError: snapshot: trailing bytes/,
    )
    assert.throws(() => decodeFrames(b(1), { count: 0 }), { code: 'DECODE_ERROR' })
    assert.deepEqual(decodeFrames(b(), { count: 0 }), [])
  })

  test('maxCount: one item over is DECODE_TOO_LARGE; exactly maxCount decodes', () => {
    const items = Array.from({ length: 5 }, (_, i) => b(i))
    assert.equal(decodeFrames(encodeFrames(items), { maxCount: 5 }).length, 5)
    assert.throws(
      () => decodeFrames(encodeFrames([...items, b(9)]), { maxCount: 5 }),
      (e) => {
        assert.ok(e instanceof DecodeError)
        assert.equal(e.code, 'DECODE_TOO_LARGE')
        return true
      },
    )
  })

  test('nonEmpty: a zero-length item is DECODE_ERROR (allowed otherwise)', () => {
    const enc = encodeFrames([b(1), b()])
    assert.deepEqual(decodeFrames(enc), [b(1), b()])
    assert.throws(() => decodeFrames(enc, { nonEmpty: true }), /empty item 1 at byte 5/)
  })

  test('arbitrary bytes: decodeFrames throws only DecodeError, frameAt never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), (bytes, i) => {
        try {
          decodeFrames(bytes, { maxCount: 4, nonEmpty: true })
        } catch (e) {
          assert.ok(e instanceof DecodeError)
        }
        frameAt(bytes, i)
      }),
    )
  })

  test('frameAt: undefined once the framing breaks before the index', () => {
    const enc = encodeFrames([b(1), b(2, 2)])
    const broken = enc.subarray(0, enc.length - 1)
    assert.deepEqual(frameAt(broken, 0), b(1))
    assert.equal(frameAt(broken, 1), undefined)
    assert.equal(frameAt(b(), 0), undefined)
  })
})
