// EMO issuance and reward split (conservation, exact schedule) and the active-set ranking.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sha256, toHex, u64be } from '@pulsemesh/core'
import { decodeQuantizedFeatures, encodeQuantizedFeatures } from '@pulsemesh/emotion'
import fc from 'fast-check'
import {
  blockReward,
  COMMUNITY_POOL,
  getBalance,
  getSupply,
  getValidatorEmotion,
  getEmoIssuance,
  type MemoryStore,
  rankActiveSet,
  REWARD_POOL,
  scheduledIssuance,
} from '../src/index.ts'
import { deviceKey, emotionChain, idOf, kit, salt, windowOf } from './emotion-harness.ts'

const base = [
  await windowOf(kit('a', 'calm', 11), salt(1)),
  await windowOf(kit('b', 'calm', 12), salt(2)),
  await windowOf(kit('c', 'focused', 13), salt(3)),
]
/** Validator i's window for an epoch: a distinct record each epoch (HR nudged), fresh commitment. */
function windowFor(i: number, epoch: bigint) {
  const q = decodeQuantizedFeatures(base[i].features)
  return {
    features: encodeQuantizedFeatures({ ...q, hrCentiBpm: q.hrCentiBpm + Number(epoch) * 7 }),
    commitment: sha256(u64be(epoch * 10n + BigInt(i))),
  }
}
const devs = [deviceKey(51), deviceKey(52), deviceKey(53)]

/** Σ of every account's balance of an asset (scan of bank balance keys 01 01 <id 20> <asset>). */
function sumBalances(store: MemoryStore, asset: string): bigint {
  let s = 0n
  for (const [k, v] of store.map) {
    if (k.charCodeAt(0) !== 1 || k.charCodeAt(1) !== 1 || k.slice(22) !== asset) continue
    let x = 0n
    for (const b of v) x = (x << 8n) | BigInt(b)
    s += x
  }
  return s
}

describe('EMO issuance', () => {
  test('schedule: halving, closed form equals the block-by-block sum', () => {
    const e = { asset: 'emo', initialBlockReward: 1000n, halvingIntervalBlocks: 3n }
    assert.deepEqual(
      [0n, 1n, 3n, 4n, 6n, 7n].map((h) => blockReward(e, h)),
      [0n, 1000n, 1000n, 500n, 500n, 250n],
    )
    let sum = 0n
    for (let h = 1n; h <= 40n; h++) {
      sum += blockReward(e, h)
      assert.equal(scheduledIssuance(e, h), sum)
    }
    assert.equal(scheduledIssuance({ ...e, halvingIntervalBlocks: 0n }, 10n), 10_000n)
  })

  test('property: supply == Σ balances (pools included); issuance exactly as scheduled (capped by maxSupply)', () => {
    fc.assert(
      fc.property(
        fc.record({
          reward: fc.bigInt({ min: 0n, max: 10_000_000n }),
          halving: fc.bigInt({ min: 0n, max: 12n }),
          cap: fc.option(fc.bigInt({ min: 1n, max: 50_000_000n }), { nil: undefined }),
          blocks: fc.integer({ min: 1, max: 30 }),
          attend: fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), {
            minLength: 6,
            maxLength: 6,
          }),
          stakes: fc.array(fc.bigInt({ min: 1n, max: 1n << 60n }), { minLength: 3, maxLength: 3 }),
        }),
        (r) => {
          const economics = { asset: 'emo', initialBlockReward: r.reward, halvingIntervalBlocks: r.halving }
          const c = emotionChain({
            params: { blocksPerEpoch: 5n, economics },
            genesis: (g) => ({
              ...g,
              assets: g.assets.map((a) =>
                a.id === 'emo' && r.cap !== undefined ? { ...a, maxSupply: r.cap + 4000n } : a,
              ),
            }),
          })
          for (const [i, v] of c.vals.entries()) c.stakes.set(toHex(idOf(v)), r.stakes[i])
          const genesisSupply = getSupply(c.store, 'emo')
          c.block(c.vals.map((v, i) => c.registerDevice(v, devs[i])))
          for (let b = 1; b < r.blocks; b++) {
            const epoch = c.epoch
            const first = c.height % 5n === 0n
            const txs =
              first && epoch < 6n
                ? c.vals.flatMap((v, i) =>
                    r.attend[Number(epoch)][i] ? [c.attest(v, devs[i], windowFor(i, epoch))] : [],
                  )
                : []
            c.block(txs)
          }
          const supply = getSupply(c.store, 'emo')
          assert.equal(sumBalances(c.store, 'emo'), supply)
          assert.equal(getBalance(c.store, REWARD_POOL, 'emo'), 0n)
          const expected = scheduledIssuance(economics, c.height)
          const issued = supply - genesisSupply
          if (r.cap === undefined) assert.equal(issued, expected)
          else assert.equal(issued, expected < r.cap ? expected : r.cap)
          const t = getEmoIssuance(c.store)
          assert.equal(t.minted, issued)
          assert.equal(t.distributed + t.toCommunity, t.minted)
        },
      ),
      { numRuns: 12 },
    )
  })

  test('rewards are split by stake × score; rounding dust and unscored blocks go to the community pool', () => {
    const economics = { asset: 'emo', initialBlockReward: 1_000_003n, halvingIntervalBlocks: 0n }
    const c = emotionChain({ params: { blocksPerEpoch: 5n, economics } })
    c.block(c.vals.map((v, i) => c.registerDevice(v, devs[i])))
    // before any epoch closed there are no scores: everything goes to the community pool
    assert.equal(getBalance(c.store, COMMUNITY_POOL, 'emo'), 1_000_003n)
    c.block(c.vals.map((v, i) => c.attest(v, devs[i], windowFor(i, 0n))))
    c.toEpochEnd()
    const ids = c.vals.map(idOf)
    const before = ids.map((id) => getBalance(c.store, id, 'emo'))
    const communityBefore = getBalance(c.store, COMMUNITY_POOL, 'emo')
    c.block()
    const w = ids.map((id) => {
      const rec = getValidatorEmotion(c.store, id)!
      return rec.eligible ? c.stakes.get(toHex(id))! * BigInt(rec.score) : 0n
    })
    const total = w.reduce((a, b) => a + b, 0n)
    assert.ok(total > 0n)
    let paid = 0n
    ids.forEach((id, i) => {
      const share = (1_000_003n * w[i]) / total
      paid += share
      assert.equal(getBalance(c.store, id, 'emo') - before[i], share)
    })
    assert.equal(getBalance(c.store, COMMUNITY_POOL, 'emo') - communityBefore, 1_000_003n - paid)
  })
})

describe('rankActiveSet', () => {
  test('orders by stake × score, then stake, then address', () => {
    const r = rankActiveSet(
      [
        { address: 'c', stake: 100n, scorePermille: 500 },
        { address: 'b', stake: 50n, scorePermille: 1000 },
        { address: 'a', stake: 50n, scorePermille: 1000 },
        { address: 'd', stake: 1000n, scorePermille: 10 },
        { address: 'e', stake: 10n, scorePermille: 0 },
        { address: 'f', stake: 20n, scorePermille: 0 },
      ],
      5,
    )
    assert.deepEqual(
      r.map((x) => x.address),
      ['c', 'a', 'b', 'd', 'f'],
    )
    assert.equal(r[0].weight, 50_000n)
  })

  test('property: permutation-invariant, bounded by size, sorted by weight', () => {
    const cand = fc.uniqueArray(
      fc.record({
        address: fc.string({ minLength: 1, maxLength: 4 }),
        stake: fc.bigInt({ min: 0n, max: 1000n }),
        scorePermille: fc.integer({ min: 0, max: 1500 }),
      }),
      { selector: (c) => c.address, maxLength: 40 },
    )
    fc.assert(
      fc.property(cand, fc.integer({ min: 0, max: 30 }), fc.integer(), (cs, size, seed) => {
        const shuffled = [...cs].sort(
          (a, b) => ((a.address.charCodeAt(0) * seed) % 7) - ((b.address.charCodeAt(0) * seed) % 7),
        )
        const a = rankActiveSet(cs, size)
        assert.deepEqual(rankActiveSet(shuffled, size), a)
        assert.equal(a.length, Math.min(size, cs.length))
        for (let i = 1; i < a.length; i++) assert.ok(a[i - 1].weight >= a[i].weight)
      }),
      { numRuns: 100 },
    )
  })

  test('bad input is a typed error', () => {
    const bad = (f: () => unknown) =>
      assert.throws(f, (e: Error & { code?: string }) => e.code === 'EMOTION_BAD_RANKING_INPUT')
    bad(() => rankActiveSet([{ address: 'a', stake: -1n, scorePermille: 1 }], 1))
    bad(() => rankActiveSet([{ address: 'a', stake: 1n, scorePermille: 0.5 }], 1))
    bad(() =>
      rankActiveSet(
        [
          { address: 'a', stake: 1n, scorePermille: 1 },
          { address: 'a', stake: 2n, scorePermille: 1 },
        ],
        1,
      ),
    )
    bad(() => rankActiveSet([], -1))
  })
})
