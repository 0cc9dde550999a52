import { PulseError } from '@pulsemesh/core/errors.ts'

/** Stable codes thrown by this package's pure functions (network input never throws: see MessageRejected). */
export type ConsensusErrorCode =
  | 'VALSET_EMPTY'
  | 'VALSET_DUPLICATE_ADDRESS'
  | 'VALSET_BAD_POWER'
  | 'VALSET_POWER_OVERFLOW'
  | 'VALSET_UNKNOWN_REMOVAL'
  | 'VALSET_BAD_TIMES'
  | 'VALSET_BAD_PROPOSER'
  | 'COMMIT_MALFORMED'
  | 'COMMIT_WRONG_HEIGHT'
  | 'COMMIT_WRONG_BLOCK'
  | 'COMMIT_UNKNOWN_VALIDATOR'
  | 'COMMIT_DUPLICATE_SIGNATURE'
  | 'COMMIT_INVALID_SIGNATURE'
  | 'COMMIT_INSUFFICIENT_POWER'
  | 'COMMIT_BAD_TRUST_LEVEL'
  | 'EVIDENCE_MALFORMED'
  | 'EVIDENCE_NOT_CONFLICTING'
  | 'EVIDENCE_UNKNOWN_VALIDATOR'
  | 'EVIDENCE_WRONG_POWER'
  | 'EVIDENCE_INVALID_SIGNATURE'
  | 'ENGINE_BAD_EVENT'
  | 'SIGN_STATE_CORRUPT'

export class ConsensusError extends PulseError<ConsensusErrorCode> {
  constructor(code: ConsensusErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
    this.name = 'ConsensusError'
  }
}
