/**
 * State-snapshot verification and installation, in process: a real 4-validator chain (in-process
 * BFT) provides certified blocks; a fresh node checks offers built from it. Tampered offers (wrong
 * sets, wrong certificates, a block S+1 that does not follow, an untrusted block, another network),
 * malformed chunks and state that does not give the certified root are refused with typed errors
 * and leave the joining node's store untouched; an honest snapshot installs and the node reopens on it.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { App, bankModule, genesisToJson } from '@pulsemesh/app'
import { blockHash, decodeBlock, encodeBlock, isPulseError, toHex } from '@pulsemesh/core'
import { validatorSetFromParts } from '@pulsemesh/consensus'
import { decodeValidatorSet, encodeValidatorSet, NetworkNode } from '../src/chain/network-node.ts'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import type { StateView } from '../src/storage/chain-store.ts'
import {
  decodeChunk,
  decodeOffer,
  encodeChunk,
  encodeOffer,
  type SnapshotOffer,
  SnapshotService,
  snapshotProtocol,
  verifyOffer,
} from '../src/p2p/snapshot.ts'
import { compressFrame } from '../src/p2p/compression.ts'
import { P2PNode } from '../src/p2p/p2p-node.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { FAST_TIMEOUTS, fourValidatorGenesis, startLocal, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'

const genesis = fourValidatorGenesis([keyFromByte(1)])
const S = 5n

async function freshNode(dir: string, g = genesis) {
  const store = await ChainStore.open(dir)
  const node = await NetworkNode.open({
    app: new App(g.params, [bankModule]),
    genesis: g,
    genesisJson: JSON.stringify(genesisToJson(g)),
    store: store.network(g.networkId),
    verifyPool: inlineVerifier,
  })
  return { store, node }
}

describe('state snapshot verification', () => {
  const tmp = tempDir('pm-snapshot-')
  let local: LocalValidatorNetwork
  let source: NetworkNode
  let offer: SnapshotOffer
  let state: [Uint8Array, Uint8Array][]
  let joiner: Awaited<ReturnType<typeof freshNode>>

  before(async () => {
    local = await startLocal(genesis, join(tmp.dir, 'local'))
    source = local.validators[0]!.node
    // The server's way to see the state of exactly height S: a store view opened in its block event.
    let view: StateView | undefined
    source.on('block', (b: { height: bigint }) => {
      if (b.height === S) view = source.store.openView()
    })
    assert.ok(source.height < S, 'listening before S commits')
    await waitFor(() => source.height >= S + 2n, 'a few certified blocks', 6000)
    const st = source.store
    const sets = (await Promise.all([S, S + 1n, S + 2n].map((h) => source.validatorSetAt(h)))).map(
      encodeValidatorSet,
    ) as SnapshotOffer['sets']
    offer = {
      height: S,
      blockBytes: (await st.getBlock(S))!,
      commitBytes: (await st.getCommit(S))!,
      nextBlockBytes: (await st.getBlock(S + 1n))!,
      nextCommitBytes: (await st.getCommit(S + 1n))!,
      sets,
    }
    assert.equal(await view!.latestHeight(), S)
    state = []
    for (let after: Uint8Array | undefined; ; ) {
      const { entries, done } = await view!.entries(after, 2, 1 << 20)
      state.push(...entries)
      after = entries.at(-1)?.[0]
      if (done) break
    }
    await view!.close()
    await local.stop()
    joiner = await freshNode(join(tmp.dir, 'joiner'))
  })

  after(async () => {
    await joiner?.store.close()
    tmp.cleanup()
  })

  it('an honest offer verifies (trusted by > 1/3 of the genesis set, or by a pinned hash)', () => {
    const v = verifyOffer(joiner.node, decodeOffer(encodeOffer(offer)))
    assert.equal(v.block.header.height, S)
    const hash = toHex(blockHash(decodeBlock(offer.blockBytes).header))
    verifyOffer(joiner.node, offer, { height: Number(S), hash })
    assert.throws(
      () => verifyOffer(joiner.node, offer, { height: Number(S), hash: '00'.repeat(32) }),
      (e) => isPulseError(e) && e.code === 'SNAPSHOT_INVALID',
    )
  })

  it('tampered offers are refused with typed errors', () => {
    const cases: [string, SnapshotOffer][] = [
      [
        'set of S without one validator',
        { ...offer, sets: [dropOne(offer.sets[0]), offer.sets[1], offer.sets[2]] },
      ],
      [
        'set of S+2 without one validator',
        { ...offer, sets: [offer.sets[0], offer.sets[1], dropOne(offer.sets[2])] },
      ],
      ['commit of S replaced by the commit of S+1', { ...offer, commitBytes: offer.nextCommitBytes }],
      ['block S+1 replaced by block S', { ...offer, nextBlockBytes: offer.blockBytes }],
      ['a block S+1 that does not follow S', { ...offer, nextBlockBytes: otherParent(offer.nextBlockBytes) }],
      ['wrong height', { ...offer, height: S + 1n }],
    ]
    for (const [what, o] of cases)
      assert.throws(
        () => verifyOffer(joiner.node, o),
        (e) => isPulseError(e),
        what,
      )
    assert.equal(joiner.node.height, 0n)
  })

  it('a certified chain of another validator set (not trusted from genesis) is refused', async () => {
    // Same network id and params, different validators: every certificate of that chain verifies
    // against its own sets, but no genesis validator signed it (a fake or long-range chain).
    const others = [0, 1, 2, 3].map((i) => keyFromByte(230 + i))
    const g2 = fourValidatorGenesis([keyFromByte(1)])
    g2.validators = others.map((k, i) => ({ name: `o${i}`, publicKey: k.publicKey.bytes, power: 10n }))
    const fake = await LocalValidatorNetwork.start({
      genesis: g2,
      genesisJson: JSON.stringify(genesisToJson(g2)),
      keys: others.map((k) => ({ seed: k.secretKey, publicKey: k.publicKey.bytes })),
      dataDir: join(tmp.dir, 'fake'),
      verifyPool: inlineVerifier,
      timeouts: FAST_TIMEOUTS,
      commitDelayMs: 10,
    })
    try {
      const n = fake.validators[0]!.node
      await waitFor(() => n.height >= 4n, 'fake chain blocks', 6000)
      const st = n.store
      const o: SnapshotOffer = {
        height: 2n,
        blockBytes: (await st.getBlock(2n))!,
        commitBytes: (await st.getCommit(2n))!,
        nextBlockBytes: (await st.getBlock(3n))!,
        nextCommitBytes: (await st.getCommit(3n))!,
        sets: (await Promise.all([2n, 3n, 4n].map((h) => n.validatorSetAt(h)))).map(
          encodeValidatorSet,
        ) as SnapshotOffer['sets'],
      }
      assert.throws(
        () => verifyOffer(joiner.node, o),
        (e) => isPulseError(e) && e.code === 'COMMIT_INSUFFICIENT_POWER',
      )
    } finally {
      await fake.stop()
    }
  })

  it('malformed offers and chunks throw DecodeError', () => {
    const enc = encodeOffer(offer)
    assert.throws(
      () => decodeOffer(enc.subarray(0, enc.length - 1)),
      (e) => isPulseError(e),
    )
    assert.throws(
      () => decodeOffer(new Uint8Array([0, 0, 0, 9, 1])),
      (e) => isPulseError(e),
    )
    const chunk = encodeChunk(state.slice(0, 2), false)
    assert.deepEqual(decodeChunk(chunk).entries.length, 2)
    assert.throws(
      () => decodeChunk(chunk.subarray(0, chunk.length - 1)),
      (e) => isPulseError(e),
    )
    const lying = chunk.slice()
    new DataView(lying.buffer).setUint32(1, 1_000_000) // declares more entries than allowed
    assert.throws(
      () => decodeChunk(lying),
      (e) => isPulseError(e),
    )
    assert.throws(
      () => decodeChunk(new Uint8Array([7, 0, 0, 0, 0])),
      (e) => isPulseError(e),
    )
  })

  it('state that does not give the certified root is refused and nothing is written', async () => {
    const v = verifyOffer(joiner.node, offer)
    const sets: [bigint, (typeof v.sets)[number]][] = [
      [S, v.sets[0]],
      [S + 1n, v.sets[1]],
      [S + 2n, v.sets[2]],
    ]
    const bad = state.map(
      ([k, val], i) => [k, i === 0 ? new Uint8Array([...val, 1]) : val] as [Uint8Array, Uint8Array],
    )
    await assert.rejects(
      joiner.node.installSnapshot({
        blockBytes: offer.blockBytes,
        commitBytes: offer.commitBytes,
        validatorSets: sets,
        state: bad,
      }),
      (e) => isPulseError(e) && e.code === 'STATE_MISMATCH',
    )
    assert.equal(joiner.node.height, 0n)
    assert.equal(await joiner.node.store.latestHeight(), 0n)
  })

  it('an honest snapshot installs; the node continues from S and reopens on it', async () => {
    const v = verifyOffer(joiner.node, offer)
    await joiner.node.installSnapshot({
      blockBytes: offer.blockBytes,
      commitBytes: offer.commitBytes,
      validatorSets: [
        [S, v.sets[0]],
        [S + 1n, v.sets[1]],
        [S + 2n, v.sets[2]],
      ],
      state,
    })
    assert.equal(joiner.node.height, S)
    assert.equal(toHex(joiner.node.stateRoot()), toHex(v.block.header.stateRoot))
    assert.equal(toHex(joiner.node.headHash), toHex(blockHash(v.block.header)))
    // A second install is refused (only an empty chain takes a snapshot).
    await assert.rejects(
      joiner.node.installSnapshot({
        blockBytes: offer.blockBytes,
        commitBytes: offer.commitBytes,
        validatorSets: [],
        state,
      }),
      (e) => isPulseError(e) && e.code === 'STATE_MISMATCH',
    )
    assert.equal((await joiner.node.validatorSetAt(S + 2n)).validators.length, 4)
    // Reopening checks the stored flat state against block S's stateRoot (STATE_MISMATCH otherwise).
    await joiner.store.close()
    joiner = await freshNode(join(tmp.dir, 'joiner'))
    assert.equal(joiner.node.height, S)
    assert.equal(toHex(joiner.node.stateRoot()), toHex(v.block.header.stateRoot))
  })

  it('over libp2p: a server sending unordered keys or a state with another root is refused and penalised; an honest one installs', async () => {
    let mode: 'unordered' | 'wrong-root' | 'honest' = 'unordered'
    const server: Libp2p = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
    await server.handle(snapshotProtocol(genesis.networkId), async (stream) => {
      const lp = lpStream(stream)
      const req = (await lp.read()).subarray()
      if (req[0] === 1) await lp.write(compressFrame(encodeOffer(offer)))
      else {
        const entries =
          mode === 'unordered' ? [...state].reverse() : mode === 'wrong-root' ? state.slice(1) : state
        await lp.write(compressFrame(encodeChunk(entries, true)))
      }
      await stream.close()
    })
    const p2p = await P2PNode.start({
      privateKey: await generateKeyPair('Ed25519'),
      config: { listen: ['/ip4/127.0.0.1/tcp/0'], px: { enabled: false }, penaltyMax: 1000 },
      topics: [],
    })
    const fresh = await freshNode(join(tmp.dir, 'joiner-p2p'))
    try {
      await p2p.libp2p.dial(server.getMultiaddrs()[0])
      const sid = server.peerId.toString()
      for (const m of ['unordered', 'wrong-root'] as const) {
        mode = m
        const svc = new SnapshotService({ p2p, node: fresh.node, config: { join: true, findMs: 2000 } })
        const before = p2p.penaltyOf(sid)
        assert.equal(await svc.join(), undefined, m)
        assert.equal(svc.stats.rejectedOffers, 1, m)
        assert.ok(p2p.penaltyOf(sid) > before, `${m}: the server is penalised`)
        assert.equal(fresh.node.height, 0n, `${m}: nothing installed`)
        assert.equal(await fresh.node.store.latestHeight(), 0n)
      }
      mode = 'honest'
      const svc = new SnapshotService({ p2p, node: fresh.node, config: { join: true, findMs: 2000 } })
      assert.equal(await svc.join(), S)
      assert.equal(fresh.node.height, S)
      assert.equal(svc.stats.entriesFetched, state.length)
    } finally {
      await p2p.stop()
      await server.stop()
      await fresh.store.close()
    }
  })
})

function dropOne(set: Uint8Array): Uint8Array {
  return encodeValidatorSet(validatorSetFromParts(decodeValidatorSet(set).validators.slice(0, 3)))
}

function otherParent(bytes: Uint8Array): Uint8Array {
  const b = decodeBlock(bytes)
  return encodeBlock({ ...b, header: { ...b.header, prevHash: new Uint8Array(32).fill(7) } })
}
