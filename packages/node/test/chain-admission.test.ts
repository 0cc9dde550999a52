/**
 * Admission's signature check: a lone tx on an idle verify pool is checked on the main thread
 * (VerifyPool.verifySync, the workers' code), larger batches go to the workers; same verdicts.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { App, BANK_KIND, bankModule, genesisToJson } from '@pulsemesh/app'
import { isPulseError, parseAddress } from '@pulsemesh/core'
import { signTx, transferPayload } from '@pulsemesh/sdk'
import { NetworkNode } from '../src/chain/network-node.ts'
import { VerifyPool } from '../src/crypto/verify-pool.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { keyFromByte, makeGenesis, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = makeGenesis([alice, bob])
const dir = tempDir()
const pool = new VerifyPool({ size: 1 })
after(async () => {
  await pool.close()
  dir.cleanup()
})

const tx = (nonce: bigint, corrupt = false) => {
  const b = signTx(
    { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey },
    { networkId: 'hub', nonce, fee: 10n, expiresAt: 90n },
    BANK_KIND.transfer,
    transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n + nonce),
  ).bytes.slice()
  if (corrupt) b[b.length - 5] ^= 1 // inside the signature (the last field)
  return b
}

/** Runs `fn` on a fresh hub node (bank only, the shared verify pool) with its store in `home`. */
async function withNode(home: string, fn: (node: NetworkNode) => Promise<void>): Promise<void> {
  const store = await ChainStore.open(join(home, 'data'))
  try {
    await fn(
      await NetworkNode.open({
        app: new App(genesis.params, [bankModule]),
        genesis,
        genesisJson: JSON.stringify(genesisToJson(genesis)),
        store: store.network('hub'),
        verifyPool: pool,
      }),
    )
  } finally {
    await store.close()
  }
}

test('lone txs are verified on the main thread when the pool is idle, batches on the pool', async () => {
  await withNode(dir.dir, async (node) => {
    const chunks = () => pool.stats().chunksSent
    const before = chunks()
    await node.submitTx(tx(0n))
    const [one] = await node.submitTxs([tx(1n)])
    assert.ok(!(one instanceof Error))
    await assert.rejects(node.submitTx(tx(2n, true)), (e) => isPulseError(e) && e.code === 'BAD_SIGNATURE')
    const [bad] = await node.submitTxs([tx(2n, true)])
    assert.ok(isPulseError(bad) && bad.code === 'BAD_SIGNATURE')
    assert.equal(chunks(), before, 'no pool job for lone txs')
    // Three txs to verify: the pool, same verdicts.
    const many = await node.submitTxs([tx(2n), tx(3n, true), tx(3n)])
    assert.ok(chunks() > before)
    assert.ok(!(many[0] instanceof Error))
    assert.ok(isPulseError(many[1]) && many[1].code === 'BAD_SIGNATURE')
    assert.ok(!(many[2] instanceof Error))
    assert.equal(node.mempool.size, 4)
  })
})

test('many single submits in one synchronous loop: only the first ones are checked on the main thread', async () => {
  const d2 = tempDir()
  try {
    await withNode(d2.dir, async (node) => {
      const before = pool.stats()
      const txs = [0n, 1n, 2n, 3n, 4n, 5n].map((n) => tx(n))
      const rs = await Promise.allSettled(txs.map((b) => node.submitTx(b)))
      // The pool admits out of order (NONCE_GAP for some): only which path verified is checked here.
      assert.equal(rs[0].status, 'fulfilled')
      assert.equal(pool.stats().verifiedJobs - before.verifiedJobs, 4)
    })
  } finally {
    d2.cleanup()
  }
})
