/**
 * The relayer between two networks hosted in one node (one LevelDB, separate key spaces):
 * a transfer alpha -> hub and back with state proofs, acknowledgements, a timeout refund, a
 * relayer crash mid-flight (a fresh relayer continues, no double delivery) and a destination that
 * halts and resumes (breaker opens, then the transfer completes).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  accountIdOf,
  App,
  bankModule,
  createMeshModule,
  type Genesis,
  genesisToJson,
  getBalance,
  getSupply,
  mesh,
  MESH_KIND,
} from '@pulsemesh/app'
import {
  blockHash,
  encodeCommit,
  encodeHeader,
  type Header,
  sign,
  VoteType,
  voteSignBytes,
} from '@pulsemesh/core'
import { NetworkNode } from '../src/chain/network-node.ts'
import { LocalEndpoint, type MeshEndpoint } from '../src/mesh/endpoint.ts'
import { clientCreatePayload, Relayer } from '../src/mesh/relayer.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { inlineVerifier, keyFromByte, makeGenesis, tempDir, validator } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const relayerKey = keyFromByte(3)
const idOf = (k: typeof alice) => accountIdOf(k.publicKey)
const kinds = createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)

function genesisOf(id: string): Genesis {
  const g = makeGenesis([alice, bob, relayerKey])
  return { ...g, networkId: id, params: { ...g.params, networkId: id, blockIntervalMs: 100 } }
}

let store: ChainStore
let cleanup: () => void
let hub: NetworkNode
let alpha: NetworkNode
const ep = (n: NetworkNode, k = relayerKey) => new LocalEndpoint(n, k)

async function open(s: ChainStore, g: Genesis) {
  return NetworkNode.open({
    app: new App(g.params, [bankModule, createMeshModule()]),
    genesis: g,
    genesisJson: JSON.stringify(genesisToJson(g)),
    store: s.network(g.networkId),
    verifyPool: inlineVerifier,
    validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
  })
}

/** Runs relayer passes and blocks on both networks until `done()` or the round budget runs out. */
async function drive(r: Relayer, done: () => boolean, nets = [hub, alpha], rounds = 12) {
  for (let i = 0; i < rounds && !done(); i++) {
    await r.pass().catch(() => undefined)
    for (const n of nets) await n.produceBlock()
  }
  assert.ok(done(), 'relaying did not complete')
}

const voucher = () => getSupply(hub.state, 'transfer/alpha/gold')
const escrow = () => getBalance(alpha.state, mesh.escrowAccount('hub'), 'gold')
const pendingOnAlpha = () => mesh.pendingPackets(alpha.state, 'alpha', 'hub').length

async function transfer(amount: bigint, o: { timeoutHeight?: bigint } = {}) {
  await ep(alpha, alice).submit(
    MESH_KIND.transfer,
    enc(MESH_KIND.transfer, {
      destNetwork: 'hub',
      asset: 'gold',
      amount,
      receiver: idOf(bob),
      timeoutHeight: o.timeoutHeight ?? 10_000n,
      timeoutTimeMs: 0n,
    }),
  )
  const b = await alpha.produceBlock()
  assert.equal(b.results[0]!.error, '')
}

describe('mesh relayer (networks hosted together)', () => {
  before(async () => {
    const t = tempDir('pm-mesh-')
    cleanup = t.cleanup
    store = await ChainStore.open(join(t.dir, 'data'))
    hub = await open(store, genesisOf('hub'))
    alpha = await open(store, genesisOf('alpha'))
    await hub.produceBlock()
    await alpha.produceBlock()
    await ep(hub).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(alpha)))
    await ep(alpha).submit(MESH_KIND.clientCreate, await clientCreatePayload(ep(hub)))
    assert.equal((await hub.produceBlock()).results[0]!.error, '')
    assert.equal((await alpha.produceBlock()).results[0]!.error, '')
  })
  after(async () => {
    await store.close()
    cleanup()
  })

  it('relays a transfer to the hub and back; escrow == vouchers', async () => {
    await transfer(40n)
    const r = new Relayer(ep(hub), ep(alpha))
    await drive(r, () => voucher() === 40n && pendingOnAlpha() === 0)
    assert.equal(getBalance(hub.state, idOf(bob), 'transfer/alpha/gold'), 40n)
    assert.equal(escrow(), 40n)
    // Home again: bob sends 15 back to alice.
    await ep(hub, bob).submit(
      MESH_KIND.transfer,
      enc(MESH_KIND.transfer, {
        destNetwork: 'alpha',
        asset: 'transfer/alpha/gold',
        amount: 15n,
        receiver: idOf(alice),
        timeoutHeight: 10_000n,
        timeoutTimeMs: 0n,
      }),
    )
    await hub.produceBlock()
    await drive(r, () => escrow() === 25n && mesh.pendingPackets(hub.state, 'hub', 'alpha').length === 0)
    assert.equal(voucher(), 25n)
    assert.ok(r.stats.received >= 2 && r.stats.acknowledged >= 2, JSON.stringify(r.stats))
  })

  it('a relayer that crashes mid-flight is replaced; delivery happens exactly once', async () => {
    const before = voucher()
    await transfer(7n)
    const r1 = new Relayer(ep(hub), ep(alpha))
    await r1.pass() // recv submitted to the hub mempool, then the relayer "crashes"
    const r2 = new Relayer(ep(hub), ep(alpha))
    await r2.pass() // knows nothing of r1: submits again (the second delivery will fail)
    await drive(r2, () => voucher() === before + 7n && pendingOnAlpha() === 0)
    await hub.produceBlock()
    assert.equal(voucher(), before + 7n)
    assert.equal(escrow(), voucher())
  })

  it('refunds the sender when the packet times out', async () => {
    const aliceBefore = getBalance(alpha.state, idOf(alice), 'gold')
    await transfer(5n, { timeoutHeight: hub.height + 2n })
    for (let i = 0; i < 3; i++) await hub.produceBlock()
    const r = new Relayer(ep(hub), ep(alpha))
    await drive(r, () => pendingOnAlpha() === 0)
    assert.equal(getBalance(alpha.state, idOf(alice), 'gold'), aliceBefore)
    assert.equal(r.stats.timedOut, 1)
    assert.equal(escrow(), voucher())
  })

  it('survives a halted destination: breaker opens, the transfer completes on resume', async () => {
    let halted = true
    const real = ep(hub)
    const flaky: MeshEndpoint = {
      networkId: 'hub',
      head: () => (halted ? Promise.reject(new Error('hub halted')) : real.head()),
      prove: (k) => (halted ? Promise.reject(new Error('hub halted')) : real.prove(k)),
      query: (n, a) => (halted ? Promise.reject(new Error('hub halted')) : real.query(n, a)),
      submit: (k, p) => (halted ? Promise.reject(new Error('hub halted')) : real.submit(k, p)),
    }
    const before = voucher()
    await transfer(3n)
    const r = new Relayer(flaky, ep(alpha), { breakerFailures: 2, breakerOpenMs: 50 })
    for (let i = 0; i < 4; i++) await assert.rejects(r.pass())
    assert.equal(voucher(), before)
    halted = false
    await new Promise((res) => setTimeout(res, 60))
    await drive(r, () => voucher() === before + 3n && pendingOnAlpha() === 0)
    assert.equal(escrow(), voucher())
  })

  it('fork watch: a client that trusts a block the counterparty never committed is frozen by the relayer', async () => {
    // alpha's validator signs a header above alpha's head that alpha's chain will not contain.
    const head = alpha.headHeader!
    const forged: Header = {
      ...head,
      height: alpha.height + 2n,
      timeMs: head.timeMs + 1n,
      stateRoot: new Uint8Array(32).fill(0xee),
    }
    const hash = blockHash(forged)
    const vote = {
      type: VoteType.Precommit,
      height: forged.height,
      round: 0,
      blockHash: hash,
      timestampMs: forged.timeMs,
      extension: new Uint8Array(0),
    }
    const commit = {
      height: forged.height,
      round: 0,
      blockHash: hash,
      signatures: [
        {
          validatorIndex: 0,
          timestampMs: forged.timeMs,
          extension: new Uint8Array(0),
          signature: sign('ed25519', validator.secretKey, voteSignBytes('alpha', vote)),
        },
      ],
    }
    await ep(hub).submit(
      MESH_KIND.clientUpdate,
      enc(MESH_KIND.clientUpdate, {
        counterparty: 'alpha',
        header: encodeHeader(forged),
        commit: encodeCommit(commit),
        validators: [],
      }),
    )
    assert.equal((await hub.produceBlock()).results[0]!.error, '', 'a certified header is accepted')
    const r = new Relayer(ep(hub), ep(alpha), { checkMs: 0 })
    await r.pass()
    assert.equal(r.stats.misbehaviour, 0, 'alpha has not reached that height yet: nothing to compare')
    await alpha.produceBlock()
    await alpha.produceBlock() // alpha's real block at the forged height
    await r.pass().catch(() => undefined)
    assert.equal(r.stats.misbehaviour, 1)
    await hub.produceBlock()
    const c = mesh.getClient(hub.state, 'alpha')
    assert.ok(c !== undefined)
    assert.equal(mesh.frozenAt(hub.state, 'alpha'), forged.height)
    // From now on packets from alpha are refused with a reason code; nothing is minted.
    const before = voucher()
    await transfer(2n)
    await r.pass().catch(() => undefined)
    const results = (await hub.produceBlock()).results
    assert.ok(
      results.length > 0 && results.every((x) => x.error === 'CLIENT_FROZEN'),
      JSON.stringify(results),
    )
    assert.equal(voucher(), before)
  })
})

describe('relayer wake-up', () => {
  /** An endpoint with no packets that announces blocks when told to; counts the passes' queries. */
  function quietEndpoint(networkId: string) {
    const listeners = new Set<() => void>()
    const ep = {
      networkId,
      packetQueries: 0,
      onQuery: undefined as (() => void) | undefined,
      head: async () => {
        throw new Error('not used')
      },
      prove: async () => {
        throw new Error('not used')
      },
      query: async <T>(name: string): Promise<T> => {
        if (name === 'packets') {
          ep.packetQueries++
          ep.onQuery?.()
          return [] as T
        }
        // client / registry lookups of the periodic checks: nothing to do
        return (name === 'registry' ? { hub: null, record: null } : null) as T
      },
      submit: async () => '',
      onBlock: (l: () => void) => {
        listeners.add(l)
        return () => listeners.delete(l)
      },
      block: () => {
        for (const l of listeners) l()
      },
      listeners,
    }
    return ep
  }

  it('passes once at start and then on each block of either network, not on a timer', async () => {
    const a = quietEndpoint('a')
    const b = quietEndpoint('b')
    // No timer could run a second pass within the test: the fallback is an hour.
    const r = new Relayer(a as MeshEndpoint, b as MeshEndpoint, { idleMs: 3_600_000, checkMs: 3_600_000 })
    const queried = () => new Promise<void>((res) => (a.onQuery = res))
    let next = queried()
    r.start()
    await next
    assert.equal(r.stats.passes, 1)
    for (const ep of [b, a, b]) {
      next = queried()
      ep.block()
      await next
    }
    assert.equal(r.stats.passes, 4)
    assert.equal(a.packetQueries, 4)
    await r.stop()
    assert.equal(a.listeners.size + b.listeners.size, 0, 'stop detaches from both networks')
  })
})
