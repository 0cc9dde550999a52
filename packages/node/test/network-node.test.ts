import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { balanceKey, BANK_KIND, bankModule, getBalance, TxError } from '@pulsemesh/app'
import {
  DecodeError,
  encodeCommit,
  encodeHeader,
  encodeMerkleProof,
  encodeStateProof,
  encodeTx,
  isPulseError,
  merkleProof,
  parseAddress,
  toHex,
} from '@pulsemesh/core'
import { signTx, transferPayload, verifyAccountProof, verifyTxProof } from '@pulsemesh/sdk'
import { signed } from '../../app/test/helpers.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = makeGenesis([alice])
const t = tempDir()
after(t.cleanup)
const bobId = parseAddress(bob.address).bytes
const aliceId = parseAddress(alice.address).bytes
const send = (nonce: bigint, amount: bigint, extra: Record<string, unknown> = {}) =>
  signed(alice, {
    kind: BANK_KIND.transfer,
    payload: transferPayload(bobId, 'pulse', amount),
    nonce,
    ...extra,
  })

const validatorsJson = genesis.validators.map((v) => ({
  publicKey: toHex(v.publicKey),
  power: v.power.toString(),
}))

describe('network node: produce, persist, prove, restart', () => {
  let stateRootAfter = ''
  test('txs are admitted, included, executed and indexed', async () => {
    const { store, node } = await openNetwork(t.dir, genesis)
    for (let i = 0n; i < 5n; i++) await node.submitTx(send(i, 100n).bytes)
    assert.equal(node.mempool.size, 5)
    const b = await node.produceBlock()
    assert.equal(b.height, 1n)
    assert.equal(b.txHashes.length, 5)
    assert.equal(node.mempool.size, 0)
    assert.equal(getBalance(node.state, bobId, 'pulse'), 500n)
    const loc = await node.store.txLocation(Buffer.from(b.txHashes[2], 'hex'))
    assert.deepEqual(loc, { height: 1n, index: 2 })
    const byAcct = await node.store.txsByAccount(bobId, 10)
    assert.equal(byAcct.length, 5)
    assert.equal(byAcct[0].index, 4, 'newest first')
    const balances = await node.accountBalances(aliceId)
    assert.equal(balances.get('pulse'), 1_000_000_000n - 550n)
    assert.equal(balances.get('gold'), 1000n)

    // Tx inclusion proof, verified as a light client would.
    const found = (await node.txWithProof(Buffer.from(b.txHashes[3], 'hex')))!
    const proof = {
      tx: toHex(found.txBytes),
      proof: toHex(encodeMerkleProof(merkleProof(found.block.block.txs, found.index))),
      header: toHex(encodeHeader(found.block.block.header)),
      commit: toHex(encodeCommit(found.block.commit)),
      validators: validatorsJson,
    }
    assert.equal(verifyTxProof(proof).height, 1n)
    const forged = { ...proof, tx: toHex(send(9n, 1n).bytes) }
    assert.throws(
      () => verifyTxProof(forged),
      (e: unknown) => isPulseError(e) && e.code === 'PROOF_INVALID',
    )
    const wrongSet = {
      ...proof,
      validators: [{ publicKey: toHex(keyFromByte(99).publicKey.bytes), power: '10' }],
    }
    assert.throws(
      () => verifyTxProof(wrongSet),
      (e: unknown) => isPulseError(e) && e.code === 'PROOF_INVALID',
    )

    // Account proofs: membership and non-membership.
    for (const [acct, asset, expectPresent] of [
      [bobId, 'pulse', true],
      [bobId, 'gold', false],
    ] as const) {
      const r = await node.proveState(balanceKey(acct, asset))
      const resp = {
        key: toHex(balanceKey(acct, asset)),
        value: r.value === null ? null : toHex(r.value),
        stateRoot: toHex(r.stateRoot),
        proof: toHex(encodeStateProof(r.proof)),
        header: toHex(encodeHeader(r.header!)),
        commit: toHex(encodeCommit(r.commit)),
        validators: validatorsJson,
      }
      const v = verifyAccountProof(resp)
      assert.equal(v.value !== null, expectPresent)
      if (expectPresent) {
        assert.throws(
          () => verifyAccountProof({ ...resp, value: null }),
          (e: unknown) => isPulseError(e) && e.code === 'PROOF_INVALID',
        )
      }
    }
    stateRootAfter = toHex(node.stateRoot())
    await node.idle()
    await store.close()
  })

  test('restart resumes at the last block with the same state root', async () => {
    const { store, node } = await openNetwork(t.dir, genesis)
    assert.equal(node.height, 1n)
    assert.equal(toHex(node.stateRoot()), stateRootAfter)
    assert.equal(node.nextNonce(aliceId), 5n)
    // Replay of a committed tx is refused.
    await assert.rejects(
      node.submitTx(send(0n, 100n).bytes),
      (e: unknown) => isPulseError(e) && e.code === 'NONCE_REUSED',
    )
    await node.submitTx(send(5n, 1n).bytes)
    const b = await node.produceBlock()
    assert.equal(b.height, 2n)
    await store.close()
  })

  test('bad input: typed errors, nothing changes, node keeps serving', async () => {
    const { store, node } = await openNetwork(t.dir, genesis)
    const root = toHex(node.stateRoot())
    const good = send(6n, 1n)
    const badSig = good.bytes.slice()
    badSig[badSig.length - 5] ^= 1
    const oversize = new Uint8Array(40 * 1024)
    const cases: [string, Uint8Array, string][] = [
      ['malformed bytes', new Uint8Array([1, 2, 3]), 'DECODE_ERROR'],
      ['oversize', oversize, 'DECODE_TOO_LARGE'],
      ['non-canonical (trailing byte)', new Uint8Array([...good.bytes, 0]), 'DECODE_ERROR'],
      ['wrong network', send(6n, 1n, { networkId: 'elsewhere' }).bytes, 'WRONG_NETWORK'],
      ['bad signature', badSig, 'BAD_SIGNATURE'],
      ['nonce gap', send(9n, 1n).bytes, 'NONCE_GAP'],
      ['nonce reuse', send(2n, 1n).bytes, 'NONCE_REUSED'],
      ['expired', send(6n, 1n, { expiresAt: 1n }).bytes, 'TX_EXPIRED'],
      ['fee too low', send(6n, 1n, { fee: 1n }).bytes, 'FEE_TOO_LOW'],
      [
        'unknown kind',
        signed(alice, { kind: 0x0999, payload: new Uint8Array(), nonce: 6n }).bytes,
        'UNKNOWN_TX_KIND',
      ],
    ]
    for (const [name, bytes, code] of cases) {
      await assert.rejects(
        node.submitTx(bytes),
        (e: unknown) => isPulseError(e) && e.code.startsWith(code.slice(0, 6)) && e.code === code,
        name,
      )
    }
    assert.equal(node.mempool.size, 0)
    assert.equal(toHex(node.stateRoot()), root)
    // Execution failures (insufficient funds, unknown asset) are included, fail, and pay the fee.
    const poor = signed(alice, {
      kind: BANK_KIND.transfer,
      payload: transferPayload(bobId, 'pulse', 10n ** 15n),
      nonce: 6n,
    })
    const unknown = signed(alice, {
      kind: BANK_KIND.transfer,
      payload: transferPayload(bobId, 'silver', 1n),
      nonce: 7n,
    })
    await node.submitTx(poor.bytes)
    await node.submitTx(unknown.bytes)
    const b = await node.produceBlock()
    assert.deepEqual(
      b.results.map((r) => r.error),
      ['INSUFFICIENT_FUNDS', 'UNKNOWN_ASSET'],
    )
    // And the node still works.
    await node.submitTx(send(8n, 1n).bytes)
    assert.equal((await node.produceBlock()).txHashes.length, 1)
    void TxError
    void DecodeError
    void encodeTx
    void bankModule
    void signTx
    await store.close()
  })
})
