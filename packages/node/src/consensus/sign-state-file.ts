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
import { decodeSignState, encodeSignState, type SignState } from '@pulsemesh/consensus'
import { PulseError } from '@pulsemesh/core'

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
      // The engine's own codec: it carries every field the guard and the lock need after a restart.
      return decodeSignState(text)
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
      writeSync(fd, encodeSignState(s))
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
