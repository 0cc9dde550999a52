/**
 * Single-validator pipelining: with a backlog of full blocks, the next block is executed while the
 * previous block's fsynced write runs. Every tx is committed exactly once, in nonce order, and a
 * restart from disk lands on the same state root (nothing of the pre-executed block leaked).
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { BANK_KIND, getBalance, parseAccount } from '@pulsemesh/app'
import { parseAddress } from '@pulsemesh/core'
import { signTx, transferPayload } from '@pulsemesh/sdk'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const t = tempDir()
after(() => t.cleanup())

test('a backlog of full blocks: executed during the previous write, each tx once, same root after restart', async () => {
  const g = makeGenesis([alice])
  g.params.blockTxsMax = 3
  let { store, node } = await openNetwork(t.dir, g)
  const signer = { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey }
  const txs = Array.from({ length: 14 }, (_, i) =>
    signTx(
      signer,
      { networkId: g.networkId, nonce: BigInt(i), fee: 10n, expiresAt: 100n },
      BANK_KIND.transfer,
      transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n),
    ),
  )
  const admitted = await node.submitTxs(txs.map((x) => x.bytes))
  assert.ok(admitted.every((r) => !(r instanceof Error)))
  const order: string[] = []
  while (node.mempool.size > 0) {
    const b = await node.produceBlock()
    assert.ok(b.txHashes.length <= 3)
    order.push(...b.txHashes)
  }
  assert.deepEqual(
    order,
    txs.map((x) => x.hash),
    'every tx once, in nonce order',
  )
  const bobAccount = parseAccount(bob.address, 'pm')
  assert.equal(getBalance(node.state, bobAccount, 'pulse'), 14n)
  const root = Buffer.from(node.stateRoot()).toString('hex')
  const height = node.height
  await node.idle()
  await store.close()
  ;({ store, node } = await openNetwork(t.dir, g)) // STATE_MISMATCH if the tree held unpersisted writes
  assert.equal(node.height, height)
  assert.equal(Buffer.from(node.stateRoot()).toString('hex'), root)
  await store.close()
})
