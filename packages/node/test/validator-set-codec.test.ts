/**
 * The stored validator set (per height, and in state snapshots) must load as the same set it was
 * saved from, round-0 proposer included: a restarted node that recomputed the proposer from the
 * priorities named another proposer than its peers for the heights it loaded from disk.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  advanceValidatorSet,
  createValidatorSet,
  proposerIndexForRound,
  type ValidatorSet,
  validatorSetFromParts,
} from '@pulsemesh/consensus'
import fc from 'fast-check'
import { decodeValidatorSet, encodeValidatorSet } from '../src/chain/network-node.ts'

const enc = new TextEncoder()

function setOf(powers: bigint[]): ValidatorSet {
  return createValidatorSet(
    powers.map((p, i) => ({
      address: Uint8Array.of(i + 1),
      publicKey: new Uint8Array(32).fill(i + 1),
      votingPower: p,
    })),
  )
}

function advance(set: ValidatorSet, heights: number): ValidatorSet {
  let s = set
  for (let i = 0; i < heights; i++) s = advanceValidatorSet(s)
  return s
}

test('four equal validators: after one increment the proposer is not the highest priority', () => {
  const set = advance(setOf([10n, 10n, 10n, 10n]), 5)
  const recomputed = validatorSetFromParts(set.validators) // what loading did before the fix
  assert.notEqual(recomputed.proposerIndex, set.proposerIndex, 'the case the stored proposer exists for')
  assert.equal(decodeValidatorSet(encodeValidatorSet(set)).proposerIndex, set.proposerIndex)
})

test('property: decode(encode(set)) proposes like the set for every round and every later height', () => {
  fc.assert(
    fc.property(
      fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 40 }),
      (powers, heights) => {
        const set = advance(setOf(powers), heights)
        const loaded = decodeValidatorSet(encodeValidatorSet(set))
        assert.deepEqual(loaded, set)
        for (let r = 0; r < 6; r++)
          assert.equal(proposerIndexForRound(loaded, r), proposerIndexForRound(set, r))
        assert.equal(advance(loaded, 3).proposerIndex, advance(set, 3).proposerIndex)
      },
    ),
    { numRuns: 200 },
  )
})

test('a stored proposer outside the set is refused with VALSET_BAD_PROPOSER', () => {
  const set = setOf([5n, 5n])
  const json = JSON.parse(new TextDecoder().decode(encodeValidatorSet(set))) as { proposer: unknown }
  for (const bad of [2, -1, 0.5, '0', null]) {
    json.proposer = bad
    assert.throws(
      () => decodeValidatorSet(enc.encode(JSON.stringify(json))),
      (e: Error & { code?: string }) => e.code === 'VALSET_BAD_PROPOSER',
      `proposer ${JSON.stringify(bad)}`,
    )
  }
})

test('the older bare-array record still loads (its proposer recomputed from the priorities)', () => {
  const set = setOf([3n, 2n, 1n])
  const rows = (JSON.parse(new TextDecoder().decode(encodeValidatorSet(set))) as { validators: unknown[] })
    .validators
  const loaded = decodeValidatorSet(enc.encode(JSON.stringify(rows)))
  assert.deepEqual(loaded.validators, set.validators)
  assert.equal(loaded.proposerIndex, validatorSetFromParts(set.validators).proposerIndex)
})
