/**
 * Registry-hosted multi-validator networks over real processes: 4 `pulsemesh start` processes
 * validate the hub over libp2p with `mesh.hostRegistry`. A `network create` tx on the hub listing
 * their 4 keys makes every host start the network on its running libp2p host, and it commits
 * blocks with > 2/3 of the 4 signatures (BFT). A `network update` dropping one validator reaches
 * the network's own chain (relayer carries the proved record: registry sync) and the set shrinks
 * to 3 while blocks keep coming; `retire` makes every host stop it.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MESH_KIND } from '@pulsemesh/app'
import { toHex } from '@pulsemesh/core'
import { PulseClient } from '@pulsemesh/sdk'
import { Keystore } from '../src/keys/keystore.ts'
import { encodeMesh } from '../src/mesh/devnet-deps.ts'
import { HttpEndpoint } from '../src/mesh/endpoint.ts'
import { clientCreatePayload, Relayer } from '../src/mesh/relayer.ts'
import { ProcessDevnet } from '../src/p2p/devnet-processes.ts'
import { tempDir } from './fixtures.ts'

const NET = 'tenant-bft'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('registry network with 4 validator processes (BFT over libp2p)', { timeout: 300_000 }, () => {
  const tmp = tempDir('pm-meshbft-')
  let net: ProcessDevnet
  let clients: PulseClient[]
  let relayer: Relayer | undefined
  let validatorKeys: Uint8Array[]
  let demo: { secretKey: Uint8Array; publicKey: ReturnType<Keystore['load']>['publicKey'] }

  const hubEp = () => new HttpEndpoint(clients[0]!, 'hub', demo)
  async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
    const end = Date.now() + ms
    let last: unknown
    while (Date.now() < end) {
      try {
        const v = await fn()
        if (v !== undefined) return v
      } catch (e) {
        last = e
      }
      await sleep(200)
    }
    throw new Error(`timed out: ${what} (${(last as Error | undefined)?.message ?? ''})`)
  }
  const heightOn = (i: number) => clients[i]!.status(NET).then((s) => BigInt(s.height))
  /** Submits a hub tx through validator 0 and waits until it is committed without error. */
  async function hubTx(kind: number, payload: Uint8Array) {
    const hash = await hubEp().submit(kind, payload)
    const r = await clients[0]!.waitForTx('hub', hash, 60_000)
    assert.notEqual(r.result?.ok, false, `hub tx failed: ${r.result?.error}`)
  }

  before(async () => {
    net = await ProcessDevnet.start({ validators: 4, dir: tmp.dir, blockIntervalMs: 300, commitDelayMs: 300 })
    // Turn on registry hosting (config written by the devnet), then restart every process.
    await net.stop()
    for (const m of net.members) {
      const file = join(m.home, 'config.json')
      const cfg = JSON.parse(readFileSync(file, 'utf8'))
      cfg.mesh = { hostRegistry: true, hub: 'hub', validatorKey: 'validator-hub' }
      writeFileSync(file, JSON.stringify(cfg, null, 2))
    }
    for (const m of net.members) await net.revive(m.index)
    clients = net.members.map((m) => new PulseClient({ baseUrl: m.apiUrl }))
    validatorKeys = net.members.map((m) => new Keystore(m.home).load('validator-hub').publicKey.bytes)
    const d = new Keystore(net.members[0]!.home).load('demo')
    demo = { secretKey: d.secret, publicKey: d.publicKey }
    await until('hub blocks', async () =>
      (await clients[0]!.status('hub')).height >= '2' ? true : undefined,
    )
  })
  after(async () => {
    await relayer?.stop()
    await net?.stop()
    tmp.cleanup()
  })

  it('network create listing the 4 hosts: every host starts it and it commits with > 2/3 signatures', async () => {
    await hubTx(
      MESH_KIND.networkCreate,
      encodeMesh(MESH_KIND.networkCreate, {
        id: NET,
        profile: 'bft',
        validators: validatorKeys.map((publicKey) => ({ publicKey, power: 10n })),
        nativeAsset: 'bftcoin',
        blockIntervalMs: 300,
        compliancePolicy: '',
      }),
    )
    for (let i = 0; i < 4; i++)
      await until(`${NET} at height 3 on host ${i}`, async () =>
        (await heightOn(i)) >= 3n ? true : undefined,
      )
    // One chain: the same block at height 2 everywhere, certified by >= 3 of the 4 registered keys.
    const hashes = await Promise.all(clients.map((c) => c.block(NET, 2n).then((b) => b.hash as string)))
    assert.equal(new Set(hashes).size, 1, `fork at height 2: ${hashes.join(' ')}`)
    const c = await clients[1]!.commit(NET, 2n)
    assert.deepEqual(c.validators.map((v) => v.publicKey).sort(), validatorKeys.map((k) => toHex(k)).sort())
    const sigs = (c.commitJson.signatures as unknown[]).length
    assert.ok(sigs >= 3, `a BFT certificate needs > 2/3 of 4 signatures, got ${sigs}`)
  })

  it('network update (drop one validator) reaches the chain through the relayer; blocks continue', async () => {
    // The owner (demo) holds bftcoin on the new network: it pays for the light clients and relaying.
    const tenantEp = () => new HttpEndpoint(clients[0]!, NET, demo)
    const h = await tenantEp().submit(MESH_KIND.clientCreate, await clientCreatePayload(hubEp()))
    const r = await clients[0]!.waitForTx(NET, h, 90_000).catch(async (e) => {
      const hs = await Promise.all([0, 1, 2, 3].map((i) => heightOn(i).catch(() => -1n)))
      await sleep(5000)
      const hs2 = await Promise.all([0, 1, 2, 3].map((i) => heightOn(i).catch(() => -1n)))
      const mp = await Promise.all(
        clients.map((c) =>
          c
            .mempool(NET)
            .then((m) => (m as { txs: number }).txs)
            .catch((x) => String(x)),
        ),
      )
      const logs = net.members
        .map((m) =>
          m.logs
            .filter((l) => l.includes(NET))
            .slice(-8)
            .join('\n'),
        )
        .join('\n---\n')
      throw new Error(
        `${(e as Error).message}; heights ${hs.join(',')} then ${hs2.join(',')}; mempools ${JSON.stringify(mp).slice(0, 300)}\n${logs}`,
      )
    })
    assert.notEqual(r.result?.ok, false, `client create on ${NET} failed: ${r.result?.error}`)
    await hubTx(MESH_KIND.clientCreate, await clientCreatePayload(tenantEp()))
    await until('tenant client of the hub', async () =>
      (await tenantEp().query<unknown>('client', { network: 'hub' })) === null ? undefined : true,
    )
    relayer = new Relayer(hubEp(), tenantEp(), { intervalMs: 200, log: (m) => console.error(m) })
    relayer.start()
    const three = validatorKeys.slice(0, 3).map((publicKey) => ({ publicKey, power: 10n }))
    await hubTx(
      MESH_KIND.networkUpdate,
      encodeMesh(MESH_KIND.networkUpdate, {
        id: NET,
        validators: three,
        blockIntervalMs: 300,
        compliancePolicy: 'v2',
      }),
    )
    // The record reaches the tenant chain (registry sync), and 2 blocks later its set has 3 keys.
    const changedAt = await until('validator set of 3 on the tenant', async () => {
      const v = await clients[2]!.validators(NET)
      return v.validators.length === 3 ? BigInt(v.height) : undefined
    }).catch(async (e) => {
      const reg = await tenantEp()
        .query<unknown>('registry')
        .catch((x) => String(x))
      throw new Error(
        `${(e as Error).message}; relayer ${JSON.stringify(relayer?.stats)}; registry ${JSON.stringify(reg)}`,
      )
    })
    assert.ok(relayer.stats.registrySyncs >= 1)
    for (let i = 0; i < 4; i++)
      await until(`blocks after the change on host ${i}`, async () =>
        (await heightOn(i)) >= changedAt + 3n ? true : undefined,
      )
    const c = await clients[0]!.commit(NET, changedAt + 2n)
    assert.equal(c.validators.length, 3)
    assert.ok(!c.validators.some((v) => v.publicKey === toHex(validatorKeys[3]!)), 'v3 no longer signs')
  })

  it('retire: every host stops the network', async () => {
    await relayer?.stop()
    await hubTx(MESH_KIND.networkRetire, encodeMesh(MESH_KIND.networkRetire, { id: NET }))
    for (let i = 0; i < 4; i++)
      await until(`host ${i} stops ${NET}`, async () => {
        const ids = (await clients[i]!.networks()).networks.map((n) => n.id)
        return ids.includes(NET) ? undefined : true
      })
    // The hub carries on.
    const h = BigInt((await clients[0]!.status('hub')).height)
    await until('hub blocks after retire', async () =>
      BigInt((await clients[0]!.status('hub')).height) > h ? true : undefined,
    )
  })
})
