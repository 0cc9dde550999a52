/**
 * Durable double-sign guard: the engine's SignState written to one small file per validator and
 * network, fsynced (file, then directory after the atomic rename) BEFORE the message it allows is
 * signed and sent. After a crash at any point the validator restarts with a record at least as new
 * as anything it ever sent, so the engine's guard refuses every conflicting signature.
 *
 * The write is synchronous on purpose: nothing else of the driver can run between "persisted" and
 * "signed", and a vote is sent at most a few times per second.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { SignState, UnsignedProposal, UnsignedVote } from '@pulsemesh/consensus'
import { fromHex, PulseError, toHex } from '@pulsemesh/core'

/** TEST ONLY: when set to a height, the process SIGKILLs itself right after persisting a vote at it. */
export const CRASH_ENV = 'PULSEMESH_TEST_CRASH_AFTER_SIGNSTATE_HEIGHT'

export class SignStateFile {
  readonly path: string
  private readonly crashAt: bigint | undefined
  constructor(path: string) {
    this.path = path
    const c = process.env[CRASH_ENV]
    this.crashAt = c && /^\d+$/.test(c) ? BigInt(c) : undefined
    mkdirSync(dirname(path), { recursive: true })
  }

  /** The last persisted record, or null if this validator never signed on this network. */
  load(): SignState | null {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw e
    }
    try {
      return fromJson(JSON.parse(text))
    } catch (e) {
      // Never guess: a validator that cannot read its guard must not sign at all.
      throw new PulseError('SIGN_STATE_CORRUPT', `cannot read ${this.path}: ${(e as Error).message}`)
    }
  }

  /** Writes `s` durably; returns only once it is on disk. */
  save(s: SignState): void {
    const tmp = `${this.path}.tmp`
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, JSON.stringify(toJson(s)))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.path)
    const dfd = openSync(dirname(this.path), 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
    if (this.crashAt !== undefined && s.height === this.crashAt && s.vote !== null) {
      process.kill(process.pid, 'SIGKILL')
    }
  }
}

type J = Record<string, unknown>

function voteToJson(v: UnsignedVote | null | undefined): J | null {
  if (!v) return null
  return {
    type: v.type,
    height: v.height.toString(),
    round: v.round,
    blockHash: toHex(v.blockHash),
    timestampMs: v.timestampMs.toString(),
    validatorIndex: v.validatorIndex,
    extension: toHex(v.extension),
  }
}

function toJson(s: SignState): J {
  return {
    height: s.height.toString(),
    round: s.round,
    step: s.step,
    proposal: s.proposal
      ? {
          height: s.proposal.height.toString(),
          round: s.proposal.round,
          polRound: s.proposal.polRound,
          blockHash: toHex(s.proposal.blockHash),
          timestampMs: s.proposal.timestampMs.toString(),
        }
      : null,
    vote: voteToJson(s.vote),
    prevote: voteToJson(s.prevote),
    precommit: voteToJson(s.precommit),
    lockedRound: s.lockedRound,
    lockedBlockHash: s.lockedBlockHash ? toHex(s.lockedBlockHash) : null,
  }
}

function int(v: unknown, f: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`${f} must be an integer`)
  return v
}
function big(v: unknown, f: string): bigint {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`${f} must be a decimal string`)
  return BigInt(v)
}
function hex(v: unknown, f: string): Uint8Array {
  if (typeof v !== 'string') throw new Error(`${f} must be hex`)
  return fromHex(v)
}

function voteFromJson(v: unknown, f: string): UnsignedVote | null {
  if (v === null || v === undefined) return null
  const j = v as J
  const type = int(j.type, `${f}.type`)
  if (type !== 1 && type !== 2) throw new Error(`${f}.type must be 1 or 2`)
  return {
    type,
    height: big(j.height, `${f}.height`),
    round: int(j.round, `${f}.round`),
    blockHash: hex(j.blockHash, `${f}.blockHash`),
    timestampMs: big(j.timestampMs, `${f}.timestampMs`),
    validatorIndex: int(j.validatorIndex, `${f}.validatorIndex`),
    extension: hex(j.extension, `${f}.extension`),
  }
}

function fromJson(j: J): SignState {
  const p = j.proposal as J | null
  const proposal: UnsignedProposal | null = p
    ? {
        height: big(p.height, 'proposal.height'),
        round: int(p.round, 'proposal.round'),
        polRound: int(p.polRound, 'proposal.polRound'),
        blockHash: hex(p.blockHash, 'proposal.blockHash'),
        timestampMs: big(p.timestampMs, 'proposal.timestampMs'),
      }
    : null
  const step = int(j.step, 'step')
  if (step < 0 || step > 3) throw new Error('step must be 0..3')
  return {
    height: big(j.height, 'height'),
    round: int(j.round, 'round'),
    step: step as SignState['step'],
    proposal,
    vote: voteFromJson(j.vote, 'vote'),
    prevote: voteFromJson(j.prevote, 'prevote'),
    precommit: voteFromJson(j.precommit, 'precommit'),
    lockedRound: int(j.lockedRound, 'lockedRound'),
    lockedBlockHash: j.lockedBlockHash === null ? null : hex(j.lockedBlockHash, 'lockedBlockHash'),
  }
}
