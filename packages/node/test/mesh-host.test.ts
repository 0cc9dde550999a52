/**
 * Many networks in one node: 100 networks open in one MeshHost (one LevelDB), idle networks
 * produce no blocks, a tx wakes exactly its network, the registry watcher starts a network the
 * hub registers, and the in-host relayer moves a transfer between two hosted networks.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { accountIdOf, createMeshModule, type Genesis, getSupply, MESH_KIND, mesh } from '@pulsemesh/app'
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
    // The registry-started network follows the hub's registry (its mesh module knows the hub).
    const reg = host.net('tenant-x').app.query(
      host.net('tenant-x').state,
      'mesh',
      'registry',
      {},
      {
        params: host.net('tenant-x').genesis.params,
        height: 1n,
      },
    ) as { hub: string }
    assert.equal(reg.hub, 'hub')
    // Retire: the host stops the network (no longer hosted or scheduled); its data stays.
    const tx = host.net('tenant-x')
    const heightBefore = tx.height
    await new LocalEndpoint(hub, alice).submit(
      MESH_KIND.networkRetire,
      enc(MESH_KIND.networkRetire, { id: 'tenant-x' }),
    )
    await until(() => !host.networks.has('tenant-x'))
    await w.settled()
    assert.deepEqual(w.stopped, ['tenant-x'])
    assert.equal(await tx.store.latestHeight(), heightBefore, 'data kept, no new blocks')
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
      quotas: { stateBytes: 64 },
    })
    try {
      const quota: string[] = []
      h2.on('quota', (id: string) => quota.push(id))
      const n = await h2.addNetwork(genesisOf('small'))
      await until(() => quota.length === 1)
      assert.deepEqual(quota, ['small'])
      assert.equal(n.height, 0n)
      assert.equal(h2.stats()[0]!.overQuota, true)
      assert.ok(h2.stats()[0]!.stateBytes > 64, 'the quota counts bytes of state (keys + values)')
    } finally {
      await h2.stop()
      await s2.close()
      t.cleanup()
    }
  })

  it('network update reaches a registry-started network: the relayer carries the proved record', async () => {
    const hub = host.net('hub')
    const w = new RegistryWatcher({ host, hubId: 'hub', validatorKey: validator.publicKey.bytes })
    await w.start()
    const me = { publicKey: validator.publicKey.bytes, power: 10n }
    const other = { publicKey: keyFromByte(77).publicKey.bytes, power: 5n }
    const hubEp = new LocalEndpoint(hub, alice)
    await hubEp.submit(
      MESH_KIND.networkCreate,
      enc(MESH_KIND.networkCreate, {
        id: 'tenant-y',
        profile: 'bft',
        validators: [me],
        nativeAsset: 'ycoin',
        blockIntervalMs: 100,
        compliancePolicy: '',
      }),
    )
    await until(() => host.networks.has('tenant-y') && host.net('tenant-y').height >= 1n)
    const ty = host.net('tenant-y')
    // The owner (alice) holds ycoin on tenant-y from genesis: she pays for the client there.
    await new LocalEndpoint(ty, alice).submit(
      MESH_KIND.clientCreate,
      await clientCreatePayload(new LocalEndpoint(hub, alice)),
    )
    await hubEp.submit(MESH_KIND.clientCreate, await clientCreatePayload(new LocalEndpoint(ty, alice)))
    await until(
      () =>
        mesh.getClient(ty.state, 'hub') !== undefined && mesh.getClient(hub.state, 'tenant-y') !== undefined,
    )
    host.relay(
      'hub',
      'tenant-y',
      { secretKey: alice.secretKey, publicKey: alice.publicKey },
      { intervalMs: 50 },
    )
    await hubEp.submit(
      MESH_KIND.networkUpdate,
      enc(MESH_KIND.networkUpdate, {
        id: 'tenant-y',
        validators: [me, other],
        blockIntervalMs: 200,
        compliancePolicy: 'v2',
      }),
    )
    const registry = () =>
      ty.app.query(ty.state, 'mesh', 'registry', {}, { params: ty.genesis.params, height: ty.height }) as {
        record: { blockIntervalMs: number; compliancePolicy: string } | null
        validators: { power: string }[]
      }
    await until(() => registry().record?.compliancePolicy === 'v2', 20_000)
    assert.equal(registry().record?.blockIntervalMs, 200)
    assert.deepEqual(
      registry().validators.map((v) => v.power),
      ['10', '5'],
    )
    w.stop()
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
