// Corrupted device windows: feature extraction either succeeds or throws a DecodeError, never
// anything else, and never loops on hostile numbers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { DecodeError } from '@pulsemesh/core/errors.ts'
import { extractFeatures } from '../src/extract.ts'
import { SimulatedDevice } from '../src/sim/devices.ts'
import { PERSONAS } from '../src/sim/personas.ts'
import type { RawWindow } from '../src/window.ts'

const WINDOW = 10_000
const base: RawWindow[] = (['ble-hrm', 'e4', 'muse', 'thinkgear'] as const).map((kind) =>
  new SimulatedDevice({ id: `d-${kind}`, kind, persona: PERSONAS.focused, seed: 3 }).readSync(WINDOW),
)

function mutate(w: RawWindow, at: number, value: number, cut: number): RawWindow {
  const chunks = w.chunks.map((c, i) => {
    if (i !== at % w.chunks.length) return c
    const b = c.bytes.slice(0, Math.max(0, c.bytes.length - (cut % 3)))
    if (b.length > 0) b[value % b.length] ^= (value >> 8) & 0xff || 1
    return { tag: c.tag, bytes: b }
  })
  return { ...w, chunks }
}

test('fuzz: bit flips and truncations in any device window only raise DecodeError', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat(), fc.nat(), (k, at, value, cut) => {
      const w = mutate(base[k], at, value, cut)
      const bundle = k === 3 ? [base[0], base[1], w] : k === 2 ? [base[0], base[1], w] : [w]
      try {
        const f = extractFeatures(bundle)
        assert.ok(Number.isSafeInteger(f.quantized.hrCentiBpm))
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${(e as Error).name}: ${(e as Error).message}`)
      }
    }),
    { numRuns: 150 },
  )
})

test('hostile E4 numbers are rejected with a reason', () => {
  const e4 = {
    ...base[1],
    chunks: [{ tag: 'EDA.csv', bytes: new TextEncoder().encode('1\n4\n9000000000.0\n') }],
  }
  assert.throws(
    () => extractFeatures([e4]),
    (e: unknown) => e instanceof DecodeError && e.meta.reason === 'E4_VALUE_RANGE',
  )
  const odd = { ...base[1], chunks: [{ tag: 'EDA.csv', bytes: new TextEncoder().encode('1\n4.5\n1.0\n') }] }
  assert.throws(
    () => extractFeatures([odd]),
    (e: unknown) => e instanceof DecodeError && e.meta.reason === 'E4_UNSUPPORTED_RATE',
  )
})
