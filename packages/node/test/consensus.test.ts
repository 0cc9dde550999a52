import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { BANK_KIND, getBalance, validatorSetOf } from '@pulsemesh/app'
import { verifyCommit } from '@pulsemesh/consensus'
import {
  blockHash,
  decodeBlock,
  encodeCommit,
  encodeHeader,
  parseAddress,
  toHex,
  verify,
  voteSignBytes,
} from '@pulsemesh/core'
import { transferPayload, verifyCertifiedHeader } from '@pulsemesh/sdk'
import { signed } from '../../app/test/helpers.ts'
import { fourValidatorGenesis, startLocal, waitFor } from './consensus-fixtures.ts'
import { keyFromByte, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = fourValidatorGenesis([alice])
const t = tempDir('pm-consensus-')
after(t.cleanup)

describe('consensus: 4 validators in one process', async () => {
  const net = await startLocal(genesis, t.dir)
  after(() => net.stop())
  const live = () => net.validators.filter((v) => v !== undefined)
  const minHeight = () => live().reduce((m, v) => (v.node.height < m ? v.node.height : m), 1n << 62n)

  test('all four commit the same blocks, each with a > 2/3 certificate', async () => {
    await waitFor(() => minHeight() >= 3n, 'height 3 on all validators')
    const set = validatorSetOf(genesis.validators)
    for (let h = 1n; h <= 3n; h++) {
      const hashes = new Set<string>()
      for (const v of live()) {
        const b = (await v.node.getBlock(h))!
        hashes.add(toHex(b.hash))
        const tally = verifyCommit(
          b.commit,
          set,
          {
            voteSignBytes: (vote) => voteSignBytes(genesis.networkId, vote),
            verify: (pk, m, s) => verify({ scheme: 'ed25519', bytes: pk }, m, s),
          },
          { height: h, blockHash: b.hash },
        )
        assert.ok(tally.signedPower * 3n > tally.totalPower * 2n)
      }
      assert.equal(hashes.size, 1, `one block at height ${h}`)
    }
    // Light clients check the certificate through the SDK (validatorSetOf order for indices).
    const b = (await net.validators[0]!.node.getBlock(2n))!
    const header = verifyCertifiedHeader(
      toHex(encodeHeader(b.block.header)),
      toHex(encodeCommit(b.commit)),
      genesis.validators.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power.toString() })),
    )
    assert.equal(header.height, 2n)
  })

  test('a tx submitted to the validators is committed once, with the same state everywhere', async () => {
    const bobId = parseAddress(bob.address).bytes
    const start = minHeight()
    const tx = signed(alice, {
      kind: BANK_KIND.transfer,
      payload: transferPayload(bobId, 'pulse', 777n),
      nonce: 0n,
      expiresAt: start + 50n,
    })
    for (const v of live()) await v.node.submitTx(tx.bytes)
    await waitFor(
      () => live().every((v) => getBalance(v.node.state, bobId, 'pulse') === 777n),
      'transfer everywhere',
    )
    await waitFor(() => minHeight() >= live()[0].node.height, 'same height')
    const h = minHeight()
    const roots = new Set<string>()
    for (const v of live()) roots.add(toHex(decodeBlock((await v.node.store.getBlock(h))!).header.stateRoot))
    assert.equal(roots.size, 1)
  })

  test('one validator stopped: the other three keep committing', async () => {
    await net.stopValidator(3)
    const from = minHeight()
    await waitFor(() => minHeight() >= from + 3n, 'three more blocks without v3')
    for (const v of live()) {
      const b = (await v.node.getBlock(v.node.height))!
      assert.ok(b.commit.signatures.length >= 3)
    }
  })

  test('the restarted validator catches up from its peers and joins consensus again', async () => {
    const target = live()[0].node.height + 2n
    const v3 = await net.restartValidator(3)
    await waitFor(() => v3.node.height >= target, 'v3 caught up')
    const h = v3.node.height
    const mine = (await v3.node.getBlock(h))!
    const theirs = (await net.validators[0]!.node.getBlock(h))!
    assert.equal(toHex(mine.hash), toHex(theirs.hash))
    assert.equal(toHex(blockHash(mine.block.header)), toHex(mine.hash))
    // It signs again: some later certificate carries its precommit (index in CometBFT order).
    const idx = validatorSetOf(genesis.validators).validators.findIndex(
      (x) => toHex(x.publicKey) === toHex(genesis.validators[3].publicKey),
    )
    await waitFor(() => v3.driver.stats.committed > 0, 'v3 commits through consensus')
    let signedAgain = false
    for (let i = 0; i < 3000 && !signedAgain; i++) {
      const b = await net.validators[0]!.node.getBlock(net.validators[0]!.node.height)
      signedAgain = b?.commit.signatures.some((s) => s.validatorIndex === idx) ?? false
      if (!signedAgain) await new Promise((r) => setTimeout(r, 10))
    }
    assert.ok(signedAgain, 'v3 precommits appear in certificates again')
  })
})
