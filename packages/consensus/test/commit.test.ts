import assert from 'node:assert/strict'
import { test } from 'node:test'
import { VoteType } from '@pulsemesh/core/types.ts'
import { cometbftWeightedMedian, medianTime, weightedMedian } from '../src/bft-time.ts'
import { Prng } from '../src/sim/prng.ts'
import { commitFromVotes, verifyCommit, verifyCommitTrusting } from '../src/commit.ts'
import { createValidatorSet } from '../src/validator-set.ts'
import { hash, makeHarness } from './harness.ts'

const A = hash(0xaa)
const codeOf = (f: () => unknown) => {
  try {
    f()
    return 'NO_ERROR'
  } catch (e) {
    return (e as { code: string }).code
  }
}

function commitOf(h: ReturnType<typeof makeHarness>, signers: number[], round = 0, height = 1n) {
  const votes = signers.map((i) => h.vote(i, VoteType.Precommit, round, A, height))
  return commitFromVotes(height, round, A, votes)
}

test('verifyCommit accepts > 2/3 of the power and reports the tally', () => {
  const h = makeHarness()
  const t = verifyCommit(commitOf(h, [0, 1, 2]), h.set, h.verifier, { height: 1n, blockHash: A })
  assert.deepEqual(t, { signedPower: 3n, totalPower: 4n })
})

test('verifyCommit rejects bad commits with stable codes', () => {
  const h = makeHarness()
  const good = commitOf(h, [0, 1, 2])
  const v = (c: unknown, height = 1n, blockHash: Uint8Array | undefined = A) =>
    codeOf(() => verifyCommit(c as never, h.set, h.verifier, { height, blockHash }))
  assert.equal(v(commitOf(h, [0, 1])), 'COMMIT_INSUFFICIENT_POWER', 'exactly 2/3 is not enough... 2/4 here')
  assert.equal(v(good, 2n), 'COMMIT_WRONG_HEIGHT')
  assert.equal(v(good, 1n, hash(0xbb)), 'COMMIT_WRONG_BLOCK')
  assert.equal(
    v({ ...good, signatures: [...good.signatures, ...good.signatures] }),
    'COMMIT_MALFORMED',
    'more than n',
  )
  assert.equal(
    v({ ...good, signatures: [good.signatures[0], good.signatures[0], good.signatures[1]] }),
    'COMMIT_DUPLICATE_SIGNATURE',
  )
  assert.equal(
    v({ ...good, signatures: [{ ...good.signatures[0], validatorIndex: 7 }] }),
    'COMMIT_UNKNOWN_VALIDATOR',
  )
  const forged = { ...good.signatures[2], signature: good.signatures[2].signature.map((b) => b ^ 0xff) }
  assert.equal(
    v({ ...good, signatures: [good.signatures[0], good.signatures[1], forged] }),
    'COMMIT_INVALID_SIGNATURE',
  )
  // A signature moved to another index (another validator's key) does not verify.
  assert.equal(
    v({
      ...good,
      signatures: [good.signatures[0], good.signatures[1], { ...good.signatures[2], validatorIndex: 3 }],
    }),
    'COMMIT_INVALID_SIGNATURE',
  )
  // Signed for round 0, presented as round 1.
  assert.equal(v({ ...good, round: 1 }), 'COMMIT_INVALID_SIGNATURE')
  assert.equal(v({ ...good, round: -1 }), 'COMMIT_MALFORMED')
  assert.equal(v({ ...good, blockHash: new Uint8Array(32) }), 'COMMIT_MALFORMED')
  assert.equal(v({ ...good, height: 1 }), 'COMMIT_MALFORMED')
  assert.equal(v({ ...good, signatures: [{ ...good.signatures[0], timestampMs: -1n }] }), 'COMMIT_MALFORMED')
  assert.equal(v(null), 'COMMIT_MALFORMED')
})

test('quorum is strictly more than 2/3 of the power, by power not by count', () => {
  const h = makeHarness([3n, 1n, 1n, 1n])
  const big = h.set.validators.findIndex((x) => x.votingPower === 3n)
  const small = [0, 1, 2, 3].filter((i) => i !== big)
  // 3 + 1 = 4 of 6: exactly 2/3 -> rejected; 3 + 1 + 1 = 5 of 6 -> accepted; 1+1+1 = 3 -> rejected.
  assert.equal(
    codeOf(() => verifyCommit(commitOf(h, [big, small[0]]), h.set, h.verifier, { height: 1n })),
    'COMMIT_INSUFFICIENT_POWER',
  )
  assert.equal(
    codeOf(() => verifyCommit(commitOf(h, [big, small[0], small[1]]), h.set, h.verifier, { height: 1n })),
    'NO_ERROR',
  )
  assert.equal(
    codeOf(() => verifyCommit(commitOf(h, small), h.set, h.verifier, { height: 1n })),
    'COMMIT_INSUFFICIENT_POWER',
  )
})

test('verifyCommitTrusting: more than 1/3 of the trusted set must have signed', () => {
  const h = makeHarness([1n, 1n, 1n, 1n, 1n, 1n])
  const commit = commitOf(h, [0, 1, 2, 3, 4])
  // Trusted set = validators 0..2 of the new set (by address) plus 3 strangers.
  const strangers = [7, 8, 9].map((b) => ({
    address: Uint8Array.of(100 + b),
    publicKey: new Uint8Array(32).fill(b),
    votingPower: 1n,
  }))
  const trustedOf = (idxs: number[]) =>
    createValidatorSet([...idxs.map((i) => ({ ...h.set.validators[i] })), ...strangers])
  assert.equal(
    codeOf(() => verifyCommitTrusting(commit, h.set, trustedOf([0, 1, 2]), h.verifier)),
    'NO_ERROR',
  )
  // 2 of 5 trusted power > 1/3; 1 of 4 is not.
  assert.equal(
    codeOf(() => verifyCommitTrusting(commit, h.set, trustedOf([0, 1]), h.verifier)),
    'NO_ERROR',
  )
  assert.equal(
    codeOf(() => verifyCommitTrusting(commit, h.set, trustedOf([0]), h.verifier)),
    'COMMIT_INSUFFICIENT_POWER',
  )
  // Same address with a different key in the trusted set does not count.
  const rotated = createValidatorSet([
    { ...h.set.validators[0], publicKey: new Uint8Array(32).fill(42) },
    { ...h.set.validators[1], publicKey: new Uint8Array(32).fill(43) },
    ...strangers,
  ])
  assert.equal(
    codeOf(() => verifyCommitTrusting(commit, h.set, rotated, h.verifier)),
    'COMMIT_INSUFFICIENT_POWER',
  )
  assert.equal(
    codeOf(() =>
      verifyCommitTrusting(commit, h.set, trustedOf([0, 1]), h.verifier, { numerator: 1n, denominator: 4n }),
    ),
    'COMMIT_BAD_TRUST_LEVEL',
  )
  const forged = {
    ...commit,
    signatures: commit.signatures.map((s, i) => (i === 0 ? { ...s, signature: new Uint8Array(32) } : s)),
  }
  assert.equal(
    codeOf(() => verifyCommitTrusting(forged, h.set, trustedOf([0, 1]), h.verifier)),
    'COMMIT_INVALID_SIGNATURE',
  )
})

test('BFT time: CometBFT WeightedMedian vectors, and the strict median that a faulty minority cannot set', () => {
  const w = (t: number, wt: number) => ({ t: BigInt(t), w: BigInt(wt) })
  // CometBFT types/time TestWeightedMedian: 33 faulty at t1, 40 and 27 correct at t2, t3 -> t2 (both walks).
  const vec = [w(5, 40), w(10, 27), w(0, 33)]
  assert.equal(cometbftWeightedMedian(vec, 100n), 5n)
  assert.equal(weightedMedian(vec, 100n), 5n)
  assert.equal(cometbftWeightedMedian([w(3, 1), w(1, 1), w(2, 1), w(4, 1)], 4n), 2n)
  assert.equal(weightedMedian([w(3, 1), w(1, 1), w(2, 1), w(4, 1)], 4n), 3n)
  assert.equal(weightedMedian([w(10, 10), w(1, 1), w(2, 1)], 12n), 10n)
  // The simulator's counterexample: three equal-power signatures, the faulty one earliest.
  const found = [w(665, 1), w(1992, 1), w(2367, 1)]
  assert.equal(cometbftWeightedMedian(found, 3n), 665n, 'CometBFT returns the faulty timestamp')
  assert.equal(weightedMedian(found, 3n), 1992n, 'the strict median returns a correct one')
  // Property: with faulty power < half of the commit's, the result is within the correct timestamps.
  const rng = new Prng(5)
  for (let i = 0; i < 500; i++) {
    const correct = Array.from({ length: rng.range(2, 6) }, () => w(rng.range(1000, 2000), rng.range(1, 5)))
    const cp = correct.reduce((a, x) => a + x.w, 0n)
    const faulty = Array.from({ length: rng.range(0, 3) }, () => w(rng.range(0, 3000), 1))
    const fp = BigInt(faulty.length)
    if (fp * 2n >= cp + fp) continue
    const all = [...correct, ...faulty]
    const m = weightedMedian(all, cp + fp)
    const ts = correct.map((x) => x.t)
    assert.ok(m >= ts.reduce((a, b) => (a < b ? a : b)) && m <= ts.reduce((a, b) => (a > b ? a : b)))
  }
  const h = makeHarness([5n, 1n, 1n, 1n])
  const big = h.set.validators.findIndex((x) => x.votingPower === 5n)
  const commit = commitOf(h, [0, 1, 2, 3])
  commit.signatures = commit.signatures.map((s) => ({
    ...s,
    timestampMs: s.validatorIndex === big ? 777n : 1n,
  }))
  assert.equal(medianTime(commit, h.set), 777n)
})
