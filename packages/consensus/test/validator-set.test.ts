import assert from 'node:assert/strict'
import { test } from 'node:test'
import { utf8 } from '@pulsemesh/core/bytes.ts'
import { Prng } from '../src/sim/prng.ts'
import {
  advanceValidatorSet,
  applyValidatorChanges,
  type ConsensusValidator,
  createValidatorSet,
  incrementProposerPriority,
  MAX_TOTAL_VOTING_POWER,
  proposerIndexForRound,
  type ValidatorSet,
  validatorSetFromParts,
} from '../src/validator-set.ts'

const v = (name: string | Uint8Array, power: bigint) => ({
  address: typeof name === 'string' ? utf8(name) : name,
  publicKey: new Uint8Array(32),
  votingPower: power,
})
const name = (set: ValidatorSet) => new TextDecoder().decode(set.validators[set.proposerIndex].address)
const addr20 = (last: number) => {
  const a = new Uint8Array(20)
  a[19] = last
  return a
}

// Ported from CometBFT types/validator_set_test.go TestProposerSelection1.
test('proposer sequence matches CometBFT TestProposerSelection1', () => {
  let set = createValidatorSet([v('foo', 1000n), v('bar', 300n), v('baz', 330n)])
  const got: string[] = []
  for (let i = 0; i < 99; i++) {
    got.push(name(set))
    set = incrementProposerPriority(set, 1)
  }
  const expected =
    'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo'
  assert.equal(got.join(' '), expected)
})

// CometBFT TestProposerSelection2.
test('equal power goes in address order; higher power proposes first; proportional counts', () => {
  const list = [v(addr20(0), 100n), v(addr20(1), 100n), v(addr20(2), 100n)]
  let set = createValidatorSet(list)
  for (let i = 0; i < 15; i++) {
    assert.equal(set.validators[set.proposerIndex].address[19], i % 3)
    set = incrementProposerPriority(set, 1)
  }
  set = createValidatorSet([list[0], list[1], v(addr20(2), 400n)])
  assert.equal(set.validators[set.proposerIndex].address[19], 2)
  set = incrementProposerPriority(set, 1)
  assert.equal(set.validators[set.proposerIndex].address[19], 0)

  set = createValidatorSet([list[0], list[1], v(addr20(2), 401n)])
  assert.equal(set.validators[set.proposerIndex].address[19], 2)
  set = incrementProposerPriority(set, 1)
  assert.equal(set.validators[set.proposerIndex].address[19], 2)
  set = incrementProposerPriority(set, 1)
  assert.equal(set.validators[set.proposerIndex].address[19], 0)

  set = createValidatorSet([v(addr20(0), 4n), v(addr20(1), 5n), v(addr20(2), 3n)])
  const count = [0, 0, 0]
  for (let i = 0; i < 120; i++) {
    count[set.validators[set.proposerIndex].address[19]]++
    set = incrementProposerPriority(set, 1)
  }
  assert.deepEqual(count, [40, 50, 30])
})

// CometBFT TestProposerSelection3: the order holds whatever the increments' `times`.
test('order is stable under increments of several times at once', () => {
  let set = createValidatorSet([v('a', 1n), v('b', 1n), v('c', 1n), v('d', 1n)])
  const order: string[] = []
  let s = set
  for (let i = 0; i < 4; i++) {
    order.push(name(s))
    s = incrementProposerPriority(s, 1)
  }
  const rng = new Prng(42)
  let j = 0
  for (let i = 0; i < 2000; i++) {
    assert.equal(name(set), order[j % 4], `step ${i}`)
    const times = rng.chance(500) ? rng.range(1, 4) : 1
    set = incrementProposerPriority(set, times)
    j += times
  }
})

// CometBFT TestAveragingInIncrementProposerPriority (zero power: only centring acts).
test('centring subtracts the floor average', () => {
  const mk = (pr: bigint[]): ConsensusValidator[] =>
    pr.map((p, i) => ({
      address: utf8('abc'[i]),
      publicKey: new Uint8Array(32),
      votingPower: 0n,
      proposerPriority: p,
    }))
  const cases: [bigint[], number, bigint][] = [
    [[1n, 2n, 3n], 1, 2n],
    [[10n, -10n, 1n], 11, 0n],
    [[100n, -10n, 1n], 1, 30n],
  ]
  for (const [pr, times, avg] of cases) {
    const set = validatorSetFromParts(mk(pr))
    const next = incrementProposerPriority(set, times)
    assert.deepEqual(
      next.validators.map((x) => x.proposerPriority),
      pr.map((p) => p - avg),
    )
  }
})

// CometBFT TestAveragingInIncrementProposerPriorityWithVotingPower.
test('priorities after n increments with powers 10, 1, 1', () => {
  const vp = [10n, 1n, 1n]
  const total = 12n
  const base = validatorSetFromParts(
    vp.map((p, i) => ({
      address: Uint8Array.of(i),
      publicKey: new Uint8Array(32),
      votingPower: p,
      proposerPriority: 0n,
    })),
  )
  const [vp0, vp1, vp2] = vp
  const cases: [number, bigint[], number][] = [
    [1, [vp0 - total, vp1, vp2], 0],
    [2, [2n * (vp0 - total), 2n * vp1, 2n * vp2], 0],
    [3, [3n * (vp0 - total), 3n * vp1, 3n * vp2], 0],
    [4, [4n * (vp0 - total), 4n * vp1, 4n * vp2], 0],
    [5, [4n * (vp0 - total) + vp0, 5n * vp1 - total, 5n * vp2], 1],
    [6, [6n * vp0 - 5n * total, 6n * vp1 - total, 6n * vp2], 0],
    [7, [7n * vp0 - 6n * total, 7n * vp1 - total, 7n * vp2], 0],
    [8, [8n * vp0 - 7n * total, 8n * vp1 - total, 8n * vp2], 0],
    [9, [9n * vp0 - 7n * total, 9n * vp1 - total, 9n * vp2 - total], 2],
    [10, [10n * vp0 - 8n * total, 10n * vp1 - total, 10n * vp2 - total], 0],
    [11, [11n * vp0 - 9n * total, 11n * vp1 - total, 11n * vp2 - total], 0],
  ]
  for (const [times, want, proposer] of cases) {
    const s = incrementProposerPriority(base, times)
    assert.deepEqual(
      s.validators.map((x) => x.proposerPriority),
      want,
      `times ${times}`,
    )
    assert.equal(s.proposerIndex, proposer, `times ${times}`)
  }
})

test('a new validator starts at -1.125 * total, then the set is centred', () => {
  const set = validatorSetFromParts([
    { address: utf8('p1'), publicKey: new Uint8Array(32), votingPower: 1n, proposerPriority: 0n },
    { address: utf8('p2'), publicKey: new Uint8Array(32), votingPower: 3n, proposerPriority: 0n },
  ])
  const next = applyValidatorChanges(set, [v('p3', 8n)])
  // -(12 + 12 >> 3) = -13; centred by floor(-13 / 3) = -5.
  const byName = Object.fromEntries(
    next.validators.map((x) => [new TextDecoder().decode(x.address), x.proposerPriority]),
  )
  assert.deepEqual(byName, { p1: 5n, p2: 5n, p3: -8n })
  // Sorted by power descending.
  assert.deepEqual(
    next.validators.map((x) => x.votingPower),
    [8n, 3n, 1n],
  )
})

test('sets are sorted by power then address; round r proposer = r increments', () => {
  const set = createValidatorSet([v('c', 5n), v('a', 5n), v('b', 9n)])
  assert.deepEqual(
    set.validators.map((x) => new TextDecoder().decode(x.address)),
    ['b', 'a', 'c'],
  )
  for (let r = 1; r < 6; r++)
    assert.equal(proposerIndexForRound(set, r), incrementProposerPriority(set, r).proposerIndex)
  const next = advanceValidatorSet(set)
  assert.equal(next.proposerIndex, incrementProposerPriority(set, 1).proposerIndex)
})

test('bad validator changes throw typed errors and leave the input set unchanged', () => {
  const set = createValidatorSet([v('a', 1n), v('b', 2n)])
  const before = JSON.stringify(set, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
  const codeOf = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      return (e as { code: string }).code
    }
    return 'NO_ERROR'
  }
  assert.equal(
    codeOf(() => createValidatorSet([])),
    'VALSET_EMPTY',
  )
  assert.equal(
    codeOf(() => createValidatorSet([v('a', 1n), v('a', 2n)])),
    'VALSET_DUPLICATE_ADDRESS',
  )
  assert.equal(
    codeOf(() => createValidatorSet([v('a', 0n)])),
    'VALSET_BAD_POWER',
  )
  assert.equal(
    codeOf(() => createValidatorSet([v('a', -1n)])),
    'VALSET_BAD_POWER',
  )
  assert.equal(
    codeOf(() => createValidatorSet([v('a', MAX_TOTAL_VOTING_POWER), v('b', 1n)])),
    'VALSET_POWER_OVERFLOW',
  )
  assert.equal(
    codeOf(() => applyValidatorChanges(set, [v('zz', 0n)])),
    'VALSET_UNKNOWN_REMOVAL',
  )
  assert.equal(
    codeOf(() => applyValidatorChanges(set, [v('a', 0n), v('b', 0n)])),
    'VALSET_EMPTY',
  )
  assert.equal(
    codeOf(() => incrementProposerPriority(set, 0)),
    'VALSET_BAD_TIMES',
  )
  assert.equal(
    JSON.stringify(set, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)),
    before,
  )
  // Removal works.
  assert.equal(applyValidatorChanges(set, [v('a', 0n)]).validators.length, 1)
})
