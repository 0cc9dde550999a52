/**
 * Gossip admission with real libp2p hosts on 127.0.0.1, in one process: a node running the real
 * topic validators (over a real NetworkNode) and a raw attacker host that publishes malformed,
 * oversized and badly signed messages. The attacker is rejected before propagation, penalised,
 * disconnected and blocked by the gater; an honest vote is accepted.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { App, bankModule, genesisToJson } from '@pulsemesh/app'
import { sha256, sign, type Vote, voteSignBytes } from '@pulsemesh/core'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createLibp2p } from 'libp2p'
import { NetworkNode } from '../src/chain/network-node.ts'
import { encodeMessage } from '../src/consensus/messages.ts'
import { compressFrame } from '../src/p2p/compression.ts'
import { networkTopics } from '../src/p2p/gossip-transport.ts'
import { Networking } from '../src/p2p/networking.ts'
import { P2PNode } from '../src/p2p/p2p-node.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { fourValidatorGenesis, validatorKeys, waitFor } from './consensus-fixtures.ts'
import { inlineVerifier, keyFromByte, tempDir } from './fixtures.ts'

const genesis = fourValidatorGenesis([keyFromByte(1)])
const topics = networkTopics(genesis.networkId)

function vote(height: bigint, signer = 0, corrupt = false): Uint8Array {
  const v: Vote = {
    type: 1,
    height,
    round: 0,
    blockHash: new Uint8Array(32),
    timestampMs: 1n,
    validatorIndex: signer,
    extension: new Uint8Array(0),
    signature: new Uint8Array(64),
  }
  v.signature = sign('ed25519', validatorKeys[signer].secretKey, voteSignBytes(genesis.networkId, v))
  if (corrupt) v.signature[0] ^= 1
  return encodeMessage({ type: 'vote', vote: v })
}

const payload = (frame: Uint8Array) => {
  const p = new Uint8Array(8 + frame.length)
  p.set(randomBytes(8))
  p.set(frame, 8)
  return p
}

describe('gossip admission against a misbehaving peer', () => {
  const tmp = tempDir('pm-p2p-')
  let store: ChainStore
  let net: Networking
  let attacker: Libp2p<{ pubsub: GossipSub }>

  before(async () => {
    store = await ChainStore.open(join(tmp.dir, 'data'))
    const node = await NetworkNode.open({
      app: new App(genesis.params, [bankModule]),
      genesis,
      genesisJson: JSON.stringify(genesisToJson(genesis)),
      store: store.network(genesis.networkId),
      verifyPool: inlineVerifier,
    })
    net = await Networking.start({
      home: tmp.dir,
      config: { listen: ['/ip4/127.0.0.1/tcp/0'], penaltyMax: 25, blockMs: 60_000 },
      networks: new Map([[genesis.networkId, node]]),
      validatorKeys: new Map(),
      ipc: false,
    })
    attacker = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          allowPublishToZeroTopicPeers: true,
          msgIdFn: (m) => sha256(m.data),
        }),
      },
    })
    for (const t of Object.values(topics)) attacker.services.pubsub.subscribe(t)
    await attacker.dial(multiaddr(net.p2p.addrs()[0]))
    await waitFor(
      () =>
        attacker.services.pubsub.getSubscribers(topics.votes).some((p) => p.toString() === net.p2p.peerId),
      'subscription exchange',
    )
  })

  after(async () => {
    await attacker?.stop()
    await net?.stop()
    await store?.close()
    tmp.cleanup()
  })

  it('accepts a correctly signed vote and rejects garbage, bad signatures and oversized messages', async () => {
    const s = net.p2p.stats
    const me = attacker.peerId.toString()
    await attacker.services.pubsub.publish(topics.votes, payload(compressFrame(vote(1n))))
    await waitFor(() => s.accepted === 1, 'honest vote accepted')
    assert.equal(net.p2p.penaltyOf(me), 0)

    await attacker.services.pubsub.publish(topics.votes, payload(compressFrame(vote(1n, 1, true))))
    await waitFor(() => s.rejected === 1, 'bad signature rejected')
    await attacker.services.pubsub.publish(topics.votes, payload(compressFrame(randomBytes(100))))
    await waitFor(() => s.rejected === 2, 'garbage rejected')
    assert.ok(net.p2p.penaltyOf(me) > 15)
    assert.equal(net.p2p.gater.denies(me), false, 'not blocked yet')

    await attacker.services.pubsub.publish(
      topics.votes,
      payload(compressFrame(randomBytes(64 * 1024), 1 << 30)),
    )
    await waitFor(() => s.oversized === 1, 'oversized rejected')
    await waitFor(() => net.p2p.gater.denies(me), 'attacker blocked')
    await waitFor(() => attacker.getConnections().length === 0, 'attacker disconnected')
    assert.equal(s.accepted, 1, 'nothing invalid was accepted')
    assert.equal(s.blockedPeers, 1)
    // The gater refuses the attacker's new connections while it is blocked (the dialer may see the
    // handshake finish before the listener drops it, so check the outcome, not the dial promise).
    await attacker.dial(multiaddr(net.p2p.addrs()[0]), { signal: AbortSignal.timeout(5000) }).catch(() => {})
    await waitFor(() => attacker.getConnections().length === 0, 'redial dropped')
    assert.equal(net.p2p.libp2p.getConnections(attacker.peerId).length, 0)
    assert.equal(net.p2p.connectedPeers().includes(me), false)
  })

  it('rejects a tx with a bad signature through submitTx (never reaches the mempool)', async () => {
    // A fresh host of the attacker's owner would be blocked too; check the tx validator directly.
    const node = net.nets.get(genesis.networkId)!.node
    const before = node.mempool.size
    const junk = randomBytes(200)
    await assert.rejects(node.submitTx(junk))
    assert.equal(node.mempool.size, before)
  })
})

describe('transports and discovery', () => {
  it('a node bootstrapped to a WebSocket address connects and receives gossip, and redials after a hang-up', async () => {
    const topic = '/pulsemesh/test/ws/1'
    const got: Uint8Array[] = []
    const spec = {
      maxBytes: 1024,
      rate: { capacity: 100, refillPerSecond: 100 },
      validate: () => 'accept' as const,
      deliver: (d: Uint8Array) => got.push(d),
    }
    const a = await P2PNode.start({
      privateKey: await generateKeyPair('Ed25519'),
      config: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      topics: [topic],
    })
    const wsAddr = a.addrs().find((x) => x.includes('/ws/'))!
    const b = await P2PNode.start({
      privateKey: await generateKeyPair('Ed25519'),
      config: {
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [wsAddr],
        redialInitialMs: 50,
        redialMaxMs: 200,
      },
      topics: [topic],
    })
    try {
      a.registerTopic(topic, spec)
      b.registerTopic(topic, spec)
      await waitFor(() => b.connectedPeers().includes(a.peerId), 'bootstrap dial over WebSockets')
      for (let k = 0; k < 300 && got.length === 0; k++) {
        a.publish(topic, new Uint8Array([k & 255, 1, 2, 3]))
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.ok(got.length > 0, 'gossip delivered over WebSockets')
      // A dropped connection to a known peer is redialled (backoff + breaker) without help.
      await b.libp2p.hangUp(a.libp2p.peerId)
      await waitFor(() => b.connectedPeers().includes(a.peerId), 'redial after hang-up')
      assert.ok(b.stats.redials >= 2)
    } finally {
      await b.stop()
      await a.stop()
    }
  })
})
