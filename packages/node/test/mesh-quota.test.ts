/**
 * Per-network quotas: the API rate limit is a bucket per network (a busy tenant exhausts its own
 * budget, not another network's), configured through config.json `networkRateLimit` on a real
 * node (startHost); the storage quota counts bytes of state (keys + values), kept per commit.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { genesisToJson } from '@pulsemesh/app'
import { initHome, type RunningHost, startHost } from '../src/host.ts'
import { devNetworkGenesis } from '../src/mesh/mesh-host.ts'
import { Keystore } from '../src/keys/keystore.ts'
import { tempDir } from './fixtures.ts'

let h: RunningHost
let cleanup: () => void

before(async () => {
  const t = tempDir('pm-meshquota-')
  cleanup = t.cleanup
  initHome(t.dir, {
    networkId: 'hub',
    port: 0,
    blockIntervalMs: 100,
    addressPrefix: 'pm',
    feeAsset: 'pulse',
    nowMs: BigInt(Date.now()),
  })
  // A second network on the same node: tenant-q, validated by the same key.
  const key = new Keystore(t.dir).load('validator-hub')
  writeFileSync(
    join(t.dir, 'genesis', 'tenant-q.json'),
    JSON.stringify(genesisToJson(devNetworkGenesis('tenant-q', key.publicKey.bytes))),
  )
  const cfg = JSON.parse(readFileSync(join(t.dir, 'config.json'), 'utf8'))
  cfg.networks.push({ genesis: 'genesis/tenant-q.json', validatorKey: 'validator-hub' })
  cfg.rateLimit = false
  cfg.networkRateLimit = { networks: { 'tenant-q': { capacity: 3, refillPerSecond: 0.01 } } }
  writeFileSync(join(t.dir, 'config.json'), JSON.stringify(cfg))
  h = await startHost(t.dir, { port: 0 })
})
after(async () => {
  await h.stop()
  cleanup()
})

it('API rate limit per network: one network over its quota gets 429, the others are unaffected', async () => {
  const get = (id: string) => fetch(`${h.url}/v1/networks/${id}/status`)
  for (let i = 0; i < 3; i++) assert.equal((await get('tenant-q')).status, 200)
  const r = await get('tenant-q')
  assert.equal(r.status, 429)
  assert.ok(Number(r.headers.get('retry-after')) > 0)
  const body = (await r.json()) as { code: string; meta: { network: string } }
  assert.equal(body.code, 'RATE_LIMITED')
  assert.equal(body.meta.network, 'tenant-q')
  // The hub has no quota configured, and tenant-q's exhaustion does not touch it.
  for (let i = 0; i < 10; i++) assert.equal((await get('hub')).status, 200)
  assert.equal((await fetch(`${h.url}/livez`)).status, 200, 'health is never limited')
})

it('storage quota counts bytes: stateBytes is keys + values of the committed state', async () => {
  const n = h.networks.get('hub')!
  n.stopProducing() // no commit between the two counts
  await n.idle()
  let bytes = 0
  // Recount from the authenticated state (independent of the running counter).
  for await (const [k, v] of n.store.stateEntries()) bytes += k.length + v.length
  assert.equal(n.stateBytes, bytes)
  assert.ok(bytes > 0)
})
