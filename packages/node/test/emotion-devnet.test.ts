// The EmotionalChain devnet: 4 validators under real BFT consensus, each with its agent; every
// validator gets a score from its attestations, and all nodes hold the same emotion records.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { accountIdOf, getValidatorEmotion } from '@pulsemesh/app'
import { toHex } from '@pulsemesh/core'
import { startEmotionDevnet } from '../src/emotion/devnet.ts'
import { FAST_TIMEOUTS, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, tempDir } from './fixtures.ts'

test('emotion devnet: agents attest through consensus; scores agree on every node', async () => {
  const tmp = tempDir('pm-emotion-devnet-')
  const errors: string[] = []
  const d = await startEmotionDevnet({
    dataDir: tmp.dir,
    verifyPool: inlineVerifier,
    profile: { validators: 4, blockIntervalMs: 20, emotion: { blocksPerEpoch: 8n, nonceWindowBlocks: 8 } },
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
    windowMs: 30_000,
    onError: (i, e) => errors.push(`v${i}: ${(e as Error).message}`),
  })
  try {
    const ops = d.profile.validators.map((v) => accountIdOf(v.key.publicKey))
    const scoredEverywhere = () =>
      d.net.validators.every((v) =>
        ops.every((op) => {
          const r = getValidatorEmotion(v!.node.state, op)
          return r !== undefined && r.scoreEpoch >= 1n && r.score > 0
        }),
      )
    await waitFor(scoredEverywhere, 'every validator scored on every node', 12_000)
    assert.deepEqual(errors, [])
    // the state (emotion records included) agrees: same state root in every node's block at a common height
    const h = d.net.heights().reduce((a, b) => (a! < b! ? a : b))!
    const roots = await Promise.all(
      d.net.validators.map(async (v) => toHex((await v!.node.getBlock(h))!.block.header.stateRoot)),
    )
    assert.equal(new Set(roots).size, 1)
    const scores = d.net.validators.map((v) => ops.map((op) => getValidatorEmotion(v!.node.state, op)!.score))
    assert.ok(scores[0].every((s) => s > 0 && s <= 100))
  } finally {
    await d.stop()
    tmp.cleanup()
  }
})
