import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import {
  bankModule,
  CreateValidatorSSZ,
  createStakingModule,
  getValidator,
  RotateKeySSZ,
  STAKING_KIND,
  UnjailSSZ,
} from '@pulsemesh/app'
import { addressFromPublicKey, parseAddress, toHex } from '@pulsemesh/core'
import { genesisToJson } from '@pulsemesh/app'
import { signed } from '../../app/test/helpers.ts'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import { FAST_TIMEOUTS, fourValidatorGenesis, keysOf, validatorKeys, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const newKey3 = keyFromByte(250)
const absentKey = keyFromByte(251)
const genesis = fourValidatorGenesis([alice])
// Validator 3's operator account is its key's account (genesis validators): fund it for fees.
genesis.balances.push({
  address: addressFromPublicKey(validatorKeys[3].publicKey, 'pm'),
  asset: 'pulse',
  amount: 1_000_000n,
})
const t = tempDir('pm-cstake-')
after(t.cleanup)

describe('consensus with the staking module: validator-set changes at H+2', async () => {
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
  async function send(k: ReturnType<typeof keyFromByte>, kind: number, payload: Uint8Array) {
    const n = nonces.get(k.address) ?? 0n
    nonces.set(k.address, n + 1n)
    const tx = signed(k, { kind, payload, nonce: n, expiresAt: v0().height + 90n })
    for (const v of live()) await v.node.submitTx(tx.bytes)
  }
  const inSet = async (key: Uint8Array, height: bigint) =>
    (await v0().validatorSetAt(height)).validators.some((v) => toHex(v.publicKey) === toHex(key))

  test('a new validator joins the set two blocks after its create-validator block, then is jailed for downtime', async () => {
    await waitFor(() => v0().height >= 1n, 'first block')
    await send(
      alice,
      STAKING_KIND.createValidator,
      CreateValidatorSSZ.serialize({ consensusKey: absentKey.publicKey.bytes, amount: 5n }),
    )
    const aliceId = parseAddress(alice.address).bytes
    await waitFor(() => getValidator(v0().state, aliceId) !== undefined, 'validator created')
    const created = v0().height
    assert.equal(await inSet(absentKey.publicKey.bytes, created + 1n), false)
    assert.equal(await inSet(absentKey.publicKey.bytes, created + 2n), true)
    // Its key is never run: it misses every block and is jailed, then leaves the set.
    await waitFor(() => getValidator(v0().state, aliceId)?.jailed === true, 'downtime jail')
    const jailedAt = v0().height
    await waitFor(() => v0().height >= jailedAt + 2n, 'two more blocks')
    assert.equal(await inSet(absentKey.publicKey.bytes, jailedAt + 2n), false)
    // Same view everywhere.
    for (const v of live()) assert.equal(getValidator(v.node.state, aliceId)?.jailed, true)
    await send(alice, STAKING_KIND.unjail, UnjailSSZ.serialize({ operator: aliceId }))
    await waitFor(() => getValidator(v0().state, aliceId)?.jailed === false, 'unjailed')
  })

  test('key rotation by tx: the old key leaves and the new key enters the set at H+2', async () => {
    // Alice's absent validator is jailed again first (otherwise v3's absence would leave < 2/3 online).
    const aliceId = parseAddress(alice.address).bytes
    await waitFor(() => getValidator(v0().state, aliceId)?.jailed === true, 'alice jailed again')
    const j = v0().height
    await waitFor(() => v0().height >= j + 2n, 'alice out of the set')
    const op = validatorKeys[3]
    await send(
      op as never,
      STAKING_KIND.rotateKey,
      RotateKeySSZ.serialize({ newKey: newKey3.publicKey.bytes }),
    )
    const opId = parseAddress(addressFromPublicKey(op.publicKey, 'pm')).bytes
    await waitFor(
      () =>
        toHex(getValidator(v0().state, opId)?.consensusKey ?? new Uint8Array()) ===
        toHex(newKey3.publicKey.bytes),
      'rotated',
    )
    const h = v0().height
    await waitFor(() => v0().height >= h + 3n, 'rotation effective')
    assert.equal(await inSet(op.publicKey.bytes, h + 1n), true)
    assert.equal(await inSet(op.publicKey.bytes, h + 2n), false)
    assert.equal(await inSet(newKey3.publicKey.bytes, h + 2n), true)
  })
})
