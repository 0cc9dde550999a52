import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { BANK_KIND, getBalance } from '@pulsemesh/app'
import { parseAddress, type Proposal, toHex } from '@pulsemesh/core'
import { transferPayload } from '@pulsemesh/sdk'
import { signed } from '../../app/test/helpers.ts'
import { COMPACT_TXS_MAX, decodeMessage, encodeMessage, MsgTag } from '../src/consensus/messages.ts'
import { fourValidatorGenesis, startLocal, waitFor } from './consensus-fixtures.ts'
import { keyFromByte, tempDir } from './fixtures.ts'

const proposal: Proposal = {
  height: 7n,
  round: 2,
  polRound: -1,
  blockHash: new Uint8Array(32).fill(9),
  timestampMs: 1234n,
  signature: new Uint8Array(64).fill(3),
}

describe('compact proposals: wire format', () => {
  test('round trip of a compact proposal and a proposal request', () => {
    const txHashes = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]
    const shellBytes = new Uint8Array([5, 6, 7])
    const m = decodeMessage(encodeMessage({ type: 'compactProposal', proposal, shellBytes, txHashes }))
    assert.deepEqual(m, { type: 'compactProposal', proposal, shellBytes, txHashes })
    const r = { type: 'proposalRequest' as const, height: 7n, round: 2, blockHash: proposal.blockHash }
    assert.deepEqual(decodeMessage(encodeMessage(r)), r)
  })

  test('truncated, padded or over-long messages are refused with DecodeError', () => {
    const ok = encodeMessage({
      type: 'compactProposal',
      proposal,
      shellBytes: new Uint8Array(3),
      txHashes: [new Uint8Array(32)],
    })
    for (const bad of [ok.subarray(0, ok.length - 1), Uint8Array.from([...ok, 0])])
      assert.throws(() => decodeMessage(bad), { name: 'DecodeError' })
    const tooMany = Uint8Array.from(ok)
    // The count field sits right before the hashes.
    new DataView(tooMany.buffer).setUint32(ok.length - 32 - 4, COMPACT_TXS_MAX + 1)
    assert.throws(() => decodeMessage(tooMany), { name: 'DecodeError' })
    const req = encodeMessage({
      type: 'proposalRequest',
      height: 1n,
      round: 0,
      blockHash: new Uint8Array(32),
    })
    assert.equal(req[0], MsgTag.ProposalRequest)
    assert.throws(() => decodeMessage(req.subarray(0, req.length - 1)), { name: 'DecodeError' })
  })
})

describe('compact proposals: a validator missing a tx asks for the whole proposal', async () => {
  const alice = keyFromByte(1)
  const bob = keyFromByte(2)
  const genesis = fourValidatorGenesis([alice])
  const t = tempDir('pm-compact-')
  after(t.cleanup)
  const net = await startLocal(genesis, t.dir)
  after(() => net.stop())
  const live = () => net.validators.filter((v) => v !== undefined)

  test('a tx only in one mempool is committed by all four on one chain', async () => {
    await waitFor(() => live().every((v) => v.node.height >= 2n), 'height 2')
    const bobId = parseAddress(bob.address).bytes
    const tx = signed(alice, {
      kind: BANK_KIND.transfer,
      payload: transferPayload(bobId, 'pulse', 55n),
      nonce: 0n,
      expiresAt: live()[0].node.height + 200n,
    })
    // Straight into validator 1's mempool: no 'tx' event, so nobody else is sent it. When validator
    // 1 proposes, the others cannot rebuild its compact proposal and must ask for the whole one.
    net.validators[1]!.node.mempool.add(tx, { stateNonce: 0n, feeBalance: 10n ** 18n })
    await waitFor(
      () => live().every((v) => getBalance(v.node.state, bobId, 'pulse') === 55n),
      'transfer committed everywhere',
    )
    const requests = live().reduce((n, v) => n + v.driver.stats.proposalRequests, 0)
    assert.ok(requests >= 1, 'at least one whole proposal was asked for')
    const h = live().reduce((m, v) => (v.node.height < m ? v.node.height : m), 1n << 62n)
    const hashes = new Set<string>()
    for (const v of live()) hashes.add(toHex((await v.node.getBlock(h))!.hash))
    assert.equal(hashes.size, 1)
  })
})
