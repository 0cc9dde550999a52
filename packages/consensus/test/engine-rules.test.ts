import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes } from '@pulsemesh/core/bytes.ts'
import { VoteType } from '@pulsemesh/core/types.ts'
import { verifyCommit } from '../src/commit.ts'
import type { TendermintEngine } from '../src/engine.ts'
import { verifyDuplicateVoteEvidence } from '../src/evidence.ts'
import { decodeSignState, EMPTY_SIGN_STATE, encodeSignState } from '../src/sign-state.ts'
import { SignStep } from '../src/types.ts'
import { proposerIndexForRound } from '../src/validator-set.ts'
import {
  feed,
  type Harness,
  hash,
  makeHarness,
  NIL,
  ofType,
  recvProposal,
  recvVote,
  signAction,
  start,
  validated,
} from './harness.ts'

const { Prevote, Precommit } = VoteType
const A = hash(0xaa)
const B = hash(0xbb)
const ME = 3 // not the proposer of rounds 0-2 with four equal validators
const timeout = (round: number, step: 'propose' | 'prevote' | 'precommit', height = 1n) =>
  ({ type: 'TimeoutFired', height, round, step, nowMs: 2000n }) as const

function votesOf(acts: ReturnType<TendermintEngine['handle']>) {
  return ofType(acts, 'SignAndBroadcastVote').map((a) => a.vote)
}

/** Bring engine ME to: round 0, locked on A (precommitted A), then move it to round 1 via timeouts. */
function lockedOnAThenRound1(h: Harness, opts = {}) {
  const e = h.engine(ME, opts)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  assert.deepEqual(
    votesOf(acts).map((v) => [v.type, equalBytes(v.blockHash, A)]),
    [[Precommit, true]],
  )
  feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 0, NIL))),
  )
  e.handle(timeout(0, 'precommit'))
  assert.equal(e.snapshot().round, 1)
  assert.equal(e.snapshot().lockedRound, 0)
  return e
}

test('lines 11-21: the proposer asks for a block then signs a proposal; others only schedule timeoutPropose', () => {
  const h = makeHarness()
  const p = h.set.proposerIndex
  const e = h.engine(p)
  const acts = e.handle(start(h.set))
  assert.deepEqual(ofType(acts, 'GetProposalBlock'), [{ type: 'GetProposalBlock', height: 1n, round: 0 }])
  assert.equal(ofType(acts, 'ScheduleTimeout')[0].step, 'propose')
  assert.equal(ofType(acts, 'ScheduleTimeout')[0].durationMs, 100)
  const acts2 = e.handle({
    type: 'ProposalBlock',
    height: 1n,
    round: 0,
    blockHash: A,
    blockTimeMs: 0n,
    nowMs: 1500n,
  })
  const [sp] = ofType(acts2, 'SignAndBroadcastProposal')
  assert.ok(equalBytes(sp.proposal.blockHash, A))
  assert.equal(sp.proposal.polRound, -1)
  assert.equal(sp.proposal.timestampMs, 1500n)
  assert.equal(sp.signState.step, SignStep.Proposal)
  assert.equal(sp.resend, false)

  const other = h.engine(ME)
  const acts3 = other.handle(start(h.set))
  assert.deepEqual(
    acts3.map((a) => a.type),
    ['ScheduleTimeout'],
  )
})

test('line 22: a valid proposal gets a prevote for it, an invalid one a nil prevote (after ValidateBlock)', () => {
  const h = makeHarness()
  for (const valid of [true, false]) {
    const e = h.engine(ME)
    e.handle(start(h.set))
    const acts = e.handle(recvProposal(h.proposal(0, A)))
    assert.deepEqual(
      ofType(acts, 'ValidateBlock').map((a) => a.round),
      [0],
    )
    assert.equal(votesOf(acts).length, 0, 'waits for the validity verdict')
    const [v] = votesOf(e.handle(validated(A, valid)))
    assert.equal(v.type, Prevote)
    assert.ok(equalBytes(v.blockHash, valid ? A : NIL))
    assert.equal(e.snapshot().step, 'prevote')
  }
})

test('line 23: a validator locked on A prevotes nil for a fresh proposal B; the test-only flag removes that', () => {
  const h = makeHarness()
  const p1 = proposerIndexForRound(h.set, 1)
  for (const disable of [false, true]) {
    const e = lockedOnAThenRound1(h, { testOnlyDisableLockRule: disable })
    feed(e, [recvProposal(h.proposal(1, B, -1, 1n, p1))])
    const [v] = votesOf(e.handle(validated(B)))
    assert.ok(equalBytes(v.blockHash, disable ? B : NIL), `disable=${disable}`)
  }
})

test('line 28: a proposal with polRound vr and a polka at vr >= lockedRound is prevoted despite the lock', () => {
  const h = makeHarness()
  const e = lockedOnAThenRound1(h)
  // Round 1: no proposal; the others prevote B (a polka for B at round 1) and precommit nil.
  e.handle(timeout(1, 'propose'))
  feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 1, B))),
  )
  e.handle(timeout(1, 'prevote'))
  feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 1, NIL))),
  )
  e.handle(timeout(1, 'precommit'))
  assert.equal(e.snapshot().round, 2)
  const p2 = proposerIndexForRound(h.set, 2)
  const asked = feed(e, [recvProposal(h.proposal(2, B, 1, 1n, p2))])
  // The shell learns the proposal's polRound: a re-proposed block's header names an earlier proposer.
  assert.deepEqual(
    ofType(asked, 'ValidateBlock').map((a) => [a.round, a.polRound]),
    [[2, 1]],
  )
  const [v] = votesOf(e.handle(validated(B)))
  assert.ok(equalBytes(v.blockHash, B))
  // Without the polka at vr the same proposal is not acted on (waits for timeoutPropose).
  const h2 = makeHarness()
  const e2 = lockedOnAThenRound1(h2)
  e2.handle(timeout(1, 'propose'))
  e2.handle(timeout(1, 'prevote'))
  feed(
    e2,
    [0, 1, 2].map((i) => recvVote(h2.vote(i, Precommit, 1, NIL))),
  )
  e2.handle(timeout(1, 'precommit'))
  const acts = feed(e2, [recvProposal(h2.proposal(2, B, 1, 1n, p2)), validated(B)])
  assert.equal(votesOf(acts).length, 0)
})

test('line 34: 2f+1 prevotes of any kind schedule timeoutPrevote once; line 44: 2f+1 nil prevotes precommit nil', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  e.handle(timeout(0, 'propose'))
  const acts = feed(e, [recvVote(h.vote(0, Prevote, 0, A)), recvVote(h.vote(1, Prevote, 0, NIL))])
  // ME's own nil prevote is not fed back in this test: 2 of 4 is no quorum yet.
  assert.equal(ofType(acts, 'ScheduleTimeout').length, 0)
  const acts2 = e.handle(recvVote(h.vote(2, Prevote, 0, B)))
  assert.deepEqual(
    ofType(acts2, 'ScheduleTimeout').map((a) => [a.step, a.durationMs]),
    [['prevote', 50]],
  )
  assert.equal(ofType(e.handle(recvVote(h.vote(3, Prevote, 0, NIL))), 'ScheduleTimeout').length, 0)

  const e2 = h.engine(ME)
  e2.handle(start(h.set))
  e2.handle(timeout(0, 'propose'))
  const acts3 = feed(
    e2,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, NIL))),
  )
  const pcs = votesOf(acts3)
  assert.equal(pcs.length, 1)
  assert.equal(pcs[0].type, Precommit)
  assert.ok(equalBytes(pcs[0].blockHash, NIL))
  assert.equal(e2.snapshot().lockedRound, -1)
})

test('line 36: a polka for v while prevoting locks v and precommits it; while precommitting only sets validValue', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  const [pc] = votesOf(acts)
  assert.equal(pc.type, Precommit)
  assert.ok(equalBytes(pc.blockHash, A))
  const s = e.snapshot()
  assert.equal(s.lockedRound, 0)
  assert.ok(equalBytes(s.lockedBlockHash!, A))
  assert.equal(s.validRound, 0)
  // The persisted SignState carries the new lock.
  const sa = ofType(acts, 'SignAndBroadcastVote')[0]
  assert.equal(sa.signState.lockedRound, 0)

  // Already precommitted nil (prevote timeout) when the polka completes: valid value only.
  const e2 = h.engine(ME)
  e2.handle(start(h.set))
  feed(e2, [recvProposal(h.proposal(0, A)), validated(A)])
  feed(
    e2,
    [0, 1].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  feed(e2, [recvVote(h.vote(2, Prevote, 0, NIL))])
  e2.handle(timeout(0, 'prevote'))
  assert.equal(e2.snapshot().step, 'precommit')
  // Own prevote for A (fed back) completes 3 prevotes for A: valid value set, no new precommit, no lock.
  const ownPrevote = h.vote(ME, Prevote, 0, A)
  const acts2 = e2.handle(recvVote(ownPrevote))
  assert.equal(votesOf(acts2).length, 0)
  assert.equal(e2.snapshot().lockedRound, -1)
  assert.equal(e2.snapshot().validRound, 0)
})

test('line 47: 2f+1 precommits of any kind schedule timeoutPrecommit; line 65: it starts the next round', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  const acts = feed(e, [
    recvVote(h.vote(0, Precommit, 0, NIL)),
    recvVote(h.vote(1, Precommit, 0, A)),
    recvVote(h.vote(2, Precommit, 0, B)),
  ])
  assert.deepEqual(
    ofType(acts, 'ScheduleTimeout').map((a) => a.step),
    ['precommit'],
  )
  const acts2 = e.handle(timeout(0, 'precommit'))
  assert.equal(e.snapshot().round, 1)
  assert.deepEqual(
    ofType(acts2, 'ScheduleTimeout').map((a) => [a.step, a.round, a.durationMs]),
    [['propose', 1, 110]],
  )
})

test('line 49: proposal + 2f+1 precommits for v decide v in any round, with a verifiable commit', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  // Round 2 messages while at round 0: decide without having been in round 2.
  const p2 = proposerIndexForRound(h.set, 2)
  feed(e, [recvProposal(h.proposal(2, A, -1, 1n, p2)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 2, A))),
  )
  const [c] = ofType(acts, 'Commit')
  assert.equal(c.round, 2)
  assert.ok(equalBytes(c.blockHash, A))
  assert.equal(c.commit.signatures.length, 3)
  const tally = verifyCommit(c.commit, h.set, h.verifier, { height: 1n, blockHash: A })
  assert.equal(tally.signedPower, 3n)
  assert.equal(e.snapshot().step, 'decided')
  // After deciding, further messages at this height do nothing.
  assert.deepEqual(e.handle(recvVote(h.vote(3, Precommit, 2, A))), [])
})

test('line 49 waits for validity: an invalid block with 2f+1 precommits is never decided', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A))])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 0, A))),
  )
  assert.equal(ofType(acts, 'Commit').length, 0)
  assert.equal(ofType(e.handle(validated(A, false)), 'Commit').length, 0)
})

test('line 55: f+1 messages from a higher round move to that round', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  e.handle(recvVote(h.vote(0, Prevote, 5, NIL)))
  assert.equal(e.snapshot().round, 0, 'one message (1/4 power) is not enough')
  const acts = e.handle(recvVote(h.vote(1, Precommit, 5, NIL)))
  assert.equal(e.snapshot().round, 5)
  assert.deepEqual(
    ofType(acts, 'ScheduleTimeout').map((a) => [a.step, a.round]),
    [['propose', 5]],
  )
})

test('lines 57-64: timeoutPropose prevotes nil, timeoutPrevote precommits nil; stale timeouts are ignored', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  assert.deepEqual(e.handle(timeout(0, 'prevote')), [], 'prevote timeout in propose step does nothing')
  const [pv] = votesOf(e.handle(timeout(0, 'propose')))
  assert.equal(pv.type, Prevote)
  assert.ok(equalBytes(pv.blockHash, NIL))
  assert.deepEqual(e.handle(timeout(0, 'propose')), [], 'second propose timeout does nothing')
  const [pc] = votesOf(e.handle(timeout(0, 'prevote')))
  assert.equal(pc.type, Precommit)
  assert.ok(equalBytes(pc.blockHash, NIL))
  assert.deepEqual(e.handle(timeout(0, 'propose', 7n)), [], 'other height ignored')
})

test('the proposer of a later round re-proposes its valid value with polRound = validRound', () => {
  const h = makeHarness()
  const p1 = proposerIndexForRound(h.set, 1)
  const e = h.engine(p1)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const others = [0, 1, 2, 3].filter((i) => i !== p1)
  feed(
    e,
    others.map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  assert.equal(e.snapshot().validRound, 0)
  feed(
    e,
    others.map((i) => recvVote(h.vote(i, Precommit, 0, NIL))),
  )
  const acts = e.handle(timeout(0, 'precommit'))
  const [sp] = ofType(acts, 'SignAndBroadcastProposal')
  assert.equal(sp.proposal.round, 1)
  assert.equal(sp.proposal.polRound, 0)
  assert.ok(equalBytes(sp.proposal.blockHash, A))
  assert.equal(ofType(acts, 'GetProposalBlock').length, 0)
})

test('conflicting votes yield DuplicateVoteEvidence once; it verifies; each vote counts for its own block', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  e.handle(recvVote(h.vote(1, Prevote, 0, A)))
  const acts = e.handle(recvVote(h.vote(1, Prevote, 0, B)))
  const [ev] = ofType(acts, 'RecordEvidence')
  assert.ok(ev)
  verifyDuplicateVoteEvidence(ev.evidence, h.set, h.verifier)
  // A third value from the same validator exceeds maxConflictingVotesPerValidator (1) without support.
  assert.equal(
    (e.handle(recvVote(h.vote(1, Prevote, 0, NIL)))[0] as { code: string }).code,
    'MSG_TOO_MANY_CONFLICTING_VOTES',
  )
  // Both of its votes count, each for its own block (distinct senders per value, as in the paper):
  // with validators 2 and 3 also prevoting B there is a polka for B.
  feed(e, [recvProposal(h.proposal(0, B)), validated(B)])
  const acts2 = feed(e, [recvVote(h.vote(2, Prevote, 0, B)), recvVote(h.vote(ME, Prevote, 0, B))])
  assert.equal(ofType(acts2, 'RecordEvidence').length, 0, 'one evidence per validator/round/type')
  assert.equal(e.snapshot().lockedRound, 0)
  assert.ok(equalBytes(e.snapshot().lockedBlockHash!, B))
  // Tampered evidence is rejected with typed codes.
  const codeOf = (f: () => void) => {
    try {
      f()
      return 'NO_ERROR'
    } catch (x) {
      return (x as { code: string }).code
    }
  }
  const bad = { ...ev.evidence, voteB: { ...ev.evidence.voteB, signature: new Uint8Array(32) } }
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(bad, h.set, h.verifier)),
    'EVIDENCE_INVALID_SIGNATURE',
  )
  const same = { ...ev.evidence, voteB: ev.evidence.voteA }
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(same, h.set, h.verifier)),
    'EVIDENCE_NOT_CONFLICTING',
  )
  const swapped = { ...ev.evidence, voteA: ev.evidence.voteB, voteB: ev.evidence.voteA }
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(swapped, h.set, h.verifier)),
    'EVIDENCE_MALFORMED',
  )
  const otherRound = { ...ev.evidence, voteB: h.vote(1, Prevote, 1, B) }
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(otherRound, h.set, h.verifier)),
    'EVIDENCE_NOT_CONFLICTING',
  )
  const power = { ...ev.evidence, validatorPower: 5n }
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(power, h.set, h.verifier)),
    'EVIDENCE_WRONG_POWER',
  )
  assert.equal(
    codeOf(() => verifyDuplicateVoteEvidence(null as never, h.set, h.verifier)),
    'EVIDENCE_MALFORMED',
  )
})

test('malformed, unknown-validator, badly signed and wrong-proposer messages are rejected; state untouched', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  const before = JSON.stringify(e.snapshot(), (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))
  const good = h.vote(0, Prevote, 0, A)
  const bads: [unknown, string][] = [
    [{ ...good, type: 7 }, 'MSG_MALFORMED'],
    [{ ...good, round: -1 }, 'MSG_MALFORMED'],
    [{ ...good, round: 1.5 }, 'MSG_MALFORMED'],
    [{ ...good, height: 1 }, 'MSG_MALFORMED'],
    [{ ...good, blockHash: new Uint8Array(31) }, 'MSG_MALFORMED'],
    [{ ...good, blockHash: 'aa' }, 'MSG_MALFORMED'],
    [{ ...good, extension: new Uint8Array(3) }, 'MSG_MALFORMED'],
    [{ ...good, signature: new Uint8Array(0) }, 'MSG_MALFORMED'],
    [{ ...good, signature: new Uint8Array(4096) }, 'MSG_MALFORMED'],
    [null, 'MSG_MALFORMED'],
    [{ ...good, validatorIndex: 9 }, 'MSG_UNKNOWN_VALIDATOR'],
    [{ ...good, signature: good.signature.map((b) => b ^ 1) }, 'MSG_BAD_SIGNATURE'],
    [{ ...good, validatorIndex: 1 }, 'MSG_BAD_SIGNATURE'],
  ]
  for (const [vote, code] of bads) {
    const acts = e.handle({ type: 'VoteReceived', vote: vote as never, nowMs: 1000n })
    assert.deepEqual(
      acts.map((a) => (a.type === 'MessageRejected' ? a.code : a.type)),
      [code],
      JSON.stringify(vote, (_k, x) =>
        typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? x.length : x,
      ),
    )
  }
  const wrongProposer = h.proposal(0, A, -1, 1n, 2)
  assert.equal((e.handle(recvProposal(wrongProposer))[0] as { code: string }).code, 'MSG_BAD_SIGNATURE')
  const polBad = { ...h.proposal(0, A), polRound: 0 }
  assert.equal((e.handle(recvProposal(polBad))[0] as { code: string }).code, 'MSG_MALFORMED')
  const nilProposal = h.proposal(0, NIL)
  assert.equal((e.handle(recvProposal(nilProposal))[0] as { code: string }).code, 'MSG_MALFORMED')
  assert.equal(
    JSON.stringify(e.snapshot(), (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)),
    before,
  )
  // And the engine still works.
  feed(e, [recvProposal(h.proposal(0, A))])
  assert.equal(votesOf(e.handle(validated(A))).length, 1)
})

test('future rounds per validator and proposals per round are bounded', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  e.handle(recvVote(h.vote(0, Prevote, 10, NIL)))
  e.handle(recvVote(h.vote(0, Prevote, 11, NIL)))
  const acts = e.handle(recvVote(h.vote(0, Prevote, 12, NIL)))
  assert.equal((acts[0] as { code: string }).code, 'MSG_TOO_MANY_FUTURE_ROUNDS')
  // Same rounds still accepted for other steps.
  assert.deepEqual(e.handle(recvVote(h.vote(0, Precommit, 11, NIL))), [])
  // An equivocating proposer gets at most maxProposalsPerRound (2) blocks in.
  const p = h.set.proposerIndex
  e.handle(recvProposal(h.proposal(0, hash(1), -1, 1n, p)))
  e.handle(recvProposal(h.proposal(0, hash(2), -1, 1n, p)))
  const third = e.handle(recvProposal(h.proposal(0, hash(3), -1, 1n, p)))
  assert.equal((third[0] as { code: string }).code, 'MSG_TOO_MANY_PROPOSALS')
  // ... unless a correct validator backs it (> 1/3 of the power voted for it).
  feed(
    e,
    [1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, hash(4)))),
  )
  const backed = e.handle(recvProposal(h.proposal(0, hash(4), -1, 1n, p)))
  assert.deepEqual(
    backed.map((a) => a.type),
    ['ValidateBlock'],
  )
})

test('restart: the SignState guard re-sends the signed vote instead of a conflicting one and restores the lock', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  const precommit = ofType(acts, 'SignAndBroadcastVote').at(-1)!
  assert.equal(precommit.vote.type, Precommit)
  const persisted = precommit.signState
  // Crash: all in-memory state lost. Restart from the persisted record at the same height.
  const r = h.engine(ME, { signState: decodeSignState(encodeSignState(persisted)) })
  const acts2 = r.handle(start(h.set))
  assert.equal(r.snapshot().round, 0)
  assert.equal(r.snapshot().lockedRound, 0, 'lock restored')
  // ... with its proof: the 3 prevotes for A are back in the vote set (held and relayed again).
  assert.equal(persisted.lockProof?.length, 3)
  assert.equal(
    r.roundMessages(0).votes.filter((v) => v.type === Prevote && equalBytes(v.blockHash, A)).length,
    3,
  )
  // At restart it re-broadcasts what it signed at this height (peers may have lost it too).
  const resent = ofType(acts2, 'SignAndBroadcastVote')
  assert.deepEqual(
    resent.map((a) => [a.vote.type, equalBytes(a.vote.blockHash, A), a.resend]),
    [
      [Prevote, true, true],
      [Precommit, true, true],
    ],
  )
  // It wants to prevote nil on timeout: the prevote for A already signed at this round is re-sent instead.
  const pv0 = ofType(r.handle(timeout(0, 'propose')), 'SignAndBroadcastVote')
  assert.equal(pv0.length, 1)
  assert.equal(pv0[0].resend, true)
  assert.ok(equalBytes(pv0[0].vote.blockHash, A))
  // Prevote timeout would precommit nil: the guard re-sends the precommit for A instead.
  feed(r, [recvVote(h.vote(0, Prevote, 0, NIL)), recvVote(h.vote(1, Prevote, 0, B))])
  const again = ofType(r.handle(timeout(0, 'prevote')), 'SignAndBroadcastVote')
  assert.equal(again.length, 1)
  assert.equal(again[0].resend, true)
  assert.deepEqual(again[0].vote, precommit.vote)
  // Signing is deterministic, so the re-sent signature is byte-identical.
  assert.deepEqual(signAction(h, ME, again[0]), signAction(h, ME, precommit))
  // In round 1, a fresh proposal B is refused by the restored lock.
  feed(
    r,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 0, NIL))),
  )
  r.handle(timeout(0, 'precommit'))
  const p1 = proposerIndexForRound(h.set, 1)
  feed(r, [recvProposal(h.proposal(1, B, -1, 1n, p1))])
  const [pv] = votesOf(r.handle(validated(B)))
  assert.ok(equalBytes(pv.blockHash, NIL))
})

test('SignState JSON codec round-trips and rejects corrupt records with SIGN_STATE_CORRUPT', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  const s = ofType(acts, 'SignAndBroadcastVote').at(-1)!.signState
  assert.deepEqual(decodeSignState(encodeSignState(s)), s)
  assert.deepEqual(decodeSignState(encodeSignState(EMPTY_SIGN_STATE)), { ...EMPTY_SIGN_STATE })
  const j = JSON.parse(encodeSignState(s))
  for (const bad of [
    'not json',
    '{}',
    JSON.stringify({ ...j, v: 2 }),
    JSON.stringify({ ...j, step: 9 }),
    JSON.stringify({ ...j, height: -1 }),
    JSON.stringify({ ...j, lockedBlockHash: 'abc' }),
    JSON.stringify({ ...j, precommit: { ...j.precommit, type: 3 } }),
    JSON.stringify({ ...j, precommit: { ...j.precommit, blockHash: '00' } }),
  ])
    assert.throws(() => decodeSignState(bad), { code: 'SIGN_STATE_CORRUPT' }, bad)
})

test('restart: a proposer that already proposed re-sends the same proposal, never a different block', () => {
  const h = makeHarness()
  const p = h.set.proposerIndex
  const e = h.engine(p)
  e.handle(start(h.set))
  const [sp] = ofType(
    e.handle({ type: 'ProposalBlock', height: 1n, round: 0, blockHash: A, blockTimeMs: 0n, nowMs: 1000n }),
    'SignAndBroadcastProposal',
  )
  const r = h.engine(p, { signState: sp.signState })
  r.handle(start(h.set))
  const [again] = ofType(
    r.handle({ type: 'ProposalBlock', height: 1n, round: 0, blockHash: B, blockTimeMs: 0n, nowMs: 9000n }),
    'SignAndBroadcastProposal',
  )
  assert.equal(again.resend, true)
  assert.ok(equalBytes(again.proposal.blockHash, A))
  assert.equal(again.proposal.timestampMs, sp.proposal.timestampMs)
})

test('vote extensions: carried by non-nil precommits into the commit; rejected extensions are not counted', () => {
  const h = makeHarness()
  const ext = (i: number) => Uint8Array.of(0xee, i)
  const e = h.engine(ME, {
    extendVote: (_h, _r, bh) => Uint8Array.of(0xee, ME, bh[0]),
    verifyVoteExtension: (v) => v.extension[0] === 0xee,
  })
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  const [pc] = votesOf(acts)
  assert.deepEqual(pc.extension, Uint8Array.of(0xee, ME, 0xaa))
  // A precommit whose extension the application rejects is not counted.
  const rej = e.handle(recvVote(h.vote(0, Precommit, 0, A, 1n, Uint8Array.of(1))))
  assert.equal((rej[0] as { code: string }).code, 'MSG_BAD_EXTENSION')
  const acts2 = feed(
    e,
    [1, 2, 0].map((i) => recvVote(h.vote(i, Precommit, 0, A, 1n, ext(i)))),
  )
  const [c] = ofType(acts2, 'Commit')
  assert.deepEqual(
    c.commit.signatures.map((s) => [...s.extension]),
    [0, 1, 2].map((i) => [0xee, i]),
  )
  verifyCommit(c.commit, h.set, h.verifier, { height: 1n })
})

test('next-height messages are buffered and replayed at StartHeight; the buffer is bounded', () => {
  const h = makeHarness()
  const e = h.engine(ME, { limits: { maxBufferedMessages: 3 } })
  e.handle(start(h.set))
  const msgs = [0, 1, 2].map((i) => recvVote(h.vote(i, Precommit, 0, A, 2n)))
  assert.deepEqual(feed(e, msgs), [])
  const full = e.handle(recvVote(h.vote(3, Precommit, 0, A, 2n)))
  assert.equal((full[0] as { code: string }).code, 'MSG_BUFFER_FULL')
  const acts = feed(e, [recvProposal(h.proposal(0, A))])
  assert.equal(ofType(acts, 'ValidateBlock').length, 1)
  // Height 2: the three buffered precommits + proposal decide as soon as the block validates.
  const acts2 = feed(e, [start(h.set, 2n), recvProposal(h.proposal(0, A, -1, 2n)), validated(A, true, 2n)])
  assert.equal(ofType(acts2, 'Commit').length, 1)
  assert.equal(ofType(acts2, 'Commit')[0].height, 2n)
})

test('StartHeight must move forward; unknown events throw a typed error', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set, 5n))
  assert.throws(() => e.handle(start(h.set, 5n)), { code: 'ENGINE_BAD_EVENT' })
  assert.throws(() => e.handle(start(h.set, 4n)), { code: 'ENGINE_BAD_EVENT' })
  assert.throws(() => e.handle({ type: 'Nope' } as never), { code: 'ENGINE_BAD_EVENT' })
  assert.equal(e.snapshot().height, 5n)
})

test('a precommit for a block is stamped after the block time (BFT time strictly increases)', () => {
  const h = makeHarness()
  const e = h.engine(ME)
  e.handle(start(h.set))
  feed(e, [recvProposal(h.proposal(0, A)), validated(A, true, 1n, 50_000n)])
  const acts = feed(
    e,
    [0, 1, 2].map((i) => recvVote(h.vote(i, Prevote, 0, A))),
  )
  const [pc] = votesOf(acts)
  assert.equal(pc.type, Precommit)
  assert.equal(pc.timestampMs, 50_001n)
  // A nil precommit carries the local time.
  const e2 = h.engine(ME)
  e2.handle(start(h.set))
  e2.handle(timeout(0, 'propose'))
  const [nilPc] = votesOf(e2.handle(timeout(0, 'prevote')))
  assert.equal(nilPc.timestampMs, 2000n)
})

test('restart as proposer of the round it locked in: asks for a block, and the guard refuses to propose', () => {
  const h = makeHarness()
  const r = [0, 1, 2, 3, 4, 5, 6, 7].find((x) => proposerIndexForRound(h.set, x) === ME)!
  const precommit = {
    type: Precommit,
    height: 1n,
    round: r,
    blockHash: A,
    timestampMs: 5n,
    validatorIndex: ME,
    extension: new Uint8Array(0),
  }
  const e = h.engine(ME, {
    signState: {
      ...EMPTY_SIGN_STATE,
      height: 1n,
      round: r,
      step: SignStep.Precommit,
      vote: precommit,
      precommit,
      lockedRound: r,
      lockedBlockHash: A,
    },
  })
  const acts = e.handle(start(h.set))
  assert.equal(e.snapshot().round, r)
  assert.deepEqual(
    ofType(acts, 'SignAndBroadcastVote').map((a) => [a.vote.round, a.resend]),
    [[r, true]],
  )
  assert.equal(ofType(acts, 'SignAndBroadcastProposal').length, 0, 'no proposal with polRound = round')
  assert.equal(ofType(acts, 'GetProposalBlock').length, 1)
  const acts2 = e.handle({
    type: 'ProposalBlock',
    height: 1n,
    round: r,
    blockHash: B,
    blockTimeMs: 0n,
    nowMs: 1000n,
  })
  assert.equal(
    ofType(acts2, 'SignAndBroadcastProposal').length,
    0,
    'already signed a later step in this round',
  )
})
