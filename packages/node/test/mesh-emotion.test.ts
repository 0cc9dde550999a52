/**
 * EmotionalChain in the mesh: a network built from the EmotionalChain profile's modules (bank,
 * staking weighted by emotion, emotion, mesh — `emotionModulesFor`) and the hub in one MeshHost;
 * EMO goes to the hub as a voucher with EMO's 6 decimals and comes back, escrow == vouchers.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import {
  accountIdOf,
  bankModule,
  createMeshModule,
  type Genesis,
  getAsset,
  getBalance,
  getSupply,
  MESH_KIND,
  mesh,
} from '@pulsemesh/app'
import { addressFromPublicKey } from '@pulsemesh/core'
import {
  EMO,
  EMO_UNIT,
  EMOTIONALCHAIN_ID,
  emotionalChainProfile,
  emotionModulesFor,
} from '../src/emotion/profile.ts'
import { LocalEndpoint } from '../src/mesh/endpoint.ts'
import { MeshHost } from '../src/mesh/mesh-host.ts'
import { clientCreatePayload } from '../src/mesh/relayer.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { inlineVerifier, keyFromByte, makeGenesis, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const relayerKey = keyFromByte(3)
const kinds = createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(cond: () => boolean, ms = 20_000) {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(20)
  assert.ok(cond(), 'condition not reached')
}

// One validator: the host signs both networks with the profile's validator key.
const profile = emotionalChainProfile({
  validators: 1,
  blockIntervalMs: 100,
  extraBalances: [alice, relayerKey].map((k) => ({
    address: addressFromPublicKey(k.publicKey, EMO),
    amount: 1_000n * EMO_UNIT,
  })),
})
const vkey = profile.validators[0]!.key
const hubGenesis: Genesis = (() => {
  const g = makeGenesis([alice, relayerKey])
  return {
    ...g,
    params: { ...g.params, blockIntervalMs: 100 },
    validators: [{ name: 'v0', publicKey: vkey.publicKey.bytes, power: 10n }],
  }
})()

let store: ChainStore
let host: MeshHost
let cleanup: () => void

before(async () => {
  const t = tempDir('pm-mesh-emo-')
  cleanup = t.cleanup
  store = await ChainStore.open(join(t.dir, 'data'))
  host = new MeshHost({
    store,
    verifyPool: inlineVerifier,
    validatorKey: { seed: vkey.secretKey, publicKey: vkey.publicKey.bytes },
    modules: (g) => emotionModulesFor(g) ?? [bankModule, createMeshModule()],
  })
  await host.addNetwork(hubGenesis)
  await host.addNetwork(profile.genesis)
  await until(() => [...host.networks.values()].every((n) => n.height >= 1n))
})
after(async () => {
  await host.stop()
  await store.close()
  cleanup()
})

it('EmotionalChain runs the mesh module: EMO to the hub and back, decimals kept, totals conserved', async () => {
  const emo = host.net(EMOTIONALCHAIN_ID)
  const hub = host.net('hub')
  assert.ok(
    emo.app.modules.some((m) => m.name === 'emotion'),
    'the Proof of Emotion module runs',
  )
  const ep = (id: string, k = relayerKey) =>
    new LocalEndpoint(host.net(id), { secretKey: k.secretKey, publicKey: k.publicKey })
  await ep('hub').submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(EMOTIONALCHAIN_ID)))
  await ep(EMOTIONALCHAIN_ID).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep('hub')))
  await until(
    () =>
      mesh.getClient(hub.state, EMOTIONALCHAIN_ID) !== undefined &&
      mesh.getClient(emo.state, 'hub') !== undefined,
  )
  host.relay(
    'hub',
    EMOTIONALCHAIN_ID,
    { secretKey: relayerKey.secretKey, publicKey: relayerKey.publicKey },
    {
      intervalMs: 50,
    },
  )
  const me = accountIdOf(alice.publicKey)
  const voucher = `transfer/${EMOTIONALCHAIN_ID}/${EMO}`
  const send = (from: string, to: string, asset: string, amount: bigint) =>
    ep(from, alice).submit(
      MESH_KIND.transfer,
      enc(MESH_KIND.transfer, {
        destNetwork: to,
        asset,
        amount,
        receiver: me,
        timeoutHeight: 100_000n,
        timeoutTimeMs: 0n,
      }),
    )
  const before = getBalance(emo.state, me, EMO)
  await send(EMOTIONALCHAIN_ID, 'hub', EMO, 250n * EMO_UNIT)
  await until(() => getBalance(hub.state, me, voucher) === 250n * EMO_UNIT)
  assert.equal(getAsset(hub.state, voucher)?.decimals, 6, 'the voucher has EMO decimals')
  await until(() => mesh.pendingPackets(emo.state, EMOTIONALCHAIN_ID, 'hub').length === 0) // acknowledged
  assert.equal(getBalance(emo.state, mesh.escrowAccount('hub'), EMO), 250n * EMO_UNIT)
  await send('hub', EMOTIONALCHAIN_ID, voucher, 100n * EMO_UNIT)
  await until(() => getBalance(emo.state, mesh.escrowAccount('hub'), EMO) === 150n * EMO_UNIT)
  await until(() => mesh.pendingPackets(hub.state, 'hub', EMOTIONALCHAIN_ID).length === 0)
  // Conservation: escrow on EmotionalChain == vouchers on the hub; alice lost only fees in EMO.
  assert.equal(getSupply(hub.state, voucher), 150n * EMO_UNIT)
  const fees = before - 150n * EMO_UNIT - getBalance(emo.state, me, EMO)
  assert.ok(fees >= 0n && fees < EMO_UNIT, `alice paid only fees (${fees})`)
})
