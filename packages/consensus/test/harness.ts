/** Test harness: a 4-validator set (power 1 each) with fake keys and helpers to forge honest messages. */
import type { Proposal, Vote, VoteType } from '@pulsemesh/core/types.ts'
import { TendermintEngine, type EngineOptions } from '../src/engine.ts'
import { makeSignBytes } from '../src/sign-bytes.ts'
import { FakeKeyRegistry, type Signer } from '../src/sim/fake-crypto.ts'
import type { EngineAction, EngineEvent, UnsignedProposal, UnsignedVote } from '../src/types.ts'
import { createValidatorSet, type ValidatorSet } from '../src/validator-set.ts'

export const NIL = new Uint8Array(32)
export const hash = (b: number) => new Uint8Array(32).fill(b)

export interface Harness {
  registry: FakeKeyRegistry
  signers: Signer[]
  set: ValidatorSet
  /** signer for validator index i of `set` */
  signerAt(i: number): Signer
  verifier: ReturnType<FakeKeyRegistry['verifier']>
  vote(
    i: number,
    type: VoteType,
    round: number,
    blockHash: Uint8Array,
    height?: bigint,
    extension?: Uint8Array,
  ): Vote
  proposal(
    round: number,
    blockHash: Uint8Array,
    polRound?: number,
    height?: bigint,
    signerIndex?: number,
  ): Proposal
  engine(ownIndex: number, opts?: Partial<EngineOptions>): TendermintEngine
}

export function makeHarness(powers: bigint[] = [1n, 1n, 1n, 1n]): Harness {
  const registry = new FakeKeyRegistry()
  const signers = powers.map((_, i) => registry.createSigner(new Uint8Array(16).fill(i + 1)))
  const set = createValidatorSet(
    signers.map((s, i) => ({ address: Uint8Array.of(i), publicKey: s.publicKey, votingPower: powers[i] })),
  )
  const sb = makeSignBytes('test-chain')
  const verifier = registry.verifier(sb)
  const signerAt = (i: number) => signers[set.validators[i].address[0]]
  const h: Harness = {
    registry,
    signers,
    set,
    signerAt,
    verifier,
    vote(i, type, round, blockHash, height = 1n, extension = new Uint8Array(0)) {
      const u: UnsignedVote = {
        type,
        height,
        round,
        blockHash,
        timestampMs: 1000n,
        validatorIndex: i,
        extension,
      }
      return { ...u, signature: signerAt(i).sign(sb.voteSignBytes(u)) }
    },
    proposal(round, blockHash, polRound = -1, height = 1n, signerIndex) {
      const idx = signerIndex ?? (round === 0 ? set.proposerIndex : proposerAt(set, round))
      const u: UnsignedProposal = { height, round, polRound, blockHash, timestampMs: 1000n }
      return { ...u, signature: signerAt(idx).sign(sb.proposalSignBytes(u)) }
    },
    engine(ownIndex, opts = {}) {
      return new TendermintEngine({
        verifier,
        ownAddress: set.validators[ownIndex].address,
        timeouts: {
          proposeBaseMs: 100,
          proposeDeltaMs: 10,
          prevoteBaseMs: 50,
          prevoteDeltaMs: 10,
          precommitBaseMs: 50,
          precommitDeltaMs: 10,
        },
        ...opts,
      })
    },
  }
  return h
}

import { proposerIndexForRound } from '../src/validator-set.ts'
function proposerAt(set: ValidatorSet, round: number) {
  return proposerIndexForRound(set, round)
}

export const start = (set: ValidatorSet, height = 1n): EngineEvent => ({
  type: 'StartHeight',
  height,
  validatorSet: set,
  nowMs: 1000n,
})
export const recvVote = (vote: Vote): EngineEvent => ({ type: 'VoteReceived', vote, nowMs: 1000n })
export const recvProposal = (proposal: Proposal): EngineEvent => ({
  type: 'ProposalReceived',
  proposal,
  nowMs: 1000n,
})
export const validated = (
  blockHash: Uint8Array,
  valid = true,
  height = 1n,
  blockTimeMs = 0n,
): EngineEvent => ({
  type: 'BlockValidated',
  height,
  blockHash,
  valid,
  blockTimeMs,
  nowMs: 1000n,
})

export function ofType<T extends EngineAction['type']>(acts: EngineAction[], type: T) {
  return acts.filter((a): a is Extract<EngineAction, { type: T }> => a.type === type)
}

/** Feed a list of events, collecting every action. */
export function feed(e: TendermintEngine, events: EngineEvent[]): EngineAction[] {
  return events.flatMap((ev) => e.handle(ev))
}

/** Sign an engine's vote action as the shell would and return the signed vote. */
export function signAction(
  h: Harness,
  ownIndex: number,
  a: Extract<EngineAction, { type: 'SignAndBroadcastVote' }>,
): Vote {
  return { ...a.vote, signature: h.signerAt(ownIndex).sign(h.verifier.voteSignBytes(a.vote)) }
}
