/**
 * `pulsemesh devnet --validators 4` without the CLI: initBftDevnetHome + startHost run four validators
 * in one process behind one API (validator 0's node), and a restart continues the same chain.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { initBftDevnetHome } from '../src/consensus/devnet-home.ts'
import { startHost } from '../src/host.ts'
import { waitFor } from './consensus-fixtures.ts'
import { tempDir } from './fixtures.ts'

const t = tempDir('pm-bfthost-')
after(t.cleanup)

test('a host with consensus.validatorKeys runs a 4-validator network and continues it after a restart', async () => {
  const opts = {
    networkId: 'hub',
    port: 0,
    blockIntervalMs: 50,
    addressPrefix: 'pm',
    feeAsset: 'pulse',
    nowMs: 1_700_000_000_000n,
    validators: 4,
  }
  const r = initBftDevnetHome(t.dir, opts)
  assert.equal(r.validators.length, 4)
  assert.throws(() => initBftDevnetHome(t.dir, { ...opts, validators: 1 }), /between 2 and 64/)
  let host = await startHost(t.dir)
  let node = host.networks.get('hub')!
  try {
    await waitFor(() => node.height >= 3n, 'three blocks')
    const set = await node.validatorSetAt(node.height)
    assert.equal(set.validators.length, 4)
    const b = (await node.getBlock(2n))!
    assert.ok(b.commit.signatures.length >= 3, 'a > 2/3 certificate, not a single signature')
    const res = await fetch(`${host.url}/v1/networks/hub/modules/staking/validators`)
    const body = (await res.json()) as { result: { power: string }[] }
    assert.equal(body.result.length, 4)
    const halt = (await (await fetch(`${host.url}/v1/networks/hub/consensus/halt`)).json()) as {
      halted: boolean
    }
    assert.equal(halt.halted, false)
  } finally {
    await host.stop()
  }
  const stoppedAt = node.height
  assert.deepEqual(initBftDevnetHome(t.dir, opts).demoAddress, r.demoAddress, 'same keys on the second run')
  host = await startHost(t.dir)
  node = host.networks.get('hub')!
  try {
    assert.ok(node.height >= stoppedAt, 'the chain continues from disk')
    // Bounded by polls, not a deadline. The restart resumes inside a height (sign states, locked and
    // proposed blocks come back from disk) and normally decides it in its round 0; under heavy CI
    // load a round can still time out (growing timeouts), so allow ~90 s of polls.
    await waitFor(() => node.height >= stoppedAt + 2n, 'two more blocks', 9000)
  } finally {
    await host.stop()
  }
})
