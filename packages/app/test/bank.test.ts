import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseAddress } from '@pulsemesh/core'
import { BANK_KIND, bankModule, getBalance, getNonce, getSupply, Overlay, TxError } from '../src/index.ts'
import { ctx, keyFromByte, setup, signed, validator } from './helpers.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const carol = keyFromByte(3, 'secp256k1')
const kind = (k: number) => bankModule.txKinds.find((x) => x.kind === k)!
const transfer = (to: string, asset: string, amount: bigint) =>
  kind(BANK_KIND.transfer).encode({ to: parseAddress(to).bytes, asset, amount })
const id = (k: { address: string }) => parseAddress(k.address).bytes

describe('bank', () => {
  test('genesis funds accounts and sets supply', () => {
    const { store } = setup([alice, bob])
    assert.equal(getBalance(store, id(alice), 'pulse'), 1_000_000_000n)
    assert.equal(getSupply(store, 'pulse'), 2_000_000_000n)
    assert.equal(getSupply(store, 'gold'), 2000n)
  })

  test('transfer moves funds, charges the fee to the proposer, bumps the nonce', () => {
    const { app, store } = setup([alice, bob])
    const block = new Overlay(store)
    const r = app.applyTx(
      block,
      signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 500n) }),
      ctx(),
      true,
    )
    assert.equal(r.error, '')
    assert.equal(r.events[0].type, 'transfer')
    block.commit()
    assert.equal(getBalance(store, id(alice), 'pulse'), 1_000_000_000n - 500n - 10n)
    assert.equal(getBalance(store, id(bob), 'pulse'), 1_000_000_000n + 500n)
    const proposer = parseAddress(keyFromByte(200).address).bytes
    assert.equal(getBalance(store, proposer, 'pulse'), 10n)
    assert.equal(getNonce(store, id(alice)), 1n)
    assert.equal(getSupply(store, 'pulse'), 2_000_000_000n)
    void validator
  })

  test('secp256k1 accounts can transfer', () => {
    const { app, store } = setup([carol, bob])
    const r = app.applyTx(
      store,
      signed(carol, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'gold', 7n) }),
      ctx(),
      true,
    )
    assert.equal(r.error, '')
    assert.equal(getBalance(store, id(bob), 'gold'), 1007n)
  })

  test('a failed transfer pays its fee and uses its nonce but moves nothing', () => {
    const { app, store } = setup([alice, bob])
    const r = app.applyTx(
      store,
      signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 10n ** 12n) }),
      ctx(),
      true,
    )
    assert.equal(r.error, 'INSUFFICIENT_FUNDS')
    assert.equal(getBalance(store, id(bob), 'pulse'), 1_000_000_000n)
    assert.equal(getBalance(store, id(alice), 'pulse'), 1_000_000_000n - 10n)
    assert.equal(getNonce(store, id(alice)), 1n)
  })

  test('unknown asset fails with UNKNOWN_ASSET', () => {
    const { app, store } = setup([alice, bob])
    const r = app.applyTx(
      store,
      signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'silver', 1n) }),
      ctx(),
      true,
    )
    assert.equal(r.error, 'UNKNOWN_ASSET')
  })

  test('create asset, mint by issuer only, burn', () => {
    const { app, store } = setup([alice, bob])
    const create = kind(BANK_KIND.createAsset).encode({
      id: 'token',
      decimals: 2,
      maxSupply: 1000n,
      initialSupply: 100n,
    })
    assert.equal(
      app.applyTx(store, signed(alice, { kind: BANK_KIND.createAsset, payload: create }), ctx(), true).error,
      '',
    )
    assert.equal(getBalance(store, id(alice), 'token'), 100n)
    const again = app.applyTx(
      store,
      signed(bob, { kind: BANK_KIND.createAsset, payload: create }),
      ctx(),
      true,
    )
    assert.equal(again.error, 'ASSET_EXISTS')
    const mint = kind(BANK_KIND.mint).encode({ asset: 'token', to: id(bob), amount: 50n })
    assert.equal(
      app.applyTx(store, signed(bob, { kind: BANK_KIND.mint, payload: mint, nonce: 1n }), ctx(), true).error,
      'NOT_ASSET_ISSUER',
    )
    assert.equal(
      app.applyTx(store, signed(alice, { kind: BANK_KIND.mint, payload: mint, nonce: 1n }), ctx(), true)
        .error,
      '',
    )
    const tooMuch = kind(BANK_KIND.mint).encode({ asset: 'token', to: id(bob), amount: 851n })
    assert.equal(
      app.applyTx(store, signed(alice, { kind: BANK_KIND.mint, payload: tooMuch, nonce: 2n }), ctx(), true)
        .error,
      'SUPPLY_OVERFLOW',
    )
    const burn = kind(BANK_KIND.burn).encode({ asset: 'token', amount: 30n })
    assert.equal(
      app.applyTx(store, signed(bob, { kind: BANK_KIND.burn, payload: burn, nonce: 2n }), ctx(), true).error,
      '',
    )
    assert.equal(getSupply(store, 'token'), 120n)
  })
})

describe('ante: invalid txs throw a typed error and change nothing', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => ReturnType<typeof signed>, string][] = [
    [
      'wrong network',
      () =>
        signed(alice, {
          kind: BANK_KIND.transfer,
          payload: transfer(bob.address, 'pulse', 1n),
          networkId: 'other',
        }),
      'WRONG_NETWORK',
    ],
    [
      'nonce reuse',
      () =>
        signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 1n), nonce: 0n }),
      'NONCE_REUSED',
    ],
    [
      'nonce gap',
      () =>
        signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 1n), nonce: 5n }),
      'NONCE_GAP',
    ],
    [
      'expired',
      () =>
        signed(alice, {
          kind: BANK_KIND.transfer,
          payload: transfer(bob.address, 'pulse', 1n),
          nonce: 1n,
          expiresAt: 0n,
        }),
      'TX_EXPIRED',
    ],
    [
      'fee too low',
      () =>
        signed(alice, {
          kind: BANK_KIND.transfer,
          payload: transfer(bob.address, 'pulse', 1n),
          nonce: 1n,
          fee: 9n,
        }),
      'FEE_TOO_LOW',
    ],
    [
      'fee unaffordable',
      () =>
        signed(alice, {
          kind: BANK_KIND.transfer,
          payload: transfer(bob.address, 'pulse', 1n),
          nonce: 1n,
          fee: 10n ** 15n,
        }),
      'INSUFFICIENT_FEE_FUNDS',
    ],
    [
      'unknown kind',
      () => signed(alice, { kind: 0x7777, payload: new Uint8Array(), nonce: 1n }),
      'UNKNOWN_TX_KIND',
    ],
    [
      'malformed payload',
      () => signed(alice, { kind: BANK_KIND.transfer, payload: new Uint8Array([1, 2, 3]), nonce: 1n }),
      'MALFORMED_PAYLOAD',
    ],
  ]
  for (const [name, make, code] of cases) {
    test(name, () => {
      const s = setup([alice, bob])
      // First a valid tx, so nonce 0 is used.
      s.app.applyTx(
        s.store,
        signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 1n) }),
        ctx(),
        true,
      )
      const before = [...s.store.map.entries()]
        .map(([k, v]) => k + Buffer.from(v).toString('hex'))
        .sort()
        .join()
      assert.throws(
        () => s.app.applyTx(s.store, make(s), ctx(2n), true),
        (e: unknown) => e instanceof TxError && e.code === code,
      )
      const after = [...s.store.map.entries()]
        .map(([k, v]) => k + Buffer.from(v).toString('hex'))
        .sort()
        .join()
      assert.equal(after, before)
    })
  }

  test('bad signature', () => {
    const s = setup([alice, bob])
    const d = signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 1n) })
    d.tx.signature = d.tx.signature.slice()
    d.tx.signature[3] ^= 1
    assert.throws(
      () => s.app.applyTx(s.store, d, ctx(), true),
      (e: unknown) => e instanceof TxError && e.code === 'BAD_SIGNATURE',
    )
  })

  test('a block with an invalid tx is rejected in validate mode, skipped in build mode', () => {
    const s = setup([alice, bob])
    const good = signed(alice, { kind: BANK_KIND.transfer, payload: transfer(bob.address, 'pulse', 1n) })
    const gap = signed(alice, {
      kind: BANK_KIND.transfer,
      payload: transfer(bob.address, 'pulse', 1n),
      nonce: 3n,
    })
    const built = s.app.executeBlock(new Overlay(s.store), [good, gap], ctx(), {
      mode: 'build',
      verifySignatures: true,
    })
    assert.equal(built.included.length, 1)
    assert.equal(built.rejected[0].error.code, 'NONCE_GAP')
    assert.throws(
      () =>
        s.app.executeBlock(new Overlay(s.store), [good, gap], ctx(), {
          mode: 'validate',
          verifySignatures: true,
        }),
      (e: unknown) => (e as { code?: string }).code === 'BLOCK_INVALID',
    )
  })
})
