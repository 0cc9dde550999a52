/**
 * Finality on a running 4-validator network: mempool forwarding between validators, finality
 * checkpoints (served, and enforced on catch-up), and fork handling (two certified blocks at one
 * height: evidence persisted, network halted, alert raised).
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { App, bankModule, genesisToJson } from '@pulsemesh/app'
import { transferPayload } from '@pulsemesh/sdk'
import { verifyCommit } from '@pulsemesh/consensus'
import {
  blockHash,
  type Commit,
  encodeBlock,
  encodeCommit,
  parseAddress,
  sign,
  toHex,
  verify,
  VoteType,
  voteSignBytes,
} from '@pulsemesh/core'
import { signed } from '../../app/test/helpers.ts'
import {
  type Checkpoint,
  type NetworkError,
  NetworkNode,
  validatorSetHash,
} from '../src/chain/network-node.ts'
import { buildApi } from '../src/api/server.ts'
import { ConsensusDriver } from '../src/consensus/driver.ts'
import { readForkEvidence } from '../src/consensus/fork-evidence.ts'
import { encodeMessage } from '../src/consensus/messages.ts'
import { SignStateFile } from '../src/consensus/sign-state-file.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { FAST_TIMEOUTS, fourValidatorGenesis, keysOf, validatorKeys, waitFor } from './consensus-fixtures.ts'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'
import { readFileSync } from 'node:fs'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = fourValidatorGenesis([alice])
const genesisJson = JSON.stringify(genesisToJson(genesis))
const t = tempDir('pm-cfinal-')
after(t.cleanup)
const verifier = {
  voteSignBytes: (v: Parameters<typeof voteSignBytes>[1]) => voteSignBytes('hub', v),
  verify: (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) =>
    verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
}

/** An observer (not a validator) that follows the network through catch-up only. */
async function observer(net: LocalValidatorNetwork, name: string, trusted: Checkpoint[]) {
  const dir = join(t.dir, name)
  const store = await ChainStore.open(join(dir, 'data'))
  const node = await NetworkNode.open({
    app: new App(genesis.params, [bankModule]),
    genesis,
    genesisJson,
    store: store.network('hub'),
    verifyPool: inlineVerifier,
    checkpointInterval: 5n,
    trustedCheckpoints: trusted,
  })
  const k = keyFromByte(240)
  const driver = new ConsensusDriver({
    node,
    key: { seed: k.secretKey, publicKey: k.publicKey.bytes },
    transport: net.hub.connect(name),
    signState: new SignStateFile(join(dir, 'signstate.json')),
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
  })
  await driver.start()
  return {
    node,
    driver,
    async stop() {
      await driver.stop()
      await node.idle()
      await store.close()
    },
  }
}

describe('finality: tx forwarding, checkpoints, forks', async () => {
  const net = await LocalValidatorNetwork.start({
    genesis,
    genesisJson,
    keys: keysOf(4),
    dataDir: join(t.dir, 'net'),
    verifyPool: inlineVerifier,
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
    checkpointInterval: 5n,
  })
  after(() => net.stop())
  const v = (i: number) => net.validators[i]!

  test('a tx submitted to one validator reaches the other validators and is committed once', async () => {
    await waitFor(() => v(0).node.height >= 1n, 'first block')
    const tx = signed(alice, {
      kind: 0x0101,
      payload: transferPayload(parseAddress(bob.address).bytes, 'pulse', 7n),
      nonce: 0n,
      expiresAt: v(0).node.height + 50n,
    })
    await v(0).node.submitTx(tx.bytes)
    await waitFor(
      () => net.validators.every((x) => x!.node.accountNonce(parseAddress(alice.address).bytes) === 1n),
      'tx committed everywhere',
    )
    const received = [1, 2, 3].reduce((s, i) => s + v(i).driver.stats.txReceived, 0)
    assert.ok(v(0).driver.stats.txForwarded >= 1)
    assert.ok(received >= 1, 'some peer admitted the forwarded tx through submitTx')
  })

  test('forwarded txs are validated on arrival: a bad signature never reaches a mempool', async () => {
    const tx = signed(alice, {
      kind: 0x0101,
      payload: transferPayload(parseAddress(bob.address).bytes, 'pulse', 1n),
      nonce: 1n,
      expiresAt: v(0).node.height + 50n,
    })
    const bad = tx.bytes.slice()
    bad[bad.length - 1] ^= 1
    const ep = net.hub.connect('spammer')
    const before = [1, 2, 3].map((i) => v(i).driver.stats.txReceived)
    for (let i = 0; i < 5; i++) ep.broadcast(encodeMessage({ type: 'tx', txBytes: bad }))
    ep.broadcast(new Uint8Array([5])) // empty tx message
    await new Promise((r) => setTimeout(r, 50))
    for (const i of [1, 2, 3]) {
      assert.equal(v(i).node.mempool.size, 0)
      assert.equal(v(i).driver.stats.txReceived, before[i - 1])
    }
    ep.close()
  })

  test('every 5 blocks a checkpoint certified by > 2/3 of the set that signed it, the same on every node', async () => {
    await waitFor(() => net.validators.every((x) => x!.node.height >= 6n), 'height 6')
    const cps = await Promise.all([0, 1, 2, 3].map((i) => v(i).node.latestCheckpoint()))
    for (const cp of cps) {
      assert.ok(cp && cp.height >= 5n && cp.height % 5n === 0n)
      assert.equal(toHex(cp.blockHash), toHex(cps[0]!.blockHash))
    }
    const cp = (await v(0).node.checkpointAt(5n))!
    const set = await v(1).node.validatorSetAt(5n)
    assert.equal(toHex(cp.validatorsHash), toHex(validatorSetHash(set)))
    verifyCommit(cp.commit, set, verifier, { height: 5n, blockHash: cp.blockHash })
    assert.equal(await v(0).node.checkpointAt(4n), undefined, 'not a checkpoint height')
    // Served over HTTP with the validator set that signed it.
    const api = buildApi({ networks: new Map([['hub', v(2).node]]), streams: false, graphql: false })
    try {
      const r = await api.inject({ method: 'GET', url: '/v1/networks/hub/checkpoints/5' })
      assert.equal(r.statusCode, 200)
      const j = r.json()
      assert.equal(j.blockHash, toHex(cp.blockHash))
      assert.equal(j.validators.length, 4)
      assert.equal(j.commit.signatures.length >= 3, true)
      assert.equal(
        (await api.inject({ method: 'GET', url: '/v1/networks/hub/checkpoints/4' })).statusCode,
        404,
      )
      assert.equal(
        (await api.inject({ method: 'GET', url: '/v1/networks/hub/checkpoints/x' })).statusCode,
        400,
      )
      assert.equal(
        (await api.inject({ method: 'GET', url: '/v1/networks/nope/checkpoints/latest' })).statusCode,
        404,
      )
      const latest = (await api.inject({ method: 'GET', url: '/v1/networks/hub/checkpoints/latest' })).json()
      assert.equal(BigInt(latest.height) % 5n, 0n)
    } finally {
      await api.close()
    }
    // A checkpoint that disagrees with the stored chain is refused with a typed error.
    await assert.rejects(
      v(0).node.trustCheckpoint({ ...cp, blockHash: new Uint8Array(32).fill(9) }),
      (e: NetworkError) => e.code === 'CHECKPOINT_CONFLICT',
    )
  })

  test('catch-up only follows the chain of the trusted checkpoint', async () => {
    const good = (await v(0).node.checkpointAt(5n))!
    const ok = await observer(net, 'obs-good', [good])
    const bad = await observer(net, 'obs-bad', [{ ...good, blockHash: new Uint8Array(32).fill(7) }])
    try {
      await waitFor(() => ok.node.height >= 6n, 'observer with the right checkpoint passes it')
      await waitFor(() => bad.node.height >= 4n, 'observer with a wrong checkpoint reaches height 4')
      const seen = v(0).node.height
      await waitFor(() => v(0).node.height >= seen + 3n, 'three more blocks')
      assert.equal(bad.node.height, 4n, 'block 5 conflicts with its checkpoint and is never committed')
      assert.ok(bad.driver.stats.invalidBlocks > 0)
    } finally {
      await ok.stop()
      await bad.stop()
    }
  })

  test('two certified blocks at one height: fork evidence persisted, network halted, alert raised', async () => {
    const forks: unknown[] = []
    for (const x of net.validators) x!.node.on('fork', (f) => forks.push(f))
    const ours = (await v(0).node.getBlock(2n))!
    const header = { ...ours.block.header, timeMs: ours.block.header.timeMs + 1n }
    const other = { ...ours.block, header }
    const hash = blockHash(header)
    const set = await v(0).node.validatorSetAt(2n)
    const vote = {
      type: VoteType.Precommit,
      height: 2n,
      round: 0,
      blockHash: hash,
      timestampMs: header.timeMs,
      extension: new Uint8Array(),
    }
    const commit: Commit = { height: 2n, round: 0, blockHash: hash, signatures: [] }
    for (const k of validatorKeys.slice(0, 3)) {
      commit.signatures.push({
        validatorIndex: set.validators.findIndex((x) => toHex(x.publicKey) === toHex(k.publicKey.bytes)),
        timestampMs: header.timeMs,
        extension: vote.extension,
        signature: sign('ed25519', k.secretKey, voteSignBytes('hub', vote)),
      })
    }
    commit.signatures.sort((a, b) => a.validatorIndex - b.validatorIndex)
    verifyCommit(commit, set, verifier, { height: 2n, blockHash: hash }) // a real > 2/3 certificate
    // An uncertified alternative first: ignored.
    const ep = net.hub.connect('forker')
    const weak = { ...commit, signatures: commit.signatures.slice(0, 2) }
    ep.broadcast(
      encodeMessage({
        type: 'blockResponse',
        blockBytes: encodeBlock(other),
        commitBytes: encodeCommit(weak),
      }),
    )
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(v(0).node.halted, undefined)
    ep.broadcast(
      encodeMessage({
        type: 'blockResponse',
        blockBytes: encodeBlock(other),
        commitBytes: encodeCommit(commit),
      }),
    )
    await waitFor(() => net.validators.every((x) => x!.node.halted?.halted === true), 'all halted')
    assert.equal(forks.length, 4)
    assert.match(v(0).node.halted!.reason, /fork at height 2/)
    const file = v(1).driver.forkEvidenceFile
    assert.ok(existsSync(file))
    const api = buildApi({ networks: new Map([['hub', v(0).node]]), streams: false, graphql: false })
    try {
      const halt = (await api.inject({ method: 'GET', url: '/v1/networks/hub/consensus/halt' })).json()
      assert.equal(halt.halted, true)
      assert.match(halt.reason, /fork at height 2/)
      const status = (await api.inject({ method: 'GET', url: '/v1/networks/hub/status' })).json()
      assert.equal(status.halted, true)
      assert.match(status.haltReason, /fork at height 2/)
      const metrics = (await api.inject({ method: 'GET', url: '/metrics' })).body
      assert.match(metrics, /pulsemesh_network_halted\{network="hub"\} 1/)
    } finally {
      await api.close()
    }
    const ev = readForkEvidence(readFileSync(file))
    assert.equal(ev.height, 2n)
    assert.deepEqual([...ev.b.commitBytes], [...encodeCommit(commit)])
    // Production stopped: no block commits any more, and the node refuses commits.
    const heights = net.heights()
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(net.heights(), heights)
    await assert.rejects(v(0).node.produceBlock(), (e: NetworkError) => e.code === 'HALTED')
    // After a restart the persisted evidence keeps the validator halted.
    const r = await net.restartValidator(1)
    assert.equal(r.node.halted?.halted, true)
    ep.close()
  })
})

describe('fork seen through votes', async () => {
  const net = await LocalValidatorNetwork.start({
    genesis,
    genesisJson,
    keys: keysOf(4),
    dataDir: join(t.dir, 'net2'),
    verifyPool: inlineVerifier,
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
  })
  after(() => net.stop())

  test('> 2/3 precommits for another block at a committed height halt the node (certificate kept as evidence)', async () => {
    const v0 = net.validators[0]!
    await waitFor(() => v0.node.height >= 3n, 'three blocks')
    // Two validators down: the other two cannot commit, so the head stays put while we look.
    await net.stopValidator(2)
    await net.stopValidator(3)
    await new Promise((r) => setTimeout(r, 100))
    const h = v0.node.height
    const set = await v0.node.validatorSetAt(h)
    const ep = net.hub.connect('forger')
    const rival = new Uint8Array(32).fill(0x5a)
    for (const k of validatorKeys.slice(0, 3)) {
      const vote = {
        type: VoteType.Precommit,
        height: h,
        round: 0,
        blockHash: rival,
        timestampMs: 1n,
        extension: new Uint8Array(),
      }
      const validatorIndex = set.validators.findIndex((x) => toHex(x.publicKey) === toHex(k.publicKey.bytes))
      const signature = sign('ed25519', k.secretKey, voteSignBytes('hub', vote))
      ep.broadcast(encodeMessage({ type: 'vote', vote: { ...vote, validatorIndex, signature } }))
    }
    await waitFor(() => v0.node.halted !== undefined, 'halted')
    assert.match(v0.node.halted!.reason, new RegExp(`fork at height ${h}`))
    const ev = readForkEvidence(readFileSync(v0.driver.forkEvidenceFile))
    assert.equal(ev.height, h)
    assert.equal(ev.b.blockBytes.length, 0, 'the rival block itself was never seen')
    ep.close()
  })
})
