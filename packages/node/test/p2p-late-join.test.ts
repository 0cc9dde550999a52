/**
 * Late joiners over real sockets (processes on 127.0.0.1): a validator started after 100+ blocks
 * catches up by block sync (progress bar with blocks/s and ETA on its stderr) and then votes; an
 * empty full node with `p2p.snapshot.join` installs a verified state snapshot at a certified height
 * (the checkpoint at 100) instead of replaying from genesis, then block-syncs and follows.
 */
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { PulseClient } from '@pulsemesh/sdk'
import { ProcessDevnet } from '../src/p2p/devnet-processes.ts'
import { FAST_TIMEOUTS } from './consensus-fixtures.ts'
import { apiHeights, sleep } from './api-heights.ts'
import { tempDir } from './fixtures.ts'

const NET = 'hub'
const LATE_VALIDATOR = 3
const FULL = 4

describe('late join: block sync from genesis, and state snapshot', { timeout: 600_000 }, () => {
  const tmp = tempDir('pm-latejoin-')
  let net: ProcessDevnet
  let clients: PulseClient[]

  const { height, waitHeight } = apiHeights(() => clients, NET, { polls: 3000 })

  before(async () => {
    net = await ProcessDevnet.start({
      validators: 4,
      fullNodes: 1,
      dir: tmp.dir,
      blockIntervalMs: 100,
      commitDelayMs: 100,
      timeouts: FAST_TIMEOUTS,
    })
    clients = net.members.map((m) => new PulseClient({ baseUrl: m.apiUrl }))
    // Both late joiners leave at once; the full node starts over from an empty data dir that opts in
    // to state sync.
    await net.kill(LATE_VALIDATOR, 'SIGKILL')
    await net.kill(FULL, 'SIGKILL')
    const home = net.members[FULL].home
    rmSync(join(home, 'data'), { recursive: true, force: true })
    const cfgFile = join(home, 'config.json')
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'))
    cfg.p2p.snapshot = { join: true }
    writeFileSync(cfgFile, JSON.stringify(cfg, null, 2))
    // Three of four validators hold > 2/3 of the power: the chain goes on to past the first
    // checkpoint (100), where every validator keeps a snapshot.
    await waitHeight(0, 110n, 'three validators commit 110 blocks')
  })

  after(async () => {
    await net?.stop()
    tmp.cleanup()
  })

  it('a validator started after 100+ blocks catches up by block sync with a progress bar, then votes', async () => {
    const target = await height(0)
    await net.revive(LATE_VALIDATOR)
    await waitHeight(LATE_VALIDATOR, target, 'late validator catches up')
    const st = (await net.status(LATE_VALIDATOR)) as unknown as {
      sync: Record<string, { fetchedBlocks: number }>
    }
    assert.ok(st.sync[NET].fetchedBlocks >= 100, 'the 100+ blocks came by block sync')
    const bar = net.members[LATE_VALIDATOR].logs.find((l) => l.includes('blocks/s') && l.includes('ETA'))
    assert.ok(
      bar,
      `progress bar with blocks/s and ETA in the output:\n${net.members[LATE_VALIDATOR].logs.slice(-5).join('\n')}`,
    )
    // Then it takes part in consensus: its precommit (validator index 3) appears in certificates.
    let next = await height(0)
    let voted = false
    for (let k = 0; k < 600 && !voted; k++) {
      const h = await height(0)
      for (; next <= h && !voted; next++) {
        const r = await fetch(`${net.members[0].apiUrl}/v1/networks/${NET}/commits/${next}`)
        const c = (await r.json()) as { commitJson: { signatures: { validatorIndex: number }[] } }
        voted = c.commitJson.signatures.some((s) => s.validatorIndex === LATE_VALIDATOR)
      }
      if (!voted) await sleep(100)
    }
    assert.ok(voted, 'the late validator signs commits after catching up')
  })

  it('an empty full node joins by a verified snapshot at the checkpoint, then block-syncs and follows', async () => {
    await net.revive(FULL)
    const target = (await height(0)) + 2n
    await waitHeight(FULL, target, 'full node joins and follows')
    const st = (await net.status(FULL)) as unknown as {
      snapshot: Record<string, { installedHeight: number; entriesFetched: number }>
      sync: Record<string, { fetchedBlocks: number }>
    }
    const s = st.snapshot[NET]
    assert.ok(s.installedHeight >= 100 && s.installedHeight % 100 === 0, `installed at ${s.installedHeight}`)
    assert.ok(s.entriesFetched > 0)
    // It never replayed from genesis: blocks before the snapshot are not on this node.
    const early = await fetch(
      `${net.members[FULL].apiUrl}/v1/networks/${NET}/blocks/${s.installedHeight - 1}`,
    )
    assert.equal(early.status, 404)
    // Same chain as the validators from the snapshot on (each block re-executed against the
    // installed state: equal hashes mean equal state roots).
    for (const h of [BigInt(s.installedHeight), BigInt(s.installedHeight) + 1n, target]) {
      const [a, b] = await Promise.all([clients[0].block(NET, h), clients[FULL].block(NET, h)])
      assert.equal(b.hash, a.hash, `block ${h}`)
    }
    const demo = net.demoAddress
    const [va, fa] = await Promise.all([clients[0].account(NET, demo), clients[FULL].account(NET, demo)])
    assert.deepEqual(fa.balances, va.balances)
  })
})
