/**
 * A non-validator full node over real sockets: 4 validator processes + 1 full-node process on
 * 127.0.0.1. The full node follows the chain (consensus observer + block sync, every block
 * certificate-checked and re-executed), accepts txs on its API and forwards them through the txs
 * topic, shows its p2p figures on /metrics, and catches up after a SIGKILL; all validators SIGKILLed
 * at once restart and continue. Bounded by poll counts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey } from '@pulsemesh/core'
import { PulseClient, signTx, transferPayload } from '@pulsemesh/sdk'
import { Keystore } from '../src/keys/keystore.ts'
import { ProcessDevnet } from '../src/p2p/devnet-processes.ts'
import { FAST_TIMEOUTS } from './consensus-fixtures.ts'
import { apiHeights } from './api-heights.ts'
import { tempDir } from './fixtures.ts'

const NET = 'hub'
const FULL = 4

/** The value of one series in a Prometheus text page (first match), or undefined. */
export function metric(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

describe('full node (4 validator processes + 1 full-node process)', { timeout: 300_000 }, () => {
  const tmp = tempDir('pm-fullnode-')
  let net: ProcessDevnet
  let clients: PulseClient[]

  const { height, waitHeight } = apiHeights(() => clients, NET, { polls: 900 })

  before(async () => {
    net = await ProcessDevnet.start({
      validators: 4,
      fullNodes: 1,
      dir: tmp.dir,
      blockIntervalMs: 200,
      commitDelayMs: 250,
      timeouts: FAST_TIMEOUTS,
    })
    clients = net.members.map((m) => new PulseClient({ baseUrl: m.apiUrl }))
    await waitHeight(0, 3n, 'validators commit', 1500)
  })

  after(async () => {
    await net?.stop()
    tmp.cleanup()
  })

  it('follows the chain as a full node, with the same blocks, learning them from gossip', async () => {
    const target = (await height(0)) + 3n
    await waitHeight(FULL, target, 'full node follows')
    for (let h = target - 2n; h <= target; h++) {
      const [a, b] = await Promise.all([clients[0].block(NET, h), clients[FULL].block(NET, h)])
      assert.equal(b.hash, a.hash, `block ${h}`)
    }
    type St = { roles: Record<string, string>; consensus: Record<string, { committed: number }> }
    const st = (await net.status(FULL)) as unknown as St
    assert.equal(st.roles[NET], 'full')
    // Committed through the observer engine (proposal + > 2/3 precommits heard on gossip), not
    // only by block sync polling.
    assert.ok(st.consensus[NET].committed > 0, 'blocks committed from gossip')
    assert.equal(((await net.status(0)) as unknown as St).roles[NET], 'validator')
  })

  it('a tx submitted to the full node API is forwarded and committed', async () => {
    const demo = new Keystore(net.members[0].home).load('demo')
    const to = parseAccount(addressFromPublicKey(demo.publicKey, 'pm'), 'pm')
    const head = await height(FULL)
    const tx = signTx(
      { scheme: demo.scheme, publicKey: demo.publicKey, secret: demo.secret },
      { networkId: NET, nonce: 0n, fee: 1000n, expiresAt: head + 5000n, memo: 'via full node' },
      0x0101,
      transferPayload(to, 'pulse', 1n),
    )
    const { hash } = await clients[FULL].submitTx(NET, tx.bytes)
    const onValidator = await clients[1].waitForTx(NET, hash, 90_000, 100)
    assert.equal(onValidator.status, 'committed')
    const onFull = await clients[FULL].waitForTx(NET, hash, 90_000, 100)
    assert.equal(onFull.status, 'committed')
  })

  it('/metrics shows the p2p figures of the running node', async () => {
    // Give gossip a few heights of traffic.
    await waitHeight(FULL, (await height(FULL)) + 2n, 'more heights')
    const page = await (await fetch(`${net.members[FULL].apiUrl}/metrics`)).text()
    const hub = { network: NET }
    assert.ok((metric(page, 'pulsemesh_p2p_network_peers', hub) ?? 0) >= 1, 'peers on the network')
    assert.ok((metric(page, 'pulsemesh_p2p_topic_peers', { ...hub, topic: 'votes' }) ?? 0) >= 1)
    assert.ok((metric(page, 'pulsemesh_p2p_gossip_messages_in_total', { ...hub, topic: 'votes' }) ?? 0) > 0)
    assert.ok((metric(page, 'pulsemesh_p2p_gossip_bytes_in_total', { ...hub, topic: 'proposals' }) ?? 0) > 0)
    assert.ok((metric(page, 'pulsemesh_p2p_gossip_messages_out_total', { ...hub, topic: 'txs' }) ?? 0) >= 1)
    assert.ok(
      (metric(page, 'pulsemesh_p2p_gossip_verdicts_total', { ...hub, topic: 'votes', verdict: 'accepted' }) ??
        0) > 0,
    )
    for (const name of [
      'pulsemesh_p2p_gossip_verdicts_total',
      'pulsemesh_p2p_penalties_total',
      'pulsemesh_p2p_peers_blocked_total',
      'pulsemesh_p2p_peers_blocked',
      'pulsemesh_p2p_sync_behind_blocks',
      'pulsemesh_p2p_sync_blocks_in_total',
      'pulsemesh_p2p_compression_saved_bytes_total',
      'pulsemesh_p2p_snapshot_installed_height_blocks',
      'pulsemesh_p2p_snapshot_chunks_out_total',
    ])
      assert.notEqual(metric(page, name), undefined, `${name} on /metrics`)
    assert.equal(metric(page, 'pulsemesh_p2p_network_role', { ...hub, role: 'full' }), 1)
    // What a full node publishes (its tx batches) went through the zstd framing; whether it saves
    // bytes depends on the payload (a one-tx batch is sent raw, compact proposals barely compress).
    assert.ok((metric(page, 'pulsemesh_p2p_compression_raw_bytes_total') ?? 0) > 0)
    assert.ok((metric(page, 'pulsemesh_connected_peers') ?? 0) >= 1)
    const ready = (await (await fetch(`${net.members[FULL].apiUrl}/readyz`)).json()) as {
      checks: Record<string, boolean>
      peers: number
    }
    assert.equal(ready.checks.caughtUp, true)
    assert.ok(ready.peers >= 1)
  })

  it('killed and restarted, the full node catches up by block sync and follows again', async () => {
    await net.kill(FULL, 'SIGKILL')
    const target = (await height(0)) + 8n
    await waitHeight(0, target, 'validators go on without the full node')
    await net.revive(FULL)
    await waitHeight(FULL, target, 'restarted full node catches up')
    const st = (await net.status(FULL)) as unknown as { sync: Record<string, { fetchedBlocks: number }> }
    assert.ok(st.sync[NET].fetchedBlocks > 0, 'caught up through block sync')
    const next = (await height(0)) + 2n
    await waitHeight(FULL, next, 'follows again after catching up')
    const [a, b] = await Promise.all([clients[0].block(NET, next), clients[FULL].block(NET, next)])
    assert.equal(b.hash, a.hash)
  })

  it('every validator SIGKILLed at once (mid-height) restarts and the chain goes on', async () => {
    // What only a process held is gone everywhere: the validators resume from their sign states
    // (with the blocks saved there) and the validator sets stored per height.
    const start = await height(0)
    await Promise.all([0, 1, 2, 3].map((i) => net.kill(i, 'SIGKILL')))
    await Promise.all([0, 1, 2, 3].map((i) => net.revive(i)))
    const target = start + 3n
    for (const i of [0, 1, 2, 3, FULL]) await waitHeight(i, target, `member ${i} after the restart`)
    const hashes = await Promise.all(
      [0, 1, 2, 3, FULL].map(async (i) => (await clients[i].block(NET, target)).hash),
    )
    assert.equal(new Set(hashes).size, 1, 'one chain')
  })
})
