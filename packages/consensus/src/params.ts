import type { EngineLimits, TimeoutParams, TimeoutStep } from './types.ts'

/** CometBFT's defaults (config.toml timeout_propose 3s, +500ms per round, etc.). */
export const DEFAULT_TIMEOUTS: TimeoutParams = {
  proposeBaseMs: 3000,
  proposeDeltaMs: 500,
  prevoteBaseMs: 1000,
  prevoteDeltaMs: 500,
  precommitBaseMs: 1000,
  precommitDeltaMs: 500,
}

export const DEFAULT_LIMITS: EngineLimits = {
  maxExtensionBytes: 64 * 1024,
  maxBufferedMessages: 4096,
  maxFutureRoundsPerValidator: 2,
  maxConflictingVotesPerValidator: 1,
  maxProposalsPerRound: 2,
  maxRound: 0x7fffffff,
}

/** timeoutX(round) = base + round * delta, in ms (integer). */
export function timeoutMs(params: TimeoutParams, step: TimeoutStep, round: number): number {
  switch (step) {
    case 'propose':
      return params.proposeBaseMs + round * params.proposeDeltaMs
    case 'prevote':
      return params.prevoteBaseMs + round * params.prevoteDeltaMs
    case 'precommit':
      return params.precommitBaseMs + round * params.precommitDeltaMs
  }
}
