/**
 * A validated (or built) block stays applied and hashed in the tree until its commit, which then
 * keeps it instead of re-applying and rehashing its writes (NetworkNode `held`). The committed
 * state must be the same bytes either way, and a held block other than the committed one is never used.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { BANK_KIND } from '@pulsemesh/app'
import { type Commit, parseAddress, toHex } from '@pulsemesh/core'
import { signTx, transferPayload } from '@pulsemesh/sdk'
import type { NetworkNode, PreparedBlock } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir, validator } from './fixtures.ts'

const senders = [1, 2, 3, 4].map((b) => keyFromByte(b))
const bob = keyFromByte(9)
const genesis = makeGenesis([...senders, bob])
const dirs = [tempDir(), tempDir(), tempDir()]
after(() => {
  for (const d of dirs) d.cleanup()
})

const certificate = (p: PreparedBlock): Commit => ({
  height: p.block.header.height,
  round: 0,
  blockHash: p.hash,
  signatures: [],
})

function txsAt(nonce: bigint): Uint8Array[] {
  return senders.map(
    (k, i) =>
      signTx(
        { scheme: k.scheme, publicKey: k.publicKey, secret: k.secretKey },
        { networkId: 'hub', nonce, fee: 10n, expiresAt: 90n },
        BANK_KIND.transfer,
        transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n + nonce * 10n + BigInt(i)),
      ).bytes,
  )
}

function build(n: NetworkNode, timeMs: bigint, txsMax?: number): PreparedBlock {
  return n.buildBlock({ proposer: validator.publicKey.bytes, timeMs, lastCommit: n.headCommit, txsMax })
}

const entries = (n: NetworkNode) => [...n.tree.entries()].map(([k, v]) => `${toHex(k)}=${toHex(v)}`)

test('commit of the held block = commit by re-applying; a held other block is not used', async () => {
  const opened = await Promise.all(dirs.map((d) => openNetwork(d.dir, genesis)))
  const [a, b, c] = opened.map((o) => o.node)
  try {
    for (let h = 1n; h <= 3n; h++) {
      for (const n of [a, b, c]) for (const t of txsAt(h - 1n)) await n.submitTx(t)
      const base = genesis.genesisTimeMs + h * 1000n
      const x = build(a, base) // held on a
      const committedRoot = b.stateRoot()
      const nonce = b.accountNonce(x.included[0].sender)

      // b: validates x and commits it: the fast path.
      const px = await b.validateBlock(x.block)
      // While held, reads and the state root are still those of the committed head.
      assert.deepEqual(b.stateRoot(), committedRoot)
      assert.equal(b.accountNonce(x.included[0].sender), nonce)
      await b.commitPrepared(px, certificate(px))

      // c: validates x, then another block y of the same height (held instead), then commits x:
      // the held block is y's, so x's writes are applied again (slow path).
      const pcx = await c.validateBlock(x.block)
      const y = build(a, base + 1n, 2) // a now holds y, not x; y writes another state
      assert.equal(x.included.length, 4)
      assert.notEqual(toHex(y.block.header.stateRoot), toHex(x.block.header.stateRoot))
      await c.validateBlock(y.block)
      await c.commitPrepared(pcx, certificate(pcx))
      await a.commitPrepared(x, certificate(x))

      for (const n of [a, b, c]) {
        assert.equal(n.height, h)
        assert.deepEqual(n.stateRoot(), x.block.header.stateRoot)
      }
      assert.equal(b.stateBytes, c.stateBytes)
      assert.equal(a.stateBytes, c.stateBytes)
      assert.deepEqual(entries(b), entries(c))
      assert.deepEqual(entries(a), entries(c))
    }
    assert.deepEqual(b.commitStats, { reused: 3, applied: 0 })
    assert.deepEqual(c.commitStats, { reused: 0, applied: 3 })
    assert.deepEqual(a.commitStats, { reused: 0, applied: 3 })
    // A held block is reverted by anything that needs the committed tree (here a state proof).
    for (const t of txsAt(3n)) await b.submitTx(t)
    const z = await b.validateBlock(build(a, genesis.genesisTimeMs + 9000n).block)
    const proof = await b.proveState(new Uint8Array([1, 2, 3]))
    assert.deepEqual(proof.stateRoot, c.stateRoot())
    await b.commitPrepared(z, certificate(z))
    assert.deepEqual(b.commitStats, { reused: 3, applied: 1 })
    assert.deepEqual(b.stateRoot(), z.block.header.stateRoot)
  } finally {
    for (const o of opened) await o.store.close()
  }
  // What went to disk is the same state: a reopened node's tree matches its head's state root.
  const again = await openNetwork(dirs[1].dir, genesis)
  assert.equal(again.node.height, 4n)
  await again.store.close()
})
