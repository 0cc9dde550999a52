/**
 * The idle fallback of block sync (`/pulsemesh/heads/1`, block-sync.ts HeadsPoll): one stream per
 * poll answers the heads of every network a peer hosts. Wire format round trip and refusals; over
 * real libp2p hosts on 127.0.0.1: the poller reports each network's head, a malformed answer is
 * refused and penalised, and the server rate-limits.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { DecodeError } from '@pulsemesh/core'
import { decodeHeads, encodeHeads, HEADS_PROTOCOL, HeadsPoll } from '../src/p2p/block-sync.ts'
import type { P2PNode } from '../src/p2p/p2p-node.ts'
import { startTestNode, until } from './p2p-fixtures.ts'

const startNode = (bootstrap: string[] = []) => startTestNode(bootstrap, { px: { enabled: false } })

describe('heads answer encoding', () => {
  it('round-trips, skips ids over 255 bytes, refuses malformed answers', () => {
    const heads: [string, bigint][] = [
      ['hub', 12n],
      ['emotionalchain', 2n ** 64n - 1n],
      ['ü-net', 0n],
    ]
    assert.deepEqual(decodeHeads(encodeHeads(heads)), heads)
    assert.deepEqual(decodeHeads(encodeHeads([['x'.repeat(256), 1n], ...heads])), heads)
    const ok = encodeHeads(heads)
    for (const bad of [
      new Uint8Array(0),
      new Uint8Array([0]),
      ok.subarray(0, ok.length - 1), // truncated height
      new Uint8Array([...ok, 0]), // trailing byte
      new Uint8Array([0, 1, 2, 0xff, 0xfe, ...new Uint8Array(8)]), // id not UTF-8
      new Uint8Array([0xff, 0xff]), // count over the bound
    ])
      assert.throws(() => decodeHeads(bad), DecodeError)
  })
})

describe('heads poll over libp2p', () => {
  let a: P2PNode
  let b: P2PNode
  let served: HeadsPoll
  let poller: HeadsPoll
  const seen = new Map<string, bigint>()

  before(async () => {
    a = await startNode()
    b = await startNode([a.addrs()[0]!])
    await until('B connects to A', () => b.connectedPeers().includes(a.peerId))
    // A long interval: the test drives poll() itself.
    served = new HeadsPoll({
      p2p: a,
      heads: () => [
        ['hub', 7n],
        ['tenant-a', 3n],
      ],
      onHead: () => {},
      intervalMs: 3_600_000,
    })
    await served.start()
    poller = new HeadsPoll({
      p2p: b,
      heads: () => [],
      onHead: (id, h) => seen.set(id, h),
      intervalMs: 3_600_000,
    })
    await poller.start()
  })

  after(async () => {
    await served?.stop()
    await poller?.stop()
    await Promise.all([a, b].map((n) => n?.stop()))
  })

  it('one poll reports the head of every network the peer hosts', async () => {
    await poller.poll()
    assert.deepEqual(Object.fromEntries(seen), { hub: 7n, 'tenant-a': 3n })
    assert.equal(served.stats.served, 1)
    assert.equal(poller.stats.failures, 0)
  })

  it('a malformed answer is refused and its sender penalised', async () => {
    await served.stop()
    await a.libp2p.handle(HEADS_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(new Uint8Array([0, 5, 1, 2, 3]))
      await stream.close()
    })
    seen.clear()
    const before = b.penaltyOf(a.peerId)
    await poller.poll()
    assert.equal(seen.size, 0)
    assert.equal(poller.stats.failures, 1)
    assert.ok(b.penaltyOf(a.peerId) > before)
    await a.libp2p.unhandle(HEADS_PROTOCOL)
  })

  it('the server answers a burst of 10 polls, then refuses (rate limit) with a penalty point', async () => {
    served = new HeadsPoll({ p2p: a, heads: () => [['hub', 1n]], onHead: () => {}, intervalMs: 3_600_000 })
    await served.start()
    const ask = async () => {
      const s = await b.libp2p.dialProtocol(peerIdFromString(a.peerId), HEADS_PROTOCOL)
      const lp = lpStream(s)
      await lp.write(new Uint8Array([1]))
      const heads = decodeHeads((await lp.read()).subarray())
      await s.close()
      return heads
    }
    let ok = 0
    for (let i = 0; i < 20; i++) {
      try {
        await ask()
        ok++
      } catch {}
    }
    // 10 at once, then 1/s: 20 asks in a row cannot all be answered.
    assert.ok(ok >= 10 && ok < 20, `answered ${ok} of 20`)
    assert.ok(a.penaltyOf(b.peerId) > 0)
  })
})
