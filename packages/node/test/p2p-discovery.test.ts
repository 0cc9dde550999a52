/**
 * Peer exchange (`/pulsemesh/px/1`) over real libp2p hosts on 127.0.0.1 in one process: a node
 * bootstrapped only to A learns of B and connects to it; forged, tampered, out-of-range and
 * oversized answers from a raw malicious host are refused and penalised; the server rate-limits.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { isPulseError } from '@pulsemesh/core'
import { createLibp2p } from 'libp2p'
import type { P2PConfig, P2PNode } from '../src/p2p/p2p-node.ts'
import { startTestNode, until } from './p2p-fixtures.ts'
import { acceptableAddr, PX_PROTOCOL, parseCidr } from '../src/p2p/peer-exchange.ts'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']

const startNode = (bootstrap: string[] = [], extra: Partial<P2PConfig> = {}) =>
  startTestNode(bootstrap, { px: { intervalMs: 500 }, ...extra })

async function sealed(key: PrivateKey, peer: PrivateKey, addrs: string[]): Promise<Uint8Array> {
  const rec = new PeerRecord({
    peerId: peerIdFromPrivateKey(peer),
    multiaddrs: addrs.map((a) => multiaddr(a)),
  })
  return (await RecordEnvelope.seal(rec, key)).marshal()
}

describe('peer exchange', () => {
  let a: P2PNode
  let b: P2PNode
  let c: P2PNode
  const extra: P2PNode[] = []

  before(async () => {
    a = await startNode()
    b = await startNode([a.addrs()[0]])
    await until('B connects to A', () => b.connectedPeers().includes(a.peerId))
  })

  after(async () => {
    await Promise.all([a, b, c, ...extra].map((n) => n?.stop()))
  })

  it('C, bootstrapped only to A, learns of B through A and connects to it', async () => {
    c = await startNode([a.addrs()[0]])
    assert.ok(!c.knownPeers().includes(b.peerId), 'B is not in C configuration')
    await until('C connects to B', () => c.connectedPeers().includes(b.peerId))
    assert.ok(c.knownPeers().includes(b.peerId))
    assert.ok((c.px?.stats.learned ?? 0) >= 1)
    assert.ok((a.px?.stats.served ?? 0) >= 1)
  })

  it('only loopback and configured IPv4 ranges, TCP or WebSockets addresses are accepted', () => {
    const none: ReturnType<typeof parseCidr>[] = []
    const ten = [parseCidr('10.0.0.0/8')]
    assert.ok(acceptableAddr(multiaddr('/ip4/127.0.0.1/tcp/4001'), none))
    assert.ok(acceptableAddr(multiaddr('/ip4/127.0.0.1/tcp/4001/ws'), none))
    assert.ok(acceptableAddr(multiaddr('/ip6/::1/tcp/4001'), none))
    assert.ok(!acceptableAddr(multiaddr('/ip4/10.1.2.3/tcp/4001'), none))
    assert.ok(acceptableAddr(multiaddr('/ip4/10.1.2.3/tcp/4001'), ten))
    assert.ok(!acceptableAddr(multiaddr('/ip4/11.1.2.3/tcp/4001'), ten))
    assert.ok(!acceptableAddr(multiaddr('/ip4/8.8.8.8/tcp/4001'), none))
    assert.ok(!acceptableAddr(multiaddr('/dns4/localhost/tcp/4001'), none))
    assert.ok(!acceptableAddr(multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1'), none))
    assert.throws(
      () => parseCidr('300.0.0.0/8'),
      (e) => isPulseError(e) && e.code === 'CONFIG_INVALID',
    )
    assert.throws(
      () => parseCidr('10.0.0.0/33'),
      (e) => isPulseError(e) && e.code === 'CONFIG_INVALID',
    )
  })

  it('forged, tampered, out-of-range and oversized answers are refused and penalised', async () => {
    const mKey = await generateKeyPair('Ed25519')
    const victim = await generateKeyPair('Ed25519')
    const honestFar = await generateKeyPair('Ed25519')
    const forged = await sealed(mKey, victim, ['/ip4/127.0.0.1/tcp/1']) // signed by M, names the victim
    const tampered = await sealed(victim, victim, ['/ip4/127.0.0.1/tcp/2'])
    tampered[tampered.length - 1] ^= 1
    const far = await sealed(honestFar, honestFar, ['/ip4/8.8.8.8/tcp/3'])
    // A harmless empty answer until the ask that meeting M triggers by itself (identify) is done.
    let answer: Uint8Array[] = [new Uint8Array([0])]
    let served = 0
    const m: Libp2p = await createLibp2p({
      privateKey: mKey,
      addresses: { listen: LISTEN },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
    try {
      await m.handle(PX_PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.writeV(answer)
        await stream.close()
        served++
      })
      const mId = m.peerId.toString()
      // A node that tolerates many penalty points, so M stays connected through every case.
      const d = await startNode([], { penaltyMax: 1000, px: { intervalMs: 3_600_000 } })
      extra.push(d)
      await d.libp2p.dial(m.getMultiaddrs()[0])
      await until('the identify-triggered ask', () => served >= 1, 100)
      const before = d.px!.stats.recordsRejected
      answer = [new Uint8Array([3]), forged, tampered, far]
      const learned = await d.px!.ask(mId)
      assert.deepEqual(learned, [])
      assert.equal(d.px!.stats.recordsRejected - before, 2, 'forged + tampered rejected')
      assert.ok(d.px!.stats.addrsFiltered >= 1, 'the 8.8.8.8 address is dropped')
      assert.ok(!d.knownPeers().includes(peerIdFromPrivateKey(victim).toString()))
      assert.ok(!d.knownPeers().includes(peerIdFromPrivateKey(honestFar).toString()))
      assert.ok(d.penaltyOf(mId) >= 19, 'two reject penalties')
      // More records than allowed: the whole answer is refused with a typed error, nothing learned.
      answer = [new Uint8Array([200])]
      await assert.rejects(d.px!.ask(mId), (e) => isPulseError(e) && e.code === 'PX_INVALID')
      assert.ok(d.penaltyOf(mId) >= 29, 'three reject penalties')
    } finally {
      await m.stop()
    }
  })

  it('the server answers a few requests per peer, then refuses and penalises', async () => {
    const refusedBefore = a.px!.stats.refused
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(() => b.px!.ask(a.peerId)))
    assert.ok(
      results.some((r) => r.status === 'rejected'),
      'some requests refused',
    )
    assert.ok(a.px!.stats.refused > refusedBefore)
    assert.ok(a.penaltyOf(b.peerId) > 0)
  })
})
