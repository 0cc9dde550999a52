/**
 * The mesh module end to end over two in-memory networks with real commits and state proofs:
 * registry, light clients, ICS-20 transfers out and back, acknowledgements, timeouts, and every
 * refused input (typed code, no state change).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeCommit, encodeHeader, type Header } from '@pulsemesh/core'
import { accountIdOf, getBalance, getSupply, mesh } from '../src/index.ts'
import { getAsset, mint, putAsset } from '../src/modules/bank/ledger.ts'
import { Overlay } from '../src/state/kv.ts'
import { validatorSetOf } from '../src/validators.ts'
import { keyFromByte } from './helpers.ts'
import { genesisFor, MESH_KIND, SimNetwork } from './mesh-harness.ts'
import {
  ackTx,
  createClientTx,
  hex,
  pending,
  recvTx,
  relayAll,
  timeoutTx,
  transferTx,
  updateClientTx,
} from './mesh-relay.ts'

const { escrowAccount, encodePacket, MESH_KEYS } = mesh
const alice = keyFromByte(1)
const bob = keyFromByte(2)
const relayer = keyFromByte(3)
const v = [keyFromByte(10), keyFromByte(11), keyFromByte(12)]
const w = [keyFromByte(20)]
const idOf = (k: typeof alice) => accountIdOf(k.publicKey)
const kinds = mesh.createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)

/** hub (fee + 'pulse') and alpha (fee + 'emo'), each with a client of the other. */
function pair() {
  const funded = [alice, bob, relayer]
  const hub = new SimNetwork('hub', genesisFor('hub', 'pulse', funded, v), v)
  const alpha = new SimNetwork('alpha', genesisFor('alpha', 'emo', funded, w), w)
  hub.block()
  alpha.block()
  const r1 = hub.block([createClientTx(hub, alpha, relayer)])
  const r2 = alpha.block([createClientTx(alpha, hub, relayer)])
  assert.equal(r1[0]!.error, '')
  assert.equal(r2[0]!.error, '')
  return { hub, alpha }
}

describe('mesh registry', () => {
  it('creates, lists, updates and retires networks; only the owner may change one', () => {
    const { hub } = pair()
    const create = (key: typeof alice, id: string) =>
      hub.tx(
        key,
        MESH_KIND.networkCreate,
        enc(MESH_KIND.networkCreate, {
          id,
          profile: 'bft',
          validators: [{ publicKey: w[0]!.publicKey.bytes, power: 1n }],
          nativeAsset: 'gold',
          blockIntervalMs: 1000,
          compliancePolicy: 'none',
        }),
      )
    const r = hub.block([create(alice, 'tenant-a'), create(bob, 'tenant-a'), create(bob, 'hub')])
    assert.deepEqual(
      r.map((x) => x.error),
      ['', 'NETWORK_EXISTS', 'NETWORK_EXISTS'],
    )
    assert.equal(r[0]!.events[0]!.type, 'mesh_network_created')
    const upd = (key: typeof alice) =>
      hub.tx(
        key,
        MESH_KIND.networkUpdate,
        enc(MESH_KIND.networkUpdate, {
          id: 'tenant-a',
          validators: [{ publicKey: w[0]!.publicKey.bytes, power: 2n }],
          blockIntervalMs: 2000,
          compliancePolicy: 'kyc',
        }),
      )
    const retire = (key: typeof alice) =>
      hub.tx(key, MESH_KIND.networkRetire, enc(MESH_KIND.networkRetire, { id: 'tenant-a' }))
    const r2 = hub.block([upd(bob), upd(alice), retire(bob), retire(alice), upd(alice)])
    assert.deepEqual(
      r2.map((x) => x.error),
      ['NOT_NETWORK_OWNER', '', 'NOT_NETWORK_OWNER', '', 'NETWORK_RETIRED'],
    )
    const list = hub.query('networks') as {
      id: string
      status: string
      blockIntervalMs: number
      compliancePolicy: string
    }[]
    assert.equal(list.length, 1)
    assert.deepEqual(
      {
        id: list[0]!.id,
        status: list[0]!.status,
        ms: list[0]!.blockIntervalMs,
        p: list[0]!.compliancePolicy,
      },
      { id: 'tenant-a', status: 'retired', ms: 2000, p: 'kyc' },
    )
  })

  it('refuses bad records', () => {
    const { hub } = pair()
    const bad = (o: Record<string, unknown>) =>
      hub.tx(
        alice,
        MESH_KIND.networkCreate,
        enc(MESH_KIND.networkCreate, {
          id: 'x1',
          profile: 'poe',
          validators: [{ publicKey: w[0]!.publicKey.bytes, power: 1n }],
          nativeAsset: 'gold',
          blockIntervalMs: 1000,
          compliancePolicy: '',
          ...o,
        }),
      )
    const r = hub.block([bad({ validators: [] }), bad({ nativeAsset: 'a/b' }), bad({ blockIntervalMs: 1 })])
    assert.deepEqual(
      r.map((x) => x.error),
      ['INVALID_NETWORK', 'INVALID_NETWORK', 'INVALID_NETWORK'],
    )
  })
})

describe('mesh light clients', () => {
  it('follows the counterparty through verified headers', () => {
    const { hub, alpha } = pair()
    alpha.block()
    alpha.block()
    const r = hub.block([updateClientTx(hub, alpha, relayer)])
    assert.equal(r[0]!.error, '')
    const c = hub.query('client', { network: 'alpha' }) as { latestHeight: string }
    assert.equal(c.latestHeight, alpha.height.toString())
  })

  it('refuses a forged commit, a stale header, a wrong set; state unchanged', () => {
    const { hub, alpha } = pair()
    alpha.block()
    const good = alpha.certified()
    // Forged: the header's state root changed after signing.
    const forged = structuredClone(alpha.header!)
    forged.stateRoot = new Uint8Array(32).fill(7)
    const tx = (header: Uint8Array, validators: mesh.ValidatorEntry[] = []) =>
      hub.tx(
        relayer,
        MESH_KIND.clientUpdate,
        enc(MESH_KIND.clientUpdate, { counterparty: 'alpha', header, commit: good.commit, validators }),
      )
    const before = hub.query('client', { network: 'alpha' })
    const r = hub.block([
      tx(encodeHeader(forged)),
      tx(good.header, [{ publicKey: v[0]!.publicKey.bytes, power: 10n }]),
      tx(new Uint8Array([1, 2, 3])),
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      ['COMMIT_INVALID', 'VALIDATORS_MISMATCH', 'HEADER_INVALID'],
    )
    assert.deepEqual(hub.query('client', { network: 'alpha' }), before)
    const ok = hub.block([tx(good.header)])
    assert.equal(ok[0]!.error, '')
    const again = hub.block([tx(good.header)])
    assert.equal(again[0]!.error, 'HEADER_NOT_NEWER')
  })

  it('skips across a validator-set change only with > 1/3 of the trusted set', () => {
    const { hub, alpha } = pair()
    // alpha moves to {w0, v0, v1} from {w0}: w0 (the whole trusted set) still signs -> accepted.
    alpha.validators = [w[0]!, v[0]!, v[1]!]
    alpha.block()
    const r = hub.block([updateClientTx(hub, alpha, relayer, true)])
    assert.equal(r[0]!.error, '')
    // Then to an entirely new set {v2}: none of the trusted set signs -> refused.
    alpha.validators = [v[2]!]
    alpha.block()
    const r2 = hub.block([updateClientTx(hub, alpha, relayer, true)])
    assert.equal(r2[0]!.error, 'INSUFFICIENT_TRUST')
  })

  it('expires after the trust period', () => {
    const { hub, alpha } = pair()
    hub.block([], 3_700_000n)
    alpha.block()
    const r = hub.block([updateClientTx(hub, alpha, relayer)])
    assert.equal(r[0]!.error, 'CLIENT_EXPIRED')
  })

  it('a network in the registry can only be tracked from its registered validators', () => {
    const hub = new SimNetwork('hub', genesisFor('hub', 'pulse', [alice, relayer], v), v)
    const alpha = new SimNetwork('alpha', genesisFor('alpha', 'emo', [alice], w), w)
    hub.block()
    alpha.block()
    const register = (vs: typeof w) =>
      hub.tx(
        alice,
        MESH_KIND.networkCreate,
        enc(MESH_KIND.networkCreate, {
          id: 'alpha',
          profile: 'bft',
          validators: vs.map((k) => ({ publicKey: k.publicKey.bytes, power: 10n })),
          nativeAsset: 'emo',
          blockIntervalMs: 500,
          compliancePolicy: '',
        }),
      )
    // Registered with v0 as validator: alpha's real set {w0} does not match -> refused.
    const r = hub.block([register([v[0]!]), createClientTx(hub, alpha, relayer)])
    assert.deepEqual(
      r.map((x) => x.error),
      ['', 'VALIDATORS_MISMATCH'],
    )
  })

  it('only configured creators may create clients when restricted', () => {
    const hub = new SimNetwork('hub', genesisFor('hub', 'pulse', [alice, relayer], v), v, {
      clientCreators: [idOf(relayer)],
    })
    const alpha = new SimNetwork('alpha', genesisFor('alpha', 'emo', [alice], w), w)
    hub.block()
    alpha.block()
    const r = hub.block([
      createClientTx(hub, alpha, alice),
      createClientTx(hub, alpha, relayer),
      createClientTx(hub, alpha, relayer),
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      ['NOT_AUTHORIZED', '', 'CLIENT_EXISTS'],
    )
  })
})

/** Read through a call: `assert.deepEqual(x, [])` narrows a field to never[] for the rest of the test. */
const updatesOf = (n: SimNetwork) => n.lastValidatorUpdates

describe('mesh registry sync (network update / retire reach the tenant chain)', () => {
  it('applies a newer record proved from the hub: validator updates at the block end, then status', () => {
    const funded = [alice, bob, relayer]
    const hub = new SimNetwork('hub', genesisFor('hub', 'pulse', funded, v), v)
    const alpha = new SimNetwork('alpha', genesisFor('alpha', 'emo', funded, w), w, { registryHub: 'hub' })
    hub.block()
    alpha.block()
    const entry = (k: typeof alice, power: bigint) => ({ publicKey: k.publicKey.bytes, power })
    const reg = hub.block([
      hub.tx(
        alice,
        MESH_KIND.networkCreate,
        enc(MESH_KIND.networkCreate, {
          id: 'alpha',
          profile: 'bft',
          validators: [entry(w[0]!, 10n)],
          nativeAsset: 'emo',
          blockIntervalMs: 500,
          compliancePolicy: '',
        }),
      ),
    ])
    assert.equal(reg[0]!.error, '')
    assert.equal(hub.block([createClientTx(hub, alpha, relayer)])[0]!.error, '')
    assert.equal(alpha.block([createClientTx(alpha, hub, relayer)])[0]!.error, '')
    const update = (validators: mesh.ValidatorEntry[]) =>
      hub.tx(
        alice,
        MESH_KIND.networkUpdate,
        enc(MESH_KIND.networkUpdate, { id: 'alpha', validators, blockIntervalMs: 800, compliancePolicy: '' }),
      )
    const syncTx = (on: SimNetwork, record?: Uint8Array) => {
      const pr = hub.prove(MESH_KEYS.network('alpha'))
      return on.tx(
        relayer,
        MESH_KIND.registrySync,
        enc(MESH_KIND.registrySync, { record: record ?? pr.value!, proofHeight: pr.height, proof: pr.proof }),
      )
    }
    // The owner adds v0 (power 20): alpha reports exactly that change at the end of the sync block.
    assert.equal(hub.block([update([entry(w[0]!, 10n), entry(v[0]!, 20n)])])[0]!.error, '')
    hub.block()
    const genesisSet = hub.query('network', { id: 'alpha' }) as { genesisValidators: { power: string }[] }
    assert.deepEqual(
      genesisSet.genesisValidators.map((x) => x.power),
      ['10'],
      'the hub keeps the creation set (late hosts derive the genesis from it)',
    )
    const r = alpha.block([updateClientTx(alpha, hub, relayer), syncTx(alpha)])
    assert.deepEqual(
      r.map((x) => x.error),
      ['', ''],
    )
    assert.deepEqual(
      updatesOf(alpha).map((u) => [hex(u.publicKey), u.power]),
      [[hex(v[0]!.publicKey.bytes), 20n]],
    )
    alpha.block()
    assert.deepEqual(updatesOf(alpha), [], 'reported once')
    // Replayed, forged, or on a network that follows no registry: refused, nothing changes.
    const forged = hub.tree.get(MESH_KEYS.network('alpha'))!.slice()
    forged[forged.length - 20]! ^= 1
    const bad = alpha.block([syncTx(alpha), syncTx(alpha, forged)])
    assert.deepEqual(
      bad.map((x) => x.error),
      ['REGISTRY_NOT_NEWER', 'PROOF_INVALID'],
    )
    assert.deepEqual(updatesOf(alpha), [])
    // w0 leaves (power 0), then the network is retired: the mirror says so, the set is unchanged.
    hub.block([update([entry(v[0]!, 20n)])])
    hub.block()
    alpha.block([updateClientTx(alpha, hub, relayer), syncTx(alpha)])
    assert.deepEqual(
      updatesOf(alpha).map((u) => [hex(u.publicKey), u.power]),
      [[hex(w[0]!.publicKey.bytes), 0n]],
    )
    hub.block([hub.tx(alice, MESH_KIND.networkRetire, enc(MESH_KIND.networkRetire, { id: 'alpha' }))])
    hub.block()
    const ret = alpha.block([updateClientTx(alpha, hub, relayer), syncTx(alpha)])
    assert.equal(ret[1]!.error, '')
    assert.deepEqual(updatesOf(alpha), [])
    const q = alpha.query('registry') as { hub: string; record: { status: string; blockIntervalMs: number } }
    assert.deepEqual([q.hub, q.record.status, q.record.blockIntervalMs], ['hub', 'retired', 800])
    // The hub itself follows no registry.
    hub.block([updateClientTx(hub, alpha, relayer)])
    const pr = hub.prove(MESH_KEYS.network('alpha'))
    const none = hub.block([
      hub.tx(
        relayer,
        MESH_KIND.registrySync,
        enc(MESH_KIND.registrySync, { record: pr.value!, proofHeight: pr.height, proof: pr.proof }),
      ),
    ])
    assert.equal(none[0]!.error, 'NOT_AUTHORIZED')
  })
})

describe('mesh light-client misbehaviour', () => {
  const cert = (n: SimNetwork, h: Header, signers?: typeof w) => ({
    header: encodeHeader(h),
    commit: encodeCommit(n.signHeader(h, signers)),
  })
  const misbehaviourTx = (
    on: SimNetwork,
    a: { header: Uint8Array; commit: Uint8Array },
    b?: { header: Uint8Array; commit: Uint8Array },
    counterparty = 'alpha',
    validators1: mesh.ValidatorEntry[] = [],
  ) =>
    on.tx(
      bob, // anyone may submit evidence
      MESH_KIND.misbehaviour,
      enc(MESH_KIND.misbehaviour, {
        counterparty,
        header1: a.header,
        commit1: a.commit,
        validators1,
        header2: b?.header ?? new Uint8Array(0),
        commit2: b?.commit ?? new Uint8Array(0),
        validators2: [],
      }),
    )

  it('a second certified header at a trusted height freezes the client; packets from it are refused', () => {
    const { hub, alpha } = pair()
    alpha.block([transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 70n, receiver: idOf(bob) })])
    alpha.block()
    const [p] = pending(alpha, hub)
    assert.equal(hub.block([updateClientTx(hub, alpha, relayer)])[0]!.error, '')
    // alpha's validators sign another block at the height the hub already trusts.
    const fork = { ...alpha.header!, stateRoot: new Uint8Array(32).fill(9) }
    const r = hub.block([misbehaviourTx(hub, cert(alpha, fork))])
    assert.equal(r[0]!.error, '')
    assert.ok(r[0]!.events.some((e) => e.type === 'mesh_client_frozen'))
    const c = hub.query('client', { network: 'alpha' }) as { status: string; frozenAt: string }
    assert.equal(c.status, 'frozen')
    assert.equal(c.frozenAt, alpha.height.toString())
    // Frozen for good: no packet, no update, no new transfer towards it, no second evidence.
    alpha.block()
    const after = hub.block([
      recvTx(hub, alpha, relayer, p!, alpha.height - 1n),
      updateClientTx(hub, alpha, relayer),
      transferTx(hub, alice, { to: 'alpha', asset: 'pulse', amount: 5n, receiver: idOf(alice) }),
      misbehaviourTx(hub, cert(alpha, fork)),
    ])
    assert.deepEqual(
      after.map((x) => x.error),
      ['CLIENT_FROZEN', 'CLIENT_FROZEN', 'CLIENT_FROZEN', 'CLIENT_FROZEN'],
    )
    assert.equal(getSupply(hub.tree, 'transfer/alpha/emo'), 0n, 'nothing minted from a frozen client')
  })

  it('two conflicting headers (fork, or time going backwards) freeze it; a lone backwards header too', () => {
    for (const variant of ['fork', 'time', 'single'] as const) {
      const { hub, alpha } = pair()
      alpha.block()
      const base = alpha.header!
      const h1 = { ...base, height: base.height + 1n, timeMs: base.timeMs + 1000n }
      const h2 =
        variant === 'fork'
          ? { ...h1, stateRoot: new Uint8Array(32).fill(4) }
          : { ...h1, height: h1.height + 1n, timeMs: h1.timeMs - 1n }
      const trustedTime = (hub.query('client', { network: 'alpha' }) as { latestTimeMs: string }).latestTimeMs
      const lone = { ...h1, timeMs: BigInt(trustedTime) } // above the trusted height, not after its time
      const tx =
        variant === 'single'
          ? misbehaviourTx(hub, cert(alpha, lone))
          : misbehaviourTx(hub, cert(alpha, h1), cert(alpha, h2))
      const r = hub.block([tx])
      assert.equal(r[0]!.error, '', variant)
      const kind = r[0]!.events
        .find((e) => e.type === 'mesh_client_frozen')!
        .attributes.find((a) => a.key === 'kind')!.value
      assert.equal(kind, variant === 'fork' ? 'fork' : 'time')
    }
  })

  it('refuses evidence that is not misbehaviour, forged or untrusted; the client stays active', () => {
    const { hub, alpha } = pair()
    alpha.block()
    const h = alpha.header!
    const next = { ...h, height: h.height + 1n, timeMs: h.timeMs + 1000n }
    const tampered = {
      header: encodeHeader({ ...h, stateRoot: new Uint8Array(32).fill(1) }),
      commit: alpha.certified().commit,
    }
    const strangers = [keyFromByte(40)]
    const stranger = new SimNetwork('alpha', genesisFor('alpha', 'emo', [alice], strangers), strangers)
    const strangerHash = mesh.validatorsHashOf(validatorSetOf(stranger.validatorEntries))
    const r = hub.block([
      misbehaviourTx(hub, cert(alpha, h), cert(alpha, next)), // consistent headers
      misbehaviourTx(hub, alpha.certified()), // the same block the client already knows
      misbehaviourTx(hub, tampered), // header changed after signing
      misbehaviourTx(hub, cert(stranger, { ...h, stateRoot: new Uint8Array(32).fill(2) })), // not alpha's keys
      // Self-consistent, but a set the client never trusted signed it (no > 1/3 overlap).
      misbehaviourTx(
        hub,
        cert(stranger, { ...h, validatorsHash: strangerHash }),
        undefined,
        'alpha',
        stranger.validatorEntries,
      ),
      misbehaviourTx(hub, cert(alpha, h), undefined, 'beta'), // no such client
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      [
        'MISBEHAVIOUR_INVALID',
        'MISBEHAVIOUR_INVALID',
        'COMMIT_INVALID',
        'COMMIT_INVALID',
        'INSUFFICIENT_TRUST',
        'UNKNOWN_CLIENT',
      ],
    )
    assert.equal(hub.tree.get(MESH_KEYS.frozen('alpha')), undefined)
    assert.equal((hub.query('client', { network: 'alpha' }) as { status: string }).status, 'active')
  })

  it('an expired client refuses updates and proofs (trust period)', () => {
    const { hub, alpha } = pair()
    alpha.block([transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 10n, receiver: idOf(bob) })])
    const [p] = pending(alpha, hub)
    alpha.block()
    assert.equal(hub.block([updateClientTx(hub, alpha, relayer)])[0]!.error, '')
    hub.block([], 3_700_000n) // past the 1 h trust period
    alpha.block()
    const r = hub.block([
      recvTx(hub, alpha, relayer, p!, alpha.height - 1n),
      updateClientTx(hub, alpha, relayer),
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      ['HEADER_EXPIRED', 'CLIENT_EXPIRED'],
    )
  })
})

describe('mesh transfers (ICS-20)', () => {
  it('sends a native asset to the hub and back; proofs verified; totals conserved', () => {
    const { hub, alpha } = pair()
    const r = alpha.block([
      transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 300n, receiver: idOf(bob) }),
    ])
    assert.equal(r[0]!.error, '')
    assert.equal(getBalance(alpha.tree, escrowAccount('hub'), 'emo'), 300n)
    assert.equal(getBalance(alpha.tree, idOf(alice), 'emo'), 1_000_000n - 300n)
    // In flight: the escrow query says 300 on alpha, the vouchers query 0 on the hub (no error
    // although the voucher asset does not exist yet).
    assert.deepEqual(alpha.query('escrow', { network: 'hub', asset: 'emo' }), {
      network: 'hub',
      asset: 'emo',
      amount: '300',
    })
    assert.deepEqual(hub.query('vouchers', { origin: 'alpha', asset: 'emo' }), {
      origin: 'alpha',
      asset: 'emo',
      supply: '0',
    })
    const out = relayAll(alpha, hub, relayer)
    assert.deepEqual(
      out.map((x) => x.error),
      ['', ''],
    )
    assert.equal(getBalance(hub.tree, idOf(bob), 'transfer/alpha/emo'), 300n)
    assert.equal(getSupply(hub.tree, 'transfer/alpha/emo'), 300n)
    assert.equal((hub.query('vouchers', { origin: 'alpha', asset: 'emo' }) as { supply: string }).supply, '300')
    // The voucher carries the origin's denomination metadata (emo has 6 decimals on alpha).
    assert.equal(getAsset(hub.tree, 'transfer/alpha/emo')?.decimals, 6)
    assert.equal(pending(alpha, hub).length, 0, 'acknowledged packets are removed')
    // Back home: the voucher burns on the hub and the escrow releases on alpha.
    const back = hub.block([
      transferTx(hub, bob, { to: 'alpha', asset: 'transfer/alpha/emo', amount: 100n, receiver: idOf(alice) }),
    ])
    assert.equal(back[0]!.error, '')
    assert.equal(getSupply(hub.tree, 'transfer/alpha/emo'), 200n)
    const out2 = relayAll(hub, alpha, relayer)
    assert.deepEqual(
      out2.map((x) => x.error),
      ['', ''],
    )
    assert.equal(getBalance(alpha.tree, idOf(alice), 'emo'), 1_000_000n - 200n)
    assert.equal(getBalance(alpha.tree, escrowAccount('hub'), 'emo'), 200n)
    // Conservation: escrowed on origin == vouchers outstanding elsewhere.
    assert.equal(
      getBalance(alpha.tree, escrowAccount('hub'), 'emo'),
      getSupply(hub.tree, 'transfer/alpha/emo'),
    )
  })

  it('refuses forged proofs, unknown and expired headers, replays; no state change', () => {
    const { hub, alpha } = pair()
    alpha.block([transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 50n, receiver: idOf(bob) })])
    alpha.block()
    const [p] = pending(alpha, hub)
    hub.block([updateClientTx(hub, alpha, relayer)])
    const forged = encodePacket({ ...p!, amount: 5000n })
    const r = hub.block([
      recvTx(hub, alpha, relayer, p!, undefined, forged), // amount changed: not what alpha committed
      recvTx(hub, alpha, relayer, p!, alpha.height + 5n), // no trusted header at that height
      recvTx(hub, alpha, relayer, { ...p!, destNetwork: 'beta' }),
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      ['PROOF_INVALID', 'UNKNOWN_HEADER', 'WRONG_DESTINATION'],
    )
    assert.equal(getSupply(hub.tree, 'transfer/alpha/emo'), 0n)
    assert.equal(hub.tree.get(MESH_KEYS.receipt('alpha', 'hub', 1n)), undefined)
    const ok = hub.block([recvTx(hub, alpha, relayer, p!)])
    assert.equal(ok[0]!.error, '')
    const replay = hub.block([recvTx(hub, alpha, relayer, p!)])
    assert.equal(replay[0]!.error, 'PACKET_ALREADY_RECEIVED')
    assert.equal(getSupply(hub.tree, 'transfer/alpha/emo'), 50n)
    // Acknowledge once; a replayed ack finds no pending packet.
    hub.block()
    const a1 = alpha.block([updateClientTx(alpha, hub, relayer), ackTx(alpha, hub, relayer, p!)])
    assert.deepEqual(
      a1.map((x) => x.error),
      ['', ''],
    )
    const a2 = alpha.block([ackTx(alpha, hub, relayer, p!)])
    assert.equal(a2[0]!.error, 'UNKNOWN_PACKET')
  })

  it('refuses proofs against an expired header', () => {
    const { hub, alpha } = pair()
    alpha.block([transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 50n, receiver: idOf(bob) })])
    const [p] = pending(alpha, hub)
    hub.block([updateClientTx(hub, alpha, relayer)])
    hub.block([], 3_700_000n)
    const r = hub.block([recvTx(hub, alpha, relayer, p!)])
    assert.equal(r[0]!.error, 'HEADER_EXPIRED')
  })

  it('times out: the destination refuses late packets, the source refunds on proof of absence', () => {
    const { hub, alpha } = pair()
    const timeoutHeight = hub.height + 3n
    alpha.block([
      transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 70n, receiver: idOf(bob), timeoutHeight }),
    ])
    const [p] = pending(alpha, hub)
    // Not timed out yet: the refund is refused.
    hub.block()
    const early = alpha.block([updateClientTx(alpha, hub, relayer), timeoutTx(alpha, hub, relayer, p!)])
    assert.deepEqual(
      early.map((x) => x.error),
      ['', 'PACKET_NOT_TIMED_OUT'],
    )
    // The hub passes the timeout height; delivery is now refused.
    hub.block()
    hub.block()
    const late = hub.block([updateClientTx(hub, alpha, relayer), recvTx(hub, alpha, relayer, p!)])
    assert.deepEqual(
      late.map((x) => x.error),
      ['', 'PACKET_TIMED_OUT'],
    )
    const balBefore = getBalance(alpha.tree, idOf(alice), 'emo')
    const refund = alpha.block([updateClientTx(alpha, hub, relayer), timeoutTx(alpha, hub, relayer, p!)])
    assert.deepEqual(
      refund.map((x) => x.error),
      ['', ''],
    )
    assert.equal(getBalance(alpha.tree, idOf(alice), 'emo'), balBefore + 70n)
    assert.equal(getBalance(alpha.tree, escrowAccount('hub'), 'emo'), 0n)
    const again = alpha.block([timeoutTx(alpha, hub, relayer, p!)])
    assert.equal(again[0]!.error, 'UNKNOWN_PACKET')
  })

  it('an error acknowledgement refunds the sender (voucher id too long)', () => {
    const { hub, alpha } = pair()
    // A multi-hop voucher whose next trace would exceed 64 bytes cannot be minted on alpha.
    const long = `transfer/zz/${'a'.repeat(50)}`
    const o = new Overlay(hub.tree)
    putAsset(o, { id: long, decimals: 0, issuer: new Uint8Array(20), maxSupply: 0n })
    mint(o, idOf(bob), long, 10n)
    o.commit()
    hub.block([transferTx(hub, bob, { to: 'alpha', asset: long, amount: 10n, receiver: idOf(alice) })])
    assert.equal(getBalance(hub.tree, idOf(bob), long), 0n)
    const out = relayAll(hub, alpha, relayer)
    assert.deepEqual(
      out.map((x) => x.error),
      ['', ''],
    )
    assert.equal(
      out[0]!.events[0]!.attributes.find((a: { key: string }) => a.key === 'error')!.value,
      'INVALID_PACKET',
    )
    assert.equal(getBalance(hub.tree, idOf(bob), long), 10n, 'refunded from escrow')
  })

  it('refuses transfers without a client, without a timeout, or beyond the balance', () => {
    const { alpha } = pair()
    const r = alpha.block([
      transferTx(alpha, alice, { to: 'beta', asset: 'emo', amount: 1n, receiver: idOf(bob) }),
      transferTx(alpha, alice, {
        to: 'hub',
        asset: 'emo',
        amount: 1n,
        receiver: idOf(bob),
        timeoutHeight: 0n,
      }),
      transferTx(alpha, alice, { to: 'hub', asset: 'emo', amount: 10_000_000n, receiver: idOf(bob) }),
      transferTx(alpha, alice, { to: 'alpha', asset: 'emo', amount: 1n, receiver: idOf(bob) }),
    ])
    assert.deepEqual(
      r.map((x) => x.error),
      ['UNKNOWN_CLIENT', 'INVALID_PACKET', 'INSUFFICIENT_FUNDS', 'WRONG_DESTINATION'],
    )
    assert.equal(pending(alpha, { id: 'hub' } as SimNetwork).length, 0)
  })
})
