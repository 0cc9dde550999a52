import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { SignState, UnsignedVote } from '@pulsemesh/consensus'
import { DecodeError, isPulseError, toHex } from '@pulsemesh/core'
import { decodeMessage, encodeMessage } from '../src/consensus/messages.ts'
import { CRASH_ENV, SignStateFile } from '../src/consensus/sign-state-file.ts'
import { fourValidatorGenesis, startLocal, waitFor } from './consensus-fixtures.ts'
import { keyFromByte, tempDir } from './fixtures.ts'

const t = tempDir('pm-crash-')
after(t.cleanup)
const CRASH_HEIGHT = 2n

function runChild(dir: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'consensus-crash-child.ts'), dir], {
      env: { ...process.env, [CRASH_ENV]: CRASH_HEIGHT.toString() },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    child.on('error', reject)
    child.on('exit', (_code, signal) => resolve(signal))
  })
}

const step = (v: UnsignedVote) => (v.type === 1 ? 2 : 3)

test('killed between persisting a vote and sending it, a validator never signs a conflicting vote', async () => {
  assert.equal(await runChild(t.dir), 'SIGKILL')
  // Exactly the records on disk at the moment of the kill.
  const before: (SignState | null)[] = [0, 1, 2, 3].map((i) =>
    new SignStateFile(join(t.dir, `v${i}`, 'signstate-hub.json')).load(),
  )
  const crashed = before.filter((s) => s?.height === CRASH_HEIGHT && s.vote !== null)
  assert.ok(crashed.length >= 1, 'some validator persisted a vote at the crash height')

  const net = await startLocal(fourValidatorGenesis([keyFromByte(1)]), t.dir)
  const signedVotes: UnsignedVote[][] = [[], [], [], []]
  for (let i = 0; i < 4; i++)
    net.validators[i]!.driver.on('signed', (m) => m.vote && signedVotes[i].push(m.vote))
  try {
    await waitFor(
      () => net.validators.every((v) => v!.node.height >= CRASH_HEIGHT + 1n),
      'progress after restart',
    )
  } finally {
    await net.stop()
  }
  for (let i = 0; i < 4; i++) {
    const s = before[i]
    if (!s?.vote) continue
    for (const v of signedVotes[i]) {
      const older =
        v.height < s.height ||
        (v.height === s.height && (v.round < s.round || (v.round === s.round && step(v) < s.step)))
      assert.ok(!older, `v${i} signed below its persisted (height, round, step)`)
      if (v.height === s.height && v.round === s.round && step(v) === s.step)
        assert.equal(toHex(v.blockHash), toHex(s.vote.blockHash), `v${i} re-signed a different block`)
    }
  }
})

test('sign-state file: round trip, and a corrupt file is a typed error (never an empty guard)', () => {
  const f = new SignStateFile(join(t.dir, 'unit', 'ss.json'))
  assert.equal(f.load(), null)
  const s: SignState = {
    height: 9n,
    round: 2,
    step: 3,
    proposal: null,
    vote: {
      type: 2,
      height: 9n,
      round: 2,
      blockHash: new Uint8Array(32).fill(7),
      timestampMs: 5n,
      validatorIndex: 1,
      extension: new Uint8Array([1, 2]),
    },
    lockedRound: 2,
    lockedBlockHash: new Uint8Array(32).fill(7),
  }
  f.save(s)
  const back = f.load()!
  assert.equal(back.height, 9n)
  assert.deepEqual(back.vote!.blockHash, s.vote!.blockHash)
  assert.deepEqual(back.lockedBlockHash, s.lockedBlockHash)
  writeFileSync(f.path, '{"height": 1')
  assert.throws(
    () => f.load(),
    (e: unknown) => isPulseError(e) && e.code === 'SIGN_STATE_CORRUPT',
  )
})

test('consensus messages: round trip and bad bytes rejected with DecodeError', () => {
  const m = encodeMessage({ type: 'blockRequest', height: 42n })
  assert.deepEqual(decodeMessage(m), { type: 'blockRequest', height: 42n })
  const p = {
    height: 3n,
    round: 1,
    polRound: -1,
    blockHash: new Uint8Array(32).fill(1),
    timestampMs: 99n,
    signature: new Uint8Array(64).fill(2),
  }
  const d = decodeMessage(encodeMessage({ type: 'proposal', proposal: p, blockBytes: new Uint8Array([9]) }))
  assert.equal(d.type, 'proposal')
  if (d.type === 'proposal') {
    assert.deepEqual(d.proposal, p)
    assert.deepEqual(d.blockBytes, new Uint8Array([9]))
  }
  for (const bad of [
    new Uint8Array(),
    new Uint8Array([99]),
    new Uint8Array([1, 0, 0]),
    new Uint8Array([3, 1]),
    new Uint8Array([2, 1, 2, 3]),
  ])
    assert.throws(
      () => decodeMessage(bad),
      (e: unknown) => e instanceof DecodeError,
    )
})
