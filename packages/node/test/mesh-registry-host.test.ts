/**
 * A config-driven node (`startHost`, as `pulsemesh start` runs it) with `mesh.hostRegistry`: when
 * the hub's registry records a network that lists this node's validator key, the node opens it
 * and serves it on its API; a network listing other validators is not opened.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { MESH_KIND } from '@pulsemesh/app'
import { PulseClient } from '@pulsemesh/sdk'
import { initHome, type RunningHost, startHost } from '../src/host.ts'
import { Keystore } from '../src/keys/keystore.ts'
import { encodeMesh } from '../src/mesh/devnet-deps.ts'
import { LocalEndpoint } from '../src/mesh/endpoint.ts'
import { tempDir } from './fixtures.ts'

let h: RunningHost
let cleanup: () => void
let home: string

before(async () => {
  const t = tempDir('pm-meshreg-')
  home = t.dir
  cleanup = t.cleanup
  initHome(home, {
    networkId: 'hub',
    port: 0,
    blockIntervalMs: 100,
    addressPrefix: 'pm',
    feeAsset: 'pulse',
    nowMs: BigInt(Date.now()),
  })
  const cfg = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'))
  cfg.mesh = { hostRegistry: true, hub: 'hub', validatorKey: 'validator-hub' }
  writeFileSync(join(home, 'config.json'), JSON.stringify(cfg))
  h = await startHost(home, { port: 0 })
})
after(async () => {
  await h.stop()
  cleanup()
})

it('opens registry networks that list this validator, and only those', async () => {
  const keys = new Keystore(home)
  const demo = keys.load('demo')
  const mine = keys.load('validator-hub').publicKey.bytes
  const ep = new LocalEndpoint(h.networks.get('hub')!, { secretKey: demo.secret, publicKey: demo.publicKey })
  const create = (id: string, validator: Uint8Array) =>
    ep.submit(
      MESH_KIND.networkCreate,
      encodeMesh(MESH_KIND.networkCreate, {
        id,
        profile: 'bft',
        validators: [{ publicKey: validator, power: 10n }],
        nativeAsset: 'tcoin',
        blockIntervalMs: 100,
        compliancePolicy: '',
      }),
    )
  await create('tenant-r', mine)
  await create('elsewhere', new Uint8Array(32).fill(9))
  const end = Date.now() + 15_000
  while (!h.networks.has('tenant-r') && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  assert.ok(h.networks.has('tenant-r'), 'registry network not opened')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(h.networks.has('elsewhere'), false)
  const st = await new PulseClient({ baseUrl: h.url }).status('tenant-r')
  assert.equal(st.params.feeAsset, 'tcoin')
})
