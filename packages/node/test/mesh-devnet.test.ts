/**
 * The mesh devnet end to end over HTTP: hub + emotionalchain + tenant-a + tenant-b in one node
 * with in-process relayers; the CLI sends acoin from tenant-a to the hub and back, the relayer
 * delivers with verified state proofs, `mesh totals` shows escrow == vouchers, the registry
 * lists the networks, and an external HTTP relayer (HttpEndpoint) works against the node API,
 * driven by the node's WebSocket block feed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PulseClient } from '@pulsemesh/sdk'
import { MESH_DEVNET_NETWORKS, type RunningMeshDevnet, runMeshDevnet } from '../src/mesh/devnet.ts'
import { HttpEndpoint } from '../src/mesh/endpoint.ts'
import { Relayer } from '../src/mesh/relayer.ts'
import { Keystore } from '../src/keys/keystore.ts'
import { runCliJson } from './cli-in-process.ts'
import { tempDir } from './fixtures.ts'

let d: RunningMeshDevnet
let home: string
let cleanup: () => void

/** Runs a CLI command with --json (in this process) and returns its parsed output. */
const cli = (...args: string[]) => runCliJson<unknown>({ home, node: d.url }, args)
/** `transfer ... --base-units --wait` of `amount` base units of `asset` to the demo account. */
const transferBase = (from: string, to: string, amount: string, asset: string) =>
  cli(
    'transfer',
    '--from-network',
    from,
    '--to-network',
    to,
    '--to',
    d.demoAddress,
    '--base-units',
    '--amount',
    amount,
    '--asset',
    asset,
    '--wait',
  )

describe('mesh devnet (CLI over the node API)', () => {
  before(async () => {
    const t = tempDir('pm-meshdev-')
    home = t.dir
    cleanup = t.cleanup
    d = await runMeshDevnet(home, { port: 0, blockIntervalMs: 100 })
  })
  after(async () => {
    await d.stop()
    cleanup()
  })

  it('hosts hub, emotionalchain and two tenants; the registry lists them', async () => {
    assert.deepEqual([...d.host.networks.keys()].sort(), MESH_DEVNET_NETWORKS.map((n) => n.id).sort())
    const until = Date.now() + 10_000
    let list: { id: string }[] = []
    while (Date.now() < until) {
      list = (await cli('network', 'list')) as { id: string }[]
      if (list.length === 3) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.deepEqual(list.map((n) => n.id).sort(), ['emotionalchain', 'tenant-a', 'tenant-b'])
  })

  it('sends acoin tenant-a -> hub and back with the CLI; totals conserved', async () => {
    const to = d.demoAddress
    const r1 = (await transferBase('tenant-a', 'hub', '1000', 'acoin')) as {
      credited: string
      landingDenom: string
      decimals: number
    }
    assert.equal(r1.landingDenom, 'transfer/tenant-a/acoin')
    assert.equal(r1.credited, '1000')
    assert.equal(r1.decimals, 6, 'acoin has 6 decimals, and so has its voucher')
    const r2 = (await cli(
      'transfer',
      '--from-network',
      'hub',
      '--to-network',
      'tenant-a',
      '--to',
      to,
      '--amount',
      '0.0004', // whole units: the voucher carries acoin's 6 decimals, so 400 base units
      '--asset',
      'transfer/tenant-a/acoin',
      '--wait',
    )) as {
      landingDenom: string
    }
    assert.equal(r2.landingDenom, 'acoin')
    // More decimals than the asset has, or a malformed base-unit amount: refused before signing.
    for (const amount of [
      ['--amount', '0.0000001'],
      ['--base-units', '--amount', '1e3'],
    ]) {
      const bad = (await cli(
        'transfer',
        '--from-network',
        'hub',
        '--to-network',
        'tenant-a',
        '--to',
        to,
        ...amount,
        '--asset',
        'transfer/tenant-a/acoin',
      )) as { error: string }
      assert.equal(bad.error, 'INVALID_AMOUNT')
    }
    // Wait for the acknowledgements, then check conservation.
    const end = Date.now() + 10_000
    let rows: { network: string; escrowed: string; vouchers: string; conserved: boolean }[] = []
    while (Date.now() < end) {
      rows = (await cli('mesh', 'totals', '--origin', 'tenant-a', '--asset', 'acoin')) as typeof rows
      if (rows.every((r) => r.conserved)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const hub = rows.find((r) => r.network === 'hub')!
    assert.deepEqual(hub, { network: 'hub', escrowed: '600', vouchers: '600', conserved: true })
    const clients = (await cli('mesh', 'clients')) as { counterparty: string; status: string }[]
    assert.deepEqual(clients.map((c) => [c.counterparty, c.status]).sort(), [
      ['emotionalchain', 'active'],
      ['tenant-a', 'active'],
      ['tenant-b', 'active'],
    ])
  })

  it('network update / retire from a key that does not own the network: NOT_NETWORK_OWNER', async () => {
    const v = new Keystore(home).load('validator-mesh')
    const before = (await cli('network', 'list')) as { id: string; status: string }[]
    const update = (await cli(
      'network',
      'update',
      'tenant-a',
      '--from',
      'relayer',
      '--validator',
      Buffer.from(v.publicKey.bytes).toString('hex'),
    )) as { error?: string }
    assert.equal(update.error, 'NOT_NETWORK_OWNER')
    const retire = (await cli('network', 'retire', 'tenant-b', '--from', 'relayer')) as { error?: string }
    assert.equal(retire.error, 'NOT_NETWORK_OWNER')
    assert.deepEqual(await cli('network', 'list'), before)
  })

  it('serves mesh proofs over HTTP that an external relayer endpoint can use', async () => {
    const k = new Keystore(home).load('relayer')
    const ep = new HttpEndpoint(new PulseClient({ baseUrl: d.url }), 'tenant-b', {
      secretKey: k.secret,
      publicKey: k.publicKey,
    })
    const head = await ep.head()
    assert.ok(head.height >= 1n)
    const c = await ep.query<{ latestHeight: string } | null>('client', { network: 'hub' })
    assert.ok(c !== null)
    const pr = await ep.prove(new Uint8Array([7, 0x20, ...new TextEncoder().encode('hub')]))
    assert.ok(pr.value !== null, 'the client state of hub exists on tenant-b')
    await assert.rejects(
      new PulseClient({ baseUrl: d.url }).request('GET', '/v1/networks/hub/mesh/proof/0101'),
      (e: { code?: string }) => e.code === 'BAD_REQUEST',
    )
  })

  it('an HTTP relayer with the node block feed (/v1/ws) runs a pass per block, not per poll', async () => {
    const k = new Keystore(home).load('relayer')
    const key = { secretKey: k.secret, publicKey: k.publicKey }
    const client = new PulseClient({ baseUrl: d.url })
    const feed = client.stream()
    await feed.connect()
    // Without a feed it polls; with it, the only fallback pass comes after idleMs (a minute here).
    const polling = new Relayer(
      new HttpEndpoint(client, 'hub', key),
      new HttpEndpoint(client, 'tenant-a', key),
    )
    polling.start()
    assert.equal(polling.eventDriven, false)
    await polling.stop()
    const r = new Relayer(
      new HttpEndpoint(client, 'hub', key, feed),
      new HttpEndpoint(client, 'tenant-a', key, feed),
      {
        idleMs: 60_000,
      },
    )
    r.start()
    try {
      assert.equal(r.eventDriven, true)
      // Idle networks make no blocks: a transfer makes some on both (packet, receipt, ack).
      await transferBase('tenant-a', 'hub', '5', 'acoin')
      for (let i = 0; i < 300 && r.stats.passes < 3; i++) await new Promise((res) => setTimeout(res, 20))
      assert.ok(r.stats.passes >= 3, `passes on blocks: ${JSON.stringify(r.stats)}`)
      assert.equal(r.stats.failures, 0)
    } finally {
      await r.stop()
      feed.close()
    }
  })
})
