/**
 * Liveness across restarts of a locked network. Precommits are lost, so every validator locks on the
 * height's block X without deciding; then all of them restart. Nobody holds X in memory any more:
 * only the block persisted with each lock lets the network re-propose and decide X (found as a CI
 * stall of consensus-devnet-host). A validator that never saw X must accept it when a later round's
 * proposer re-proposes it (header.proposer is the proposer of X's own round, not of that round).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { blockHash, decodeBlock, equalBytes, toHex } from '@pulsemesh/core'
import { decodeMessage } from '../src/consensus/messages.ts'
import { SignStateFile } from '../src/consensus/sign-state-file.ts'
import { fourValidatorGenesis, startLocal, validatorKeys, waitFor } from './consensus-fixtures.ts'
import { keyFromByte, tempDir } from './fixtures.ts'

const t = tempDir('pm-lockrestart-')
after(t.cleanup)

/**
 * A precommit for a block at height `h` or above (nil precommits still flow, so rounds without a
 * block time out). Decided by the message's height, so precommits sent before the rule was set
 * (a height in progress) are never half-dropped.
 */
const isBlockPrecommitFrom = (msg: Uint8Array, h: bigint): boolean => {
  const m = decodeMessage(msg)
  return m.type === 'vote' && m.vote.type === 2 && m.vote.height >= h && m.vote.blockHash.some((b) => b !== 0)
}
/** A height no validator has started: every message of it is sent after this call. */
const unstarted = (net: Awaited<ReturnType<typeof startLocal>>): bigint =>
  net.validators.reduce((m, v) => (v && v.driver.height > m ? v.driver.height : m), 0n) + 1n
/**
 * A proposal that its block's own proposer sends: a fresh one, or a re-proposal by the validator who
 * built the block. What is left are re-proposals by another round's proposer.
 */
const isFromBuilder = (msg: Uint8Array, from: string): boolean => {
  const m = decodeMessage(msg)
  if (m.type !== 'proposal' && m.type !== 'compactProposal') return false
  const block = decodeBlock(m.type === 'proposal' ? m.blockBytes : m.shellBytes)
  return (
    m.proposal.polRound === -1 ||
    equalBytes(block.header.proposer, validatorKeys[Number(from.slice(1))].publicKey.bytes)
  )
}
const signStateOf = (dir: string, i: number) => new SignStateFile(join(dir, `v${i}`, 'signstate-hub.json'))
/** The height and block validator i's persisted sign state is locked on, if any. */
const lockOf = (dir: string, i: number): { height: bigint; hash: string } | undefined => {
  const s = signStateOf(dir, i).load()
  return s?.lockedBlockHash ? { height: s.height, hash: toHex(s.lockedBlockHash) } : undefined
}
/** Waits until validators `ids` are all locked on one block at `height`; returns its hash. */
async function waitForLocks(dir: string, ids: number[], height: bigint): Promise<string> {
  let hash = ''
  await waitFor(() => {
    const locks = ids.map((i) => lockOf(dir, i))
    hash = locks[0]?.hash ?? ''
    return locks.every((l) => l !== undefined && l.height === height && l.hash === hash)
  }, `validators ${ids} locked on one block at ${height}`)
  return hash
}

test('all validators locked on a block restart: the persisted locked block is re-proposed and decided', async () => {
  const dir = join(t.dir, 'all')
  const genesis = fourValidatorGenesis([keyFromByte(1)])
  let net = await startLocal(genesis, dir)
  let stuck = 0n
  let x = ''
  try {
    await waitFor(() => net.validators.every((v) => v!.node.height >= 2n), 'two blocks')
    stuck = unstarted(net)
    net.hub.drop = (msg) => isBlockPrecommitFrom(msg, stuck)
    // Everyone prevotes X and sees the polka (prevotes flow), so everyone locks; no precommit arrives.
    x = await waitForLocks(dir, [0, 1, 2, 3], stuck)
  } finally {
    await net.stop()
  }
  for (let i = 0; i < 4; i++) {
    const s = signStateOf(dir, i).loadWithBlocks()
    assert.equal(toHex(s.state!.lockedBlockHash!), x, 'one locked block')
    assert.ok(
      s.blocks.some((b) => toHex(blockHash(decodeBlock(b).header)) === x),
      'the block is saved with the lock',
    )
  }

  net = await startLocal(genesis, dir)
  try {
    await waitFor(
      () => net.validators.every((v) => v!.node.height >= stuck),
      'the stuck height decided',
      6000,
    )
    for (const v of net.validators) assert.equal(toHex((await v!.node.getBlock(stuck))!.hash), x, 'X decided')
    await waitFor(() => net.validators.every((v) => v!.node.height >= stuck + 1n), 'the next height')
  } finally {
    await net.stop()
  }
})

test('a validator that missed a locked block accepts its re-proposal by a later round proposer', async () => {
  const dir = join(t.dir, 'late')
  const net = await startLocal(fourValidatorGenesis([keyFromByte(1)]), dir)
  const invalid: string[] = []
  try {
    await waitFor(() => net.validators.every((v) => v!.node.height >= 2n), 'two blocks')
    // v3 is cut off, and from a height nobody started yet the other three lose their block
    // precommits: they lock on its block X without deciding, and v3 never saw X.
    const stuck = unstarted(net)
    net.hub.drop = (msg, from, to) => from === 'v3' || to === 'v3' || isBlockPrecommitFrom(msg, stuck)
    await waitForLocks(dir, [0, 1, 2], stuck)
    // v3 restarts and comes back; it gets X only as a re-proposal by another validator than X's
    // builder (header.proposer). v2 stays away, so the height needs v3's prevote for X, which only
    // such a re-proposal by a later round's proposer (v0 or v1, with the proof of lock) can bring.
    await net.stopValidator(2)
    await net.restartValidator(3)
    net.hub.drop = (msg, from, to) => to === 'v3' && isFromBuilder(msg, from)
    for (const v of net.validators) v?.driver.on('invalidBlock', (e) => invalid.push(e.reason))
    await waitFor(
      () => [0, 1, 3].every((i) => net.validators[i]!.node.height >= stuck),
      'the stuck height decided by v0, v1 and v3',
      6000,
    )
    assert.deepEqual(invalid, [], 'no validator refused the re-proposed block')
  } finally {
    await net.stop()
  }
})
