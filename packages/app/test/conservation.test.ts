/** Property: no sequence of bank txs creates or destroys any asset, and balances never go negative. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { parseAddress, toHex } from '@pulsemesh/core'
import { BANK_KIND, bankModule, decodeU128, getSupply, type MemoryStore, Overlay } from '../src/index.ts'
import { ctx, keyFromByte, setup, signed } from './helpers.ts'

const keys = [1, 2, 3, 4].map((b) => keyFromByte(b))
const kind = (k: number) => bankModule.txKinds.find((x) => x.kind === k)!

function totals(store: MemoryStore): Map<string, bigint> {
  const t = new Map<string, bigint>()
  for (const [k, v] of store.map) {
    const bytes = Uint8Array.from(k, (c) => c.charCodeAt(0))
    if (bytes[0] === 0x01 && bytes[1] === 0x01) {
      const asset = new TextDecoder().decode(bytes.subarray(22))
      const amount = decodeU128(v)
      assert.ok(amount > 0n, 'zero balances are deleted, never stored')
      t.set(asset, (t.get(asset) ?? 0n) + amount)
    }
  }
  return t
}

test('bank conserves every asset across random tx sequences', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          from: fc.integer({ min: 0, max: 3 }),
          to: fc.integer({ min: 0, max: 3 }),
          asset: fc.constantFrom('pulse', 'gold', 'nope'),
          amount: fc.bigInt({ min: 0n, max: 2_000_000_000n }),
          fee: fc.bigInt({ min: 10n, max: 1000n }),
        }),
        { maxLength: 40 },
      ),
      (ops) => {
        const { app, store } = setup(keys)
        const nonces = [0n, 0n, 0n, 0n]
        let height = 1n
        for (const op of ops) {
          const d = signed(keys[op.from], {
            kind: BANK_KIND.transfer,
            payload: kind(BANK_KIND.transfer).encode({
              to: parseAddress(keys[op.to].address).bytes,
              asset: op.asset,
              amount: op.amount,
            }),
            nonce: nonces[op.from],
            fee: op.fee,
          })
          const block = new Overlay(store)
          const r = app.executeBlock(block, [d], ctx(height++), { mode: 'build', verifySignatures: false })
          block.commit()
          if (r.included.length === 1) nonces[op.from]++
        }
        const t = totals(store)
        for (const asset of ['pulse', 'gold']) assert.equal(t.get(asset), getSupply(store, asset), asset)
        assert.equal(t.get('pulse'), 4_000_000_000n)
        assert.equal(t.get('gold'), 4000n)
      },
    ),
    { numRuns: 60 },
  )
})

test('block execution is deterministic: same txs, same state bytes', () => {
  const run = () => {
    const { app, store } = setup(keys)
    const txs = [0, 1, 2, 3].map((i) =>
      signed(keys[i], {
        kind: BANK_KIND.transfer,
        payload: kind(BANK_KIND.transfer).encode({
          to: parseAddress(keys[(i + 1) % 4].address).bytes,
          asset: 'pulse',
          amount: 1000n + BigInt(i),
        }),
      }),
    )
    const block = new Overlay(store)
    app.executeBlock(block, txs, ctx(), { mode: 'validate', verifySignatures: true })
    return block
      .sortedWrites()
      .map(([k, v]) => toHex(Uint8Array.from(k, (c) => c.charCodeAt(0))) + (v ? toHex(v) : '-'))
      .join()
  }
  assert.equal(run(), run())
})
