/**
 * Idle-cheap consensus (emptyBlocksIntervalMs, CometBFT create_empty_blocks=false): an idle network
 * makes no blocks except heartbeats; a tx wakes every validator, the round proposer included, so
 * it is committed in the next height in round 0 (a waiting proposer must not cause nil rounds).
 * Pipelining: with a backlog, the next proposer builds its block while the decided block is being
 * written; every validator still agrees and every tx is committed once.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { BANK_KIND, genesisToJson } from '@pulsemesh/app'
import { proposerIndexForRound } from '@pulsemesh/consensus'
import { parseAddress } from '@pulsemesh/core'
import { signTx, transferPayload } from '@pulsemesh/sdk'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import { FAST_TIMEOUTS, fourValidatorGenesis, keysOf, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = fourValidatorGenesis([alice])
const dirs: { cleanup: () => void }[] = []
const nets: LocalValidatorNetwork[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function start(
  emptyBlocksIntervalMs: number,
  proposeBaseMs = FAST_TIMEOUTS.proposeBaseMs,
  g = genesis,
) {
  const t = tempDir()
  dirs.push(t)
  const net = await LocalValidatorNetwork.start({
    genesis: g,
    genesisJson: JSON.stringify(genesisToJson(g)),
    keys: keysOf(4),
    dataDir: t.dir,
    verifyPool: inlineVerifier,
    timeouts: { ...FAST_TIMEOUTS, proposeBaseMs },
    commitDelayMs: 10,
    emptyBlocksIntervalMs,
  })
  nets.push(net)
  return net
}
const heights = (net: LocalValidatorNetwork) => net.heights().map((h) => h ?? -1n)
const min = (xs: bigint[]) => xs.reduce((a, b) => (b < a ? b : a))

after(async () => {
  for (const n of nets) await n.stop()
  for (const d of dirs) d.cleanup()
})

describe('idle-cheap consensus', () => {
  test('idle: no empty blocks; a tx is committed in the next height, round 0, on every validator', async () => {
    // A heartbeat far beyond the test: any block while idle would be a bug.
    const net = await start(3_600_000, 5_000)
    // The first height starts at once (a restart may resume inside it); then the network idles.
    await waitFor(() => min(heights(net)) >= 1n, 'first block')
    await sleep(300) // let the last commits land everywhere
    const idle = heights(net)
    await sleep(1500) // with empty blocks every 10 ms this would be dozens of heights
    assert.deepEqual(heights(net), idle, 'an idle network makes no blocks')

    const s = signTx(
      { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey },
      { networkId: genesis.networkId, nonce: 0n, fee: 10n, expiresAt: 100n },
      BANK_KIND.transfer,
      transferPayload(parseAddress(bob.address).bytes, 'pulse', 5n),
    )
    const h = idle[0] + 1n
    // Submitted to the validator that is NOT the proposer of h (round 0): the proposer learns of the
    // tx only through forwarding, and must wake up for it.
    const v0 = net.validators[0]!
    const set = await v0.node.validatorSetAt(h)
    const proposer = proposerIndexForRound(set, 0)
    const entry = net.validators.find(
      (v) => v && !Buffer.from(v.driver.signingKey).equals(Buffer.from(set.validators[proposer].publicKey)),
    )!
    await entry.node.submitTx(s.bytes)
    await waitFor(() => min(heights(net)) >= h, 'the tx block on every validator')
    for (const v of net.validators) {
      const b = (await v!.node.getBlock(h))!
      assert.equal(b.block.txs.length, 1, 'the next height carries the tx')
      assert.equal(b.commit.round, 0, 'committed in round 0: no nil round while the proposer waited')
    }
    await sleep(1000)
    assert.deepEqual(min(heights(net)), h, 'idle again after the tx block')
  })

  test('heartbeat: an idle network still makes an empty block every emptyBlocksIntervalMs', async () => {
    const net = await start(200)
    await waitFor(() => min(heights(net)) >= 4n, 'heartbeat blocks', 6000)
    for (let h = 1n; h <= 4n; h++) {
      const b = (await net.validators[0]!.node.getBlock(h))!
      assert.equal(b.block.txs.length, 0)
    }
  })

  test('pipelining: a backlog larger than a block; proposals built during the previous write', async () => {
    const senders = Array.from({ length: 24 }, (_, i) => keyFromByte(40 + i))
    const g = fourValidatorGenesis(senders)
    g.params.blockTxsMax = 5 // a backlog at every decision: the next proposer prebuilds
    const net = await start(3_600_000, 5_000, g)
    await waitFor(() => min(heights(net)) >= 1n, 'first block')
    const hashes: string[] = []
    const txs = senders.map((k) => {
      const s = signTx(
        { scheme: k.scheme, publicKey: k.publicKey, secret: k.secretKey },
        { networkId: g.networkId, nonce: 0n, fee: 10n, expiresAt: 100n },
        BANK_KIND.transfer,
        transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n),
      )
      hashes.push(s.hash)
      return s.bytes
    })
    const results = await net.validators[0]!.node.submitTxs(txs)
    assert.ok(results.every((r) => !(r instanceof Error)))
    const committed = async (v: (typeof net.validators)[number]) => {
      let n = 0
      for (const h of hashes) if (await v!.node.store.txLocation(Buffer.from(h, 'hex'))) n++
      return n
    }
    for (let k = 0; k < 3000; k++) {
      const counts = await Promise.all(net.validators.map(committed))
      if (counts.every((c) => c === hashes.length)) break
      await sleep(20)
    }
    const top = min(heights(net))
    for (let h = 1n; h <= top; h++) {
      const ids = await Promise.all(
        net.validators.map(async (v) => Buffer.from((await v!.node.getBlock(h))!.hash).toString('hex')),
      )
      assert.equal(new Set(ids).size, 1, `one block at height ${h}`)
    }
    for (const v of net.validators)
      assert.equal(await committed(v), hashes.length, 'every tx committed everywhere')
    const prebuilt = net.validators.reduce((a, v) => a + v!.driver.stats.proposalsPrebuilt, 0)
    assert.ok(prebuilt > 0, 'some proposals were built during the previous block write')
  })
})
