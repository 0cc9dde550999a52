import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  App,
  type BeginBlockInfo,
  bankModule,
  COMMUNITY_POOL,
  CreateValidatorSSZ,
  createStakingModule,
  DelegateSSZ,
  type DecodedTx,
  getBalance,
  getSupply,
  getTotals,
  getValidator,
  MemoryStore,
  Overlay,
  RotateKeySSZ,
  STAKING_KIND,
  STAKING_POOL,
  type StakingParams,
  UnjailSSZ,
} from '../src/index.ts'
import { parseAddress } from '@pulsemesh/core'
import { ctx, keyFromByte, makeGenesis, signed, type TestKey, validator } from './helpers.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const carol = keyFromByte(3)
const id = (k: TestKey) => parseAddress(k.address).bytes
const consKey = (b: number) => keyFromByte(100 + b).publicKey.bytes

function chain(params: Partial<StakingParams> = {}, funded = [alice, bob, carol]) {
  const genesis = makeGenesis(funded)
  const staking = createStakingModule({ unbondingBlocks: 5n, ...params })
  const app = new App(genesis.params, [bankModule, staking])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  const nonces = new Map<string, bigint>()
  let height = 0n
  return {
    app,
    store,
    staking,
    genesis,
    get height() {
      return height
    },
    tx(k: TestKey, kind: number, payload: Uint8Array): DecodedTx {
      const n = nonces.get(k.address) ?? 0n
      nonces.set(k.address, n + 1n)
      return signed(k, { kind, payload, nonce: n, expiresAt: 1_000_000n })
    },
    block(txs: DecodedTx[] = [], info?: Partial<BeginBlockInfo>) {
      height++
      const o = new Overlay(store)
      const exec = app.executeBlock(o, txs, ctx(height), {
        mode: 'build',
        verifySignatures: false,
        beginBlock: { lastCommitVotes: [], misbehaviour: [], ...info },
      })
      o.commit()
      for (const r of exec.rejected) throw r.error
      return exec
    },
  }
}

const create = (c: ReturnType<typeof chain>, k: TestKey, key: Uint8Array, amount: bigint) =>
  c.tx(k, STAKING_KIND.createValidator, CreateValidatorSSZ.serialize({ consensusKey: key, amount }))
const delegate = (c: ReturnType<typeof chain>, k: TestKey, v: TestKey, amount: bigint) =>
  c.tx(k, STAKING_KIND.delegate, DelegateSSZ.serialize({ validator: id(v), amount }))
const undelegate = (c: ReturnType<typeof chain>, k: TestKey, v: TestKey, amount: bigint) =>
  c.tx(k, STAKING_KIND.undelegate, DelegateSSZ.serialize({ validator: id(v), amount }))

/** Every account that can hold the bond asset in these tests. */
function conserved(c: ReturnType<typeof chain>) {
  const asset = 'pulse'
  const t = getTotals(c.store)
  // Users, plus the fee collector (the block proposer's account).
  const users = [alice, bob, carol, validator].reduce((s, k) => s + getBalance(c.store, id(k), asset), 0n)
  const community = getBalance(c.store, COMMUNITY_POOL, asset)
  assert.equal(
    getBalance(c.store, STAKING_POOL, asset),
    t.bonded + t.unbonding,
    'escrow = bonded + unbonding',
  )
  assert.equal(users + t.bonded + t.unbonding + community, getSupply(c.store, asset))
}

describe('staking module', () => {
  test('create validator, delegate, undelegate: set updates and unbonding payout after the period', () => {
    const c = chain()
    const e1 = c.block([create(c, alice, consKey(1), 1000n), delegate(c, bob, alice, 500n)])
    assert.deepEqual(
      e1.results.map((r) => r.error),
      ['', ''],
    )
    assert.deepEqual(
      e1.validatorUpdates.map((u) => u.power),
      [1500n],
    )
    assert.equal(getValidator(c.store, id(alice))!.tokens, 1500n)
    const before = getBalance(c.store, id(bob), 'pulse')
    const e2 = c.block([undelegate(c, bob, alice, 200n)])
    assert.deepEqual(
      e2.validatorUpdates.map((u) => u.power),
      [1300n],
    )
    for (let i = 0; i < 4; i++) c.block()
    assert.equal(getBalance(c.store, id(bob), 'pulse'), before - 10n, 'not yet paid out')
    c.block() // height 2 + 5
    assert.equal(getBalance(c.store, id(bob), 'pulse'), before - 10n + 200n)
    conserved(c)
  })

  test('bad staking txs fail with typed codes and change nothing but fee and nonce', () => {
    const c = chain()
    c.block([create(c, alice, consKey(1), 1000n)])
    const e = c.block([
      create(c, alice, consKey(2), 10n),
      create(c, bob, consKey(1), 10n),
      undelegate(c, bob, alice, 1n),
      c.tx(alice, STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: id(alice) })),
      delegate(c, carol, bob, 5n),
    ])
    assert.deepEqual(
      e.results.map((r) => r.error),
      [
        'VALIDATOR_EXISTS',
        'CONSENSUS_KEY_IN_USE',
        'INSUFFICIENT_DELEGATION',
        'NOT_JAILED',
        'UNKNOWN_VALIDATOR',
      ],
    )
    assert.equal(getValidator(c.store, id(alice))!.tokens, 1000n)
    conserved(c)
  })

  test('active set limited to maxValidators by stake', () => {
    const c = chain({ maxValidators: 2 })
    const e = c.block([
      create(c, alice, consKey(1), 3000n),
      create(c, bob, consKey(2), 2000n),
      create(c, carol, consKey(3), 1000n),
    ])
    // Genesis validator (power 10) drops out; carol (1000) is third: not active.
    const byKey = new Map(e.validatorUpdates.map((u) => [Buffer.from(u.publicKey).toString('hex'), u.power]))
    assert.equal(byKey.get(Buffer.from(consKey(1)).toString('hex')), 3000n)
    assert.equal(byKey.get(Buffer.from(consKey(2)).toString('hex')), 2000n)
    assert.equal(byKey.has(Buffer.from(consKey(3)).toString('hex')), false)
    assert.equal(byKey.get(Buffer.from(validator.publicKey.bytes).toString('hex')), 0n)
  })

  test('duplicate-vote evidence slashes stake and delegations, jails and tombstones; also for a rotated-out key', () => {
    const c = chain()
    c.block([create(c, alice, consKey(1), 1000n), delegate(c, bob, alice, 1000n)])
    c.block([c.tx(alice, STAKING_KIND.rotateKey, RotateKeySSZ.serialize({ newKey: consKey(9) }))])
    const e = c.block([], {
      misbehaviour: [{ consensusKey: consKey(1), height: 1n, kind: 'duplicate-vote' }],
    })
    const v = getValidator(c.store, id(alice))!
    assert.equal(v.tokens, 1900n) // 5% of 2000
    assert.ok(v.jailed && v.tombstoned)
    assert.equal(getBalance(c.store, COMMUNITY_POOL, 'pulse'), 100n)
    assert.ok(e.endEvents.some((x) => x.type === 'slash'))
    assert.deepEqual(
      e.validatorUpdates.map((u) => u.power),
      [0n],
    )
    const u = c.block([c.tx(alice, STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: id(alice) }))])
    assert.equal(u.results[0].error, 'TOMBSTONED')
    // Punished once only.
    c.block([], { misbehaviour: [{ consensusKey: consKey(9), height: 3n, kind: 'duplicate-vote' }] })
    assert.equal(getValidator(c.store, id(alice))!.tokens, 1900n)
    conserved(c)
  })

  test('evidence older than the unbonding period is ignored', () => {
    const c = chain()
    c.block([create(c, alice, consKey(1), 1000n)])
    for (let i = 0; i < 6; i++) c.block()
    c.block([], { misbehaviour: [{ consensusKey: consKey(1), height: 1n, kind: 'duplicate-vote' }] })
    assert.equal(getValidator(c.store, id(alice))!.tombstoned, false)
  })

  test('downtime: missing more than maxMissed of the window jails and slashes less; unjail after the jail period', () => {
    const c = chain({
      signedWindow: 4,
      maxMissed: 2,
      downtimeJailBlocks: 3n,
      slashDowntime: { numerator: 1n, denominator: 100n },
    })
    c.block([create(c, alice, consKey(1), 1000n)])
    const miss = { lastCommitVotes: [{ consensusKey: consKey(1), signed: false }] }
    c.block([], miss)
    c.block([], miss)
    assert.equal(getValidator(c.store, id(alice))!.jailed, false)
    const e = c.block([], miss) // height 4: third miss in the window
    const v = getValidator(c.store, id(alice))!
    assert.ok(v.jailed && !v.tombstoned)
    assert.equal(v.tokens, 990n)
    assert.deepEqual(
      e.validatorUpdates.map((u) => u.power),
      [0n],
    )
    const early = c.block([c.tx(alice, STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: id(alice) }))])
    assert.equal(early.results[0].error, 'STILL_JAILED')
    c.block()
    const ok = c.block([c.tx(alice, STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: id(alice) }))])
    assert.equal(ok.results[0].error, '')
    assert.deepEqual(
      ok.validatorUpdates.map((u) => u.power),
      [990n],
    )
    conserved(c)
  })

  test('property: the staking asset is conserved under any sequence of staking operations and slashes', () => {
    const keys = [alice, bob, carol]
    const op = fc.oneof(
      fc.record({ t: fc.constant('create' as const), who: fc.nat(2), amount: fc.bigInt(1n, 5000n) }),
      fc.record({
        t: fc.constant('delegate' as const),
        who: fc.nat(2),
        to: fc.nat(2),
        amount: fc.bigInt(1n, 5000n),
      }),
      fc.record({
        t: fc.constant('undelegate' as const),
        who: fc.nat(2),
        to: fc.nat(2),
        amount: fc.bigInt(1n, 5000n),
      }),
      fc.record({ t: fc.constant('evidence' as const), who: fc.nat(2) }),
      fc.record({ t: fc.constant('miss' as const), who: fc.nat(2) }),
      fc.record({ t: fc.constant('unjail' as const), who: fc.nat(2) }),
      fc.record({ t: fc.constant('empty' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const c = chain({
          signedWindow: 3,
          maxMissed: 1,
          downtimeJailBlocks: 1n,
          slashDowntime: { numerator: 1n, denominator: 7n },
          slashDoubleSign: { numerator: 1n, denominator: 3n },
        })
        for (const o of ops) {
          if (o.t === 'create') c.block([create(c, keys[o.who], consKey(o.who), o.amount)])
          else if (o.t === 'delegate') c.block([delegate(c, keys[o.who], keys[o.to], o.amount)])
          else if (o.t === 'undelegate') c.block([undelegate(c, keys[o.who], keys[o.to], o.amount)])
          else if (o.t === 'evidence')
            c.block([], {
              misbehaviour: [{ consensusKey: consKey(o.who), height: c.height, kind: 'duplicate-vote' }],
            })
          else if (o.t === 'miss')
            c.block([], { lastCommitVotes: [{ consensusKey: consKey(o.who), signed: false }] })
          else if (o.t === 'unjail')
            c.block([
              c.tx(keys[o.who], STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: id(keys[o.who]) })),
            ])
          else c.block()
          conserved(c)
        }
      }),
      { numRuns: 40 },
    )
  })
})
