import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseAddress } from '@pulsemesh/core'
import { BANK_KIND, bankModule } from '@pulsemesh/app'
import { Mempool, MempoolError } from '../src/mempool/mempool.ts'
import { keyFromByte, signed } from '../../app/test/helpers.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const carol = keyFromByte(3)
const payload = (amount: bigint) =>
  bankModule.txKinds[0].encode({ to: parseAddress(bob.address).bytes, asset: 'pulse', amount })
const tx = (k: typeof alice, nonce: bigint, fee = 10n, amount = 1n) =>
  signed(k, { kind: BANK_KIND.transfer, payload: payload(amount), nonce, fee })
const rich = { stateNonce: 0n, feeBalance: 10n ** 18n }
const code = (c: string) => (e: unknown) => e instanceof MempoolError && e.code === c

describe('mempool', () => {
  test('orders by fee across senders and by nonce within a sender', () => {
    const m = new Mempool()
    m.add(tx(alice, 0n, 10n), rich)
    m.add(tx(alice, 1n, 1000n), rich)
    m.add(tx(carol, 0n, 50n), rich)
    const order = m.reap(10, 1 << 20).map((d) => `${d.tx.body.fee}`)
    // alice's 1000-fee tx cannot precede her nonce-0 tx.
    assert.deepEqual(order, ['50', '10', '1000'])
  })

  test('duplicate, reused nonce, gap', () => {
    const m = new Mempool()
    const t0 = tx(alice, 0n)
    m.add(t0, rich)
    assert.throws(() => m.add(t0, rich), code('TX_DUPLICATE'))
    assert.throws(() => m.add(tx(alice, 5n), rich), code('NONCE_GAP'))
    assert.throws(() => m.add(tx(alice, 0n, 10n, 2n), { ...rich, stateNonce: 1n }), code('NONCE_REUSED'))
    assert.equal(m.size, 1)
  })

  test('replacement needs a fee bump', () => {
    const m = new Mempool()
    m.add(tx(alice, 0n, 100n), rich)
    assert.throws(() => m.add(tx(alice, 0n, 105n, 2n), rich), code('REPLACEMENT_UNDERPRICED'))
    const r = m.add(tx(alice, 0n, 110n, 3n), rich)
    assert.ok(r.replaced)
    assert.equal(m.size, 1)
    assert.equal(m.reap(10, 1 << 20)[0].tx.body.fee, 110n)
  })

  test('per-sender limit', () => {
    const m = new Mempool({ perSenderMax: 2 })
    m.add(tx(alice, 0n), rich)
    m.add(tx(alice, 1n), rich)
    assert.throws(() => m.add(tx(alice, 2n), rich), code('SENDER_LIMIT'))
  })

  test('pending fees cannot exceed the fee balance', () => {
    const m = new Mempool()
    m.add(tx(alice, 0n, 60n), { stateNonce: 0n, feeBalance: 100n })
    assert.throws(
      () => m.add(tx(alice, 1n, 60n), { stateNonce: 0n, feeBalance: 100n }),
      code('INSUFFICIENT_FEE_FUNDS'),
    )
  })

  test('when full, a richer tx evicts the cheapest tail; a poorer one is refused', () => {
    const m = new Mempool({ txsMax: 2 })
    m.add(tx(alice, 0n, 10n), rich)
    m.add(tx(carol, 0n, 20n), rich)
    assert.throws(() => m.add(tx(bob, 0n, 5n), rich), code('MEMPOOL_FULL'))
    const r = m.add(tx(bob, 0n, 30n), rich)
    assert.equal(r.evicted?.tx.body.fee, 10n)
    assert.equal(m.size, 2)
  })

  test('byte limit is enforced', () => {
    const one = tx(alice, 0n)
    const m = new Mempool({ bytesMax: one.bytes.length + 10 })
    m.add(one, rich)
    assert.throws(() => m.add(tx(carol, 0n, 10n), rich), code('MEMPOOL_FULL'))
  })

  test('update drops included and stale txs; expired txs leave', () => {
    const m = new Mempool()
    const a0 = tx(alice, 0n)
    const a1 = tx(alice, 1n)
    m.add(a0, rich)
    m.add(a1, rich)
    const c0 = signed(carol, { kind: BANK_KIND.transfer, payload: payload(1n), nonce: 0n, expiresAt: 5n })
    m.add(c0, rich)
    m.update([a0], () => 1n, 6n)
    assert.equal(m.size, 1)
    assert.ok(m.has(a1.hashHex))
    assert.equal(m.nextNonce(alice.publicKey.bytes.length ? a1.sender : a1.sender, 1n), 2n)
  })

  test('reap respects the byte budget', () => {
    const m = new Mempool()
    for (let i = 0n; i < 5n; i++) m.add(tx(alice, i), rich)
    const one = m.reap(1, 1 << 20)[0].bytes.length
    assert.equal(m.reap(100, one * 3).length, 3)
  })
  test('reap with an exclude set = the longer reap filtered and cut (pipelined blocks)', () => {
    const senders = [alice, bob, carol, keyFromByte(4), keyFromByte(5)]
    for (let seed = 1; seed <= 20; seed++) {
      let r = seed
      const rnd = (n: number) => {
        r = (r * 1103515245 + 12345) % 2147483648
        return r % n
      }
      const m = new Mempool()
      for (const k of senders) {
        const n = 1 + rnd(6)
        for (let i = 0; i < n; i++) m.add(tx(k, BigInt(i), BigInt(1 + rnd(4)), BigInt(1 + rnd(3))), rich)
      }
      const bytesMax = 200 * (5 + rnd(20))
      const first = m.reap(1 + rnd(8), bytesMax)
      const exclude = new Set(first.map((d) => d.hashHex))
      const n = 1 + rnd(10)
      const want = m
        .reap(n + exclude.size, bytesMax)
        .filter((d) => !exclude.has(d.hashHex))
        .slice(0, n)
      assert.deepEqual(
        m.reap(n, bytesMax, exclude).map((d) => d.hashHex),
        want.map((d) => d.hashHex),
      )
    }
  })
})
