/**
 * Staking on a running 4-validator network, end to end through txs and consensus: downtime jail and
 * unjail, key rotation where the validator switches to its new key at the height it takes effect
 * (and so is never jailed for downtime), and a byzantine validator that equivocates: evidence
 * recorded, included in a block, slashed, jailed and tombstoned on every node.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import {
  bankModule,
  consAddress,
  createStakingModule,
  genesisToJson,
  getValidator,
  RotateKeySSZ,
  STAKING_KIND,
  UnjailSSZ,
} from '@pulsemesh/app'
import { decodeMessage, encodeMessage } from '../src/consensus/messages.ts'
import { addressFromPublicKey, sign, toHex, type Vote, VoteType, voteSignBytes } from '@pulsemesh/core'
import { signed } from '../../app/test/helpers.ts'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import { FAST_TIMEOUTS, fourValidatorGenesis, keysOf, validatorKeys, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const newKey3 = keyFromByte(252)
const genesis = fourValidatorGenesis([alice])
// Enough stake that the 5% double-sign slash is not rounded away.
for (const v of genesis.validators) v.power = 1000n
// Genesis validators' operator accounts are their keys' accounts: fund them for fees.
for (const k of validatorKeys)
  genesis.balances.push({
    address: addressFromPublicKey(k.publicKey, 'pm'),
    asset: 'pulse',
    amount: 1_000_000n,
  })
const t = tempDir('pm-cbyz-')
after(t.cleanup)
const opOf = (i: number) => consAddress(validatorKeys[i].publicKey.bytes)

describe('staking through consensus: downtime, rotation, equivocation', async () => {
  const staking = createStakingModule({
    signedWindow: 4,
    maxMissed: 2,
    downtimeJailBlocks: 2n,
    unbondingBlocks: 50n,
  })
  const net = await LocalValidatorNetwork.start({
    genesis,
    genesisJson: JSON.stringify(genesisToJson(genesis)),
    keys: keysOf(4),
    dataDir: t.dir,
    verifyPool: inlineVerifier,
    modules: [bankModule, staking],
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
  })
  after(() => net.stop())
  const live = () => net.validators.filter((v) => v !== undefined)
  const v0 = () => net.validators[0]!.node
  const nonces = new Map<string, bigint>()
  /** Submits to validator 0 only: mempool forwarding brings it to the others. */
  async function send(k: (typeof validatorKeys)[number], kind: number, payload: Uint8Array) {
    const n = nonces.get(k.address) ?? 0n
    nonces.set(k.address, n + 1n)
    const tx = signed(k, { kind, payload, nonce: n, expiresAt: v0().height + 90n })
    await v0().submitTx(tx.bytes)
  }
  const inSet = async (key: Uint8Array, height: bigint) =>
    (await v0().validatorSetAt(height)).validators.some((v) => toHex(v.publicKey) === toHex(key))
  /** True when `key` signed the certificate of block `height` (read from block height+1's lastCommit). */
  async function signedBlock(key: Uint8Array, height: bigint): Promise<boolean> {
    const b = (await v0().getBlock(height + 1n))!
    const set = await v0().validatorSetAt(height)
    const idx = set.validators.findIndex((v) => toHex(v.publicKey) === toHex(key))
    return idx >= 0 && b.block.lastCommit.signatures.some((s) => s.validatorIndex === idx)
  }

  test('downtime: a stopped validator is jailed, restarts, unjails by tx and signs again', async () => {
    await waitFor(() => v0().height >= 1n, 'first block')
    await net.stopValidator(2)
    await waitFor(() => getValidator(v0().state, opOf(2))?.jailed === true, 'downtime jail')
    const jailedAt = v0().height
    await waitFor(() => v0().height >= jailedAt + 2n, 'out of the set')
    assert.equal(await inSet(validatorKeys[2].publicKey.bytes, jailedAt + 2n), false)
    await net.restartValidator(2)
    await waitFor(() => net.validators[2]!.node.height >= jailedAt + 2n, 'v2 caught up')
    // Unjail before the jail time is over fails (STILL_JAILED); after it, succeeds.
    await waitFor(() => v0().height >= getValidator(v0().state, opOf(2))!.jailedUntil, 'jail time over')
    await send(validatorKeys[2], STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: opOf(2) }))
    await waitFor(() => getValidator(v0().state, opOf(2))?.jailed === false, 'unjailed')
    const back = v0().height + 2n
    assert.equal(await inSet(validatorKeys[2].publicKey.bytes, back), true)
    await waitFor(() => v0().height >= back + 5n, 'a few blocks with v2 back')
    // A commit names the precommits that arrived in time, so one block may lack v2's: count over four.
    let signedBack = 0
    for (let h = back + 1n; h < back + 5n; h++)
      if (await signedBlock(validatorKeys[2].publicKey.bytes, h)) signedBack++
    assert.ok(signedBack >= 2, `v2 signed ${signedBack} of the 4 blocks after its return`)
    for (const v of live()) assert.equal(getValidator(v.node.state, opOf(2))?.jailed, false)
  })

  test('key rotation: the validator signs with its new key from the height the rotation takes effect', async () => {
    const switched: bigint[] = []
    net.validators[3]!.driver.on('keySwitched', (e: { height: bigint }) => switched.push(e.height))
    net.addKey(3, { seed: newKey3.secretKey, publicKey: newKey3.publicKey.bytes })
    await send(
      validatorKeys[3],
      STAKING_KIND.rotateKey,
      RotateKeySSZ.serialize({ newKey: newKey3.publicKey.bytes }),
    )
    await waitFor(
      () =>
        toHex(getValidator(v0().state, opOf(3))?.consensusKey ?? new Uint8Array()) ===
        toHex(newKey3.publicKey.bytes),
      'rotated in state',
    )
    await waitFor(() => switched.length > 0, 'driver switched keys')
    const effective = switched[0]
    assert.equal(await inSet(newKey3.publicKey.bytes, effective), true)
    assert.equal(await inSet(validatorKeys[3].publicKey.bytes, effective), false)
    assert.equal(await inSet(validatorKeys[3].publicKey.bytes, effective - 1n), true)
    // Long enough for a downtime jail (window 4, max missed 2) had the switch come late.
    await waitFor(() => v0().height >= effective + 6n, 'six blocks after the switch')
    // Commits name the precommits that arrived in time, so count over a few blocks, not one.
    let byNew = 0
    for (let h = effective; h < effective + 5n; h++)
      if (await signedBlock(newKey3.publicKey.bytes, h)) byNew++
    assert.ok(byNew >= 3, `the new key signed ${byNew} of the first 5 blocks`)
    let byOld = 0
    for (let h = effective - 3n; h < effective; h++)
      if (await signedBlock(validatorKeys[3].publicKey.bytes, h)) byOld++
    assert.ok(byOld >= 1, 'the old key signed until the switch')
    assert.equal(getValidator(v0().state, opOf(3))?.jailed, false)
    assert.equal(toHex(net.validators[3]!.driver.signingKey), toHex(newKey3.publicKey.bytes))
  })

  test('a byzantine validator equivocates: evidence included in a block, slashed, jailed and tombstoned', async () => {
    const tokensBefore = getValidator(v0().state, opOf(3))!.tokens
    // The byzantine side of validator 3: on a proposal it signs two prevotes for two different blocks
    // of that height and round, and sends both at once (a real equivocation, not a late replay).
    const set = await v0().validatorSetAt(v0().height + 1n)
    const index = set.validators.findIndex((v) => toHex(v.publicKey) === toHex(newKey3.publicKey.bytes))
    assert.ok(index >= 0)
    const byz = net.hub.connect('byz')
    // It keeps equivocating on every proposal until it is punished: on a loaded machine the first
    // proposals it hears may already be stale (their height decided), and stale votes prove nothing.
    let forged = 0
    byz.onMessage((bytes) => {
      if (bytes[0] !== 1) return
      const m = decodeMessage(bytes)
      if (m.type !== 'proposal') return
      forged++
      for (const fill of [0xa0 + (forged % 16), 0xb0 + (forged % 16)]) {
        const vote: Omit<Vote, 'signature'> = {
          type: VoteType.Prevote,
          height: m.proposal.height,
          round: m.proposal.round,
          blockHash: new Uint8Array(32).fill(fill),
          timestampMs: 0n,
          validatorIndex: index,
          extension: new Uint8Array(),
        }
        const signature = sign('ed25519', newKey3.secretKey, voteSignBytes('hub', vote))
        byz.broadcast(encodeMessage({ type: 'vote', vote: { ...vote, signature } }))
      }
    })
    await waitFor(() => getValidator(v0().state, opOf(3))?.tombstoned === true, 'tombstoned', 9000)
    byz.close()
    let withEvidence = 0n
    for (let h = 1n; h <= v0().height; h++)
      if ((await v0().getBlock(h))!.block.evidence.length > 0) withEvidence = h
    assert.ok(withEvidence > 0n, 'a block carries the evidence')
    for (const v of live()) {
      const val = getValidator(v.node.state, opOf(3))!
      assert.equal(val.jailed, true)
      assert.equal(val.tombstoned, true)
      assert.ok(val.tokens < tokensBefore, 'slashed')
    }
    // It leaves the set two blocks later; the remaining three keep committing.
    const h = v0().height
    await waitFor(() => v0().height >= h + 3n, 'three more blocks')
    assert.equal(await inSet(newKey3.publicKey.bytes, h + 2n), false)
  })
})
