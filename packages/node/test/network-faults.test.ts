/**
 * Fault tests with real validator processes on 127.0.0.1 (4 processes, libp2p between them):
 * SIGKILL under load and catch-up by block sync, a 3/1 partition, a 2/2 split that must not
 * commit, and convergence on one chain after healing. Partitions use each node's connection gater
 * through the IPC control channel (no network namespaces needed). Time is bounded by poll counts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { addressFromPublicKey } from '@pulsemesh/core'
import { PulseClient, signTx, transferPayload } from '@pulsemesh/sdk'
import { parseAccount } from '@pulsemesh/app'
import { Keystore } from '../src/keys/keystore.ts'
import { ProcessDevnet } from '../src/p2p/devnet-processes.ts'
import { FAST_TIMEOUTS } from './consensus-fixtures.ts'
import { apiHeights, sleep } from './api-heights.ts'
import { tempDir } from './fixtures.ts'

const NET = 'hub'

describe('network faults with 4 validator processes', { timeout: 240_000 }, () => {
  const tmp = tempDir('pm-faults-')
  let net: ProcessDevnet
  let clients: PulseClient[]
  let nonce = 0n
  const committed: string[] = []

  const { height, waitHeight } = apiHeights(() => clients, NET, { polls: 600, who: 'validator' })
  const heights = () => Promise.all([0, 1, 2, 3].map((i) => height(i).catch(() => -1n)))

  /** Signs `n` transfers from the funded demo account and submits them through validator `via`. */
  async function load(via: number, n: number): Promise<string[]> {
    const demo = new Keystore(net.members[0].home).load('demo')
    const to = parseAccount(addressFromPublicKey(demo.publicKey, 'pm'), 'pm')
    const head = await height(via)
    const hashes: string[] = []
    for (let k = 0; k < n; k++) {
      const tx = signTx(
        { scheme: demo.scheme, publicKey: demo.publicKey, secret: demo.secret },
        { networkId: NET, nonce: nonce++, fee: 1000n, expiresAt: head + 5000n, memo: `load ${k}` },
        0x0101,
        transferPayload(to, 'pulse', 1n),
      )
      hashes.push((await clients[via].submitTx(NET, tx.bytes)).hash)
    }
    return hashes
  }

  async function assertCommitted(i: number, hashes: string[]): Promise<void> {
    for (const h of hashes) {
      const r = await clients[i].waitForTx(NET, h, 60_000, 100)
      assert.equal(r.status, 'committed', `tx ${h} on validator ${i}`)
    }
  }

  /** No fork: every validator has the same block hash at every height they all have. */
  async function assertOneChain(): Promise<bigint> {
    const hs = await heights()
    const common = hs.reduce((a, b) => (b < a ? b : a))
    for (let h = 1n; h <= common; h++) {
      const hashes = await Promise.all(clients.map((c) => c.block(NET, h).then((b) => b.hash as string)))
      assert.equal(new Set(hashes).size, 1, `fork at height ${h}: ${hashes.join(' ')}`)
    }
    return common
  }

  async function partition(groups: number[][] | null): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const g = groups?.find((x) => x.includes(i))
      await net.partition(i, groups === null ? null : (g ?? []).filter((j) => j !== i))
    }
  }

  before(async () => {
    net = await ProcessDevnet.start({
      validators: 4,
      dir: tmp.dir,
      // Slower heights than the consensus tests: 4 processes share the CI cores with other suites.
      blockIntervalMs: 200,
      commitDelayMs: 250,
      timeouts: FAST_TIMEOUTS,
    })
    clients = net.members.map((m) => new PulseClient({ baseUrl: m.apiUrl }))
    await Promise.all([0, 1, 2, 3].map((i) => waitHeight(i, 2n, 'first blocks', 1200)))
  })

  after(async () => {
    await net?.stop()
    tmp.cleanup()
  })

  it('SIGKILL one validator under load: the others commit, it restarts, catches up by sync, no tx lost, no fork', async () => {
    const a = await load(1, 20)
    await assertCommitted(1, a)
    committed.push(...a)
    await net.kill(3, 'SIGKILL')
    const b = await load(0, 20)
    await assertCommitted(0, b)
    committed.push(...b)
    const target = (await height(0)) + 10n
    await waitHeight(0, target, 'three validators keep committing')
    await net.revive(3)
    await waitHeight(3, target, 'restarted validator catches up')
    const st = (await net.status(3)) as unknown as { sync: Record<string, { fetchedBlocks: number }> }
    assert.ok(st.sync[NET].fetchedBlocks > 0, 'caught up through block sync')
    await assertCommitted(3, committed)
    await assertOneChain()
  })

  it('partition 3/1: the three continue; after healing the fourth converges', async () => {
    await partition([[0, 1, 2], [3]])
    const h0 = await height(0)
    await waitHeight(0, h0 + 5n, 'majority side commits')
    const c = await load(0, 5)
    await assertCommitted(0, c)
    committed.push(...c)
    await partition(null)
    const target = await height(0)
    await waitHeight(3, target, 'isolated validator catches up after heal')
    await assertCommitted(3, c)
    await assertOneChain()
  })

  it('split 2/2: nobody commits; after healing all converge on one chain', async () => {
    await partition([
      [0, 1],
      [2, 3],
    ])
    await sleep(2500) // a commit whose precommits were already out may still land
    const frozen = await heights()
    await sleep(3000)
    const later = await heights()
    assert.deepEqual(later, frozen, 'no side of a 2/2 split has > 2/3 of the power')
    await partition(null)
    const top = frozen.reduce((x, y) => (y > x ? y : x))
    for (let i = 0; i < 4; i++) await waitHeight(i, top + 3n, 'progress after heal')
    const d = await load(2, 5)
    await assertCommitted(3, d)
    await assertCommitted(0, d)
    const common = await assertOneChain()
    assert.ok(common >= top + 3n)
  })
})
