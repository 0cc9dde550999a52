/**
 * Many networks in one node: 100 networks open in one MeshHost (one LevelDB), idle networks
 * produce no blocks, a tx wakes exactly its network, the registry watcher starts a network the
 * hub registers, and the in-host relayer moves a transfer between two hosted networks.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { accountIdOf, createMeshModule, type Genesis, getSupply, MESH_KIND } from '@pulsemesh/app'
import { LocalEndpoint } from '../src/mesh/endpoint.ts'
import { devNetworkGenesis, MeshHost } from '../src/mesh/mesh-host.ts'
import { RegistryWatcher } from '../src/mesh/registry-watcher.ts'
import { clientCreatePayload } from '../src/mesh/relayer.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { inlineVerifier, keyFromByte, makeGenesis, tempDir, validator } from './fixtures.ts'

const alice = keyFromByte(1)
const relayerKey = keyFromByte(3)
const kinds = createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)
const N = 100

function genesisOf(id: string, blockIntervalMs = 50): Genesis {
  const g = makeGenesis([alice, relayerKey])
  return { ...g, networkId: id, params: { ...g.params, networkId: id, blockIntervalMs } }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(20)
  assert.ok(cond(), 'condition not reached')
}

let store: ChainStore
let cleanup: () => void
let host: MeshHost

describe(`mesh host: ${N} networks in one node`, () => {
  before(async () => {
    const t = tempDir('pm-meshhost-')
    cleanup = t.cleanup
    store = await ChainStore.open(join(t.dir, 'data'))
    host = new MeshHost({
      store,
      verifyPool: inlineVerifier,
      validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
    })
    await host.addNetwork(genesisOf('hub'))
    for (let i = 0; i < N - 1; i++) await host.addNetwork(genesisOf(`t${i}`))
  })
  after(async () => {
    await host.stop()
    await store.close()
    cleanup()
  })

  it('opens every network, gives each its first block, then stays idle (no empty blocks)', async () => {
    assert.equal(host.networks.size, N)
    await until(() => [...host.networks.values()].every((n) => n.height === 1n))
    await sleep(300)
    assert.ok(
      [...host.networks.values()].every((n) => n.height === 1n),
      'an idle network produced a block',
    )
  })

  it('a tx wakes only its own network', async () => {
    const t5 = host.net('t5')
    await new LocalEndpoint(t5, relayerKey).submit(
      MESH_KIND.clientCreate,
      await clientCreatePayload(new LocalEndpoint(host.net('t6'), relayerKey)),
    )
    await until(() => t5.height === 2n)
    assert.equal(host.net('t6').height, 1n)
    assert.equal(host.stats().filter((s) => s.height !== '1').length, 1)
  })

  it('starts a network when the hub registry records it', async () => {
    const hub = host.net('hub')
    const w = new RegistryWatcher({ host, hubId: 'hub', validatorKey: validator.publicKey.bytes })
    await w.start()
    await new LocalEndpoint(hub, alice).submit(
      MESH_KIND.networkCreate,
      enc(MESH_KIND.networkCreate, {
        id: 'tenant-x',
        profile: 'bft',
        validators: [{ publicKey: validator.publicKey.bytes, power: 10n }],
        nativeAsset: 'xcoin',
        blockIntervalMs: 100,
        compliancePolicy: '',
      }),
    )
    await until(() => host.networks.has('tenant-x'))
    await w.settled()
    await until(() => host.net('tenant-x').height >= 1n)
    assert.deepEqual(w.started, ['tenant-x'])
    assert.equal(host.net('tenant-x').genesis.params.feeAsset, 'xcoin')
    w.stop()
  })

  it('development mode: joining a name creates the network (same genesis for every joiner)', async () => {
    const n = await host.join('scratch')
    assert.equal(await host.join('scratch'), n)
    await until(() => n.height >= 1n)
    assert.equal(n.genesis.params.minFee, 0n)
    assert.deepEqual(devNetworkGenesis('scratch', validator.publicKey.bytes), n.genesis)
    await assert.rejects(host.join('Bad Name'), (e: { code?: string }) => e.code === 'INVALID_NETWORK')
  })

  it('enforces the storage quota per network (over quota: no more blocks, reported)', async () => {
    const t = tempDir('pm-meshquota-')
    const s2 = await ChainStore.open(join(t.dir, 'data'))
    const h2 = new MeshHost({
      store: s2,
      verifyPool: inlineVerifier,
      validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
      quotas: { stateEntries: 3 },
    })
    try {
      const quota: string[] = []
      h2.on('quota', (id: string) => quota.push(id))
      const n = await h2.addNetwork(genesisOf('small'))
      await until(() => quota.length === 1)
      assert.deepEqual(quota, ['small'])
      assert.equal(n.height, 0n)
      assert.equal(h2.stats()[0]!.overQuota, true)
    } finally {
      await h2.stop()
      await s2.close()
      t.cleanup()
    }
  })

  it('relays a transfer between two hosted networks', async () => {
    const [a, b] = [host.net('t1'), host.net('t2')]
    const ep = (n: typeof a, k = relayerKey) => new LocalEndpoint(n, k)
    await ep(a).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(b)))
    await ep(b).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(a)))
    await until(() => a.height >= 2n && b.height >= 2n)
    host.relay('t1', 't2', relayerKey, { intervalMs: 50 })
    await ep(a, alice).submit(
      MESH_KIND.transfer,
      enc(MESH_KIND.transfer, {
        destNetwork: 't2',
        asset: 'gold',
        amount: 9n,
        receiver: accountIdOf(alice.publicKey),
        timeoutHeight: 100_000n,
        timeoutTimeMs: 0n,
      }),
    )
    await until(() => getSupply(b.state, 'transfer/t1/gold') === 9n)
  })
})
