/**
 * Property: whatever the interleaving of transfers (both directions, native and returning
 * vouchers), relays, timeouts and refunds, once every packet is settled the amount of each
 * origin asset escrowed on its origin equals the vouchers outstanding on the other network, and
 * no holder gained or lost anything overall (sum over both networks is unchanged).
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { accountIdOf, getBalance, getSupply, mesh } from '../src/index.ts'
import { keyFromByte } from './helpers.ts'
import { genesisFor, SimNetwork } from './mesh-harness.ts'
import {
  createClientTx,
  pending,
  recvTx,
  relayAll,
  timeoutTx,
  transferTx,
  updateClientTx,
} from './mesh-relay.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const relayer = keyFromByte(3)
const v = [keyFromByte(10)]
const w = [keyFromByte(20)]
const idOf = (k: typeof alice) => accountIdOf(k.publicKey)

type Op =
  | { t: 'send'; from: 'alpha' | 'hub'; who: 0 | 1; voucher: boolean; amount: bigint; short: boolean }
  | { t: 'relay'; from: 'alpha' | 'hub' }
  | { t: 'blocks'; on: 'alpha' | 'hub' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('send' as const),
    from: fc.constantFrom('alpha' as const, 'hub' as const),
    who: fc.constantFrom(0 as const, 1 as const),
    voucher: fc.boolean(),
    amount: fc.bigInt({ min: 1n, max: 400n }),
    short: fc.boolean(),
  }),
  fc.record({ t: fc.constant('relay' as const), from: fc.constantFrom('alpha' as const, 'hub' as const) }),
  fc.record({ t: fc.constant('blocks' as const), on: fc.constantFrom('alpha' as const, 'hub' as const) }),
)

/** Delivers what can still be delivered and times out the rest, in both directions. */
function settle(a: SimNetwork, b: SimNetwork): void {
  for (let round = 0; round < 3; round++) {
    for (const [src, dst] of [
      [a, b],
      [b, a],
    ] as const) {
      const ps = pending(src, dst)
      const expired = ps.filter(
        (p) =>
          p.timeoutHeight <= dst.height + 1n &&
          dst.tree.get(mesh.MESH_KEYS.receipt(src.id, dst.id, p.sequence)) === undefined,
      )
      if (expired.length > 0) {
        dst.block()
        const r = src.block([
          updateClientTx(src, dst, relayer),
          ...expired.map((p) => timeoutTx(src, dst, relayer, p)),
        ])
        for (const x of r) assert.equal(x.error, '')
      }
      relayAll(src, dst, relayer)
    }
  }
}

it('conserves every origin asset across networks (property)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 8 }), (ops) => {
      const funded = [alice, bob, relayer]
      const hub = new SimNetwork('hub', genesisFor('hub', 'pulse', funded, v), v)
      const alpha = new SimNetwork('alpha', genesisFor('alpha', 'emo', funded, w), w)
      hub.block()
      alpha.block()
      hub.block([createClientTx(hub, alpha, relayer)])
      alpha.block([createClientTx(alpha, hub, relayer)])
      const nets = { hub, alpha }
      const other = { hub: alpha, alpha: hub }
      const native = { hub: 'pulse', alpha: 'emo' }
      const users = [alice, bob]
      for (const op of ops) {
        if (op.t === 'send') {
          const src = nets[op.from]
          const dst = other[op.from]
          const asset = op.voucher
            ? `transfer/${dst.id}/${native[op.from === 'hub' ? 'alpha' : 'hub']}`
            : native[op.from]
          const key = users[op.who]!
          const r = src.block([
            transferTx(src, key, {
              to: dst.id,
              asset,
              amount: op.amount,
              receiver: idOf(users[1 - op.who]!),
              timeoutHeight: dst.height + (op.short ? 1n : 1000n),
            }),
          ])
          // Failing (no voucher yet, insufficient funds) is fine; it must leave no trace.
          assert.ok(['', 'INSUFFICIENT_FUNDS', 'UNKNOWN_ASSET'].includes(r[0]!.error), r[0]!.error)
        } else if (op.t === 'relay') {
          const src = nets[op.from]
          const dst = other[op.from]
          // Deliver only what has not timed out; late ones are timed out by settle().
          const ps = pending(src, dst).filter(
            (p) =>
              p.timeoutHeight > dst.height + 1n &&
              dst.tree.get(mesh.MESH_KEYS.receipt(src.id, dst.id, p.sequence)) === undefined,
          )
          if (ps.length > 0) {
            src.block()
            const r = dst.block([
              updateClientTx(dst, src, relayer),
              ...ps.map((p) => recvTx(dst, src, relayer, p)),
            ])
            for (const x of r) assert.equal(x.error, '')
          }
        } else nets[op.on].block()
      }
      settle(alpha, hub)
      assert.equal(pending(alpha, hub).length, 0)
      assert.equal(pending(hub, alpha).length, 0)
      for (const [origin, away] of [
        [alpha, hub],
        [hub, alpha],
      ] as const) {
        const base = native[origin.id as 'hub' | 'alpha']
        const voucher = `transfer/${origin.id}/${base}`
        assert.equal(
          getBalance(origin.tree, mesh.escrowAccount(away.id), base),
          getSupply(away.tree, voucher),
        )
        // Holders' totals: fees are paid in 'fee', so each user's base + voucher sum is preserved overall.
        const total = users.reduce(
          (s, u) => s + getBalance(origin.tree, idOf(u), base) + getBalance(away.tree, idOf(u), voucher),
          0n,
        )
        assert.equal(total, 2_000_000n)
      }
    }),
    { numRuns: 15 },
  )
})
