/**
 * GossipConsensusTransport's re-send policy and the vote topic's duplicate check, on fakes (mocked
 * timers, no sockets): messages of the height in progress are re-published with backoff until it
 * commits; an idle network (head committed, nothing signed for the next height) publishes nothing
 * and keeps no timer; an exact re-sent vote is accepted without a second signature check.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, mock, test } from 'node:test'
import { generateKeyPair, sign, type Vote, voteSignBytes } from '@pulsemesh/core'
import type { ValidatorSet } from '@pulsemesh/consensus'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { encodeMessage } from '../src/consensus/messages.ts'
import type { BlockSync } from '../src/p2p/block-sync.ts'
import {
  attachNetworkGossip,
  GossipConsensusTransport,
  nextResendDelay,
  networkTopics,
  STALL_RESEND_MAX_MS,
  STALL_RESEND_MS,
} from '../src/p2p/gossip-transport.ts'
import type { P2PNode, TopicSpec } from '../src/p2p/p2p-node.ts'

const NET = 'hub'
const topics = networkTopics(NET)

function fakes() {
  const published: { topic: string; msg: Uint8Array }[] = []
  const pubsub = new EventTarget()
  const specs = new Map<string, TopicSpec>()
  const p2p = {
    libp2p: { services: { pubsub } },
    publish: (topic: string, msg: Uint8Array) => published.push({ topic, msg }),
    registerTopic: (topic: string, spec: TopicSpec) => specs.set(topic, spec),
  } as unknown as P2PNode
  const node = Object.assign(new EventEmitter(), { id: NET, height: 10n }) as unknown as NetworkNode & {
    height: bigint
  }
  const sync = { kick: () => {}, noteRemoteHeight: () => {} } as unknown as BlockSync
  const transport = new GossipConsensusTransport(p2p, NET, sync, node)
  transport.onMessage(() => {})
  const commit = (h: bigint) => {
    node.height = h
    node.emit('block')
  }
  const subscribe = () =>
    pubsub.dispatchEvent(
      new CustomEvent('subscription-change', {
        detail: { subscriptions: [{ topic: topics.votes, subscribe: true }] },
      }),
    )
  return { published, p2p, node, sync, transport, commit, subscribe, specs }
}

const key = generateKeyPair('ed25519', new Uint8Array(32).fill(5))
function vote(height: bigint, round = 0, type: 1 | 2 = 1): Vote {
  const v: Vote = {
    type,
    height,
    round,
    blockHash: new Uint8Array(32).fill(3),
    timestampMs: 1n,
    validatorIndex: 0,
    extension: new Uint8Array(),
    signature: new Uint8Array(),
  }
  return { ...v, signature: sign('ed25519', key.secretKey, voteSignBytes(NET, v)) }
}
const voteMsg = (height: bigint, round = 0, type: 1 | 2 = 1) =>
  encodeMessage({ type: 'vote', vote: vote(height, round, type) })

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }))
afterEach(() => mock.timers.reset())

test('backoff: 1.5 s, 3 s, 6 s, 12 s, then every 12 s', () => {
  const steps = [STALL_RESEND_MS]
  while (steps.length < 6) steps.push(nextResendDelay(steps.at(-1)!))
  assert.deepEqual(steps, [1500, 3000, 6000, 12000, 12000, 12000])
  assert.equal(STALL_RESEND_MAX_MS, 12000)
})

test('a height in progress is re-published with backoff until it commits, then nothing', () => {
  const f = fakes()
  f.transport.broadcast(voteMsg(11n))
  f.transport.broadcast(voteMsg(11n, 0, 2))
  assert.equal(f.published.length, 2)
  assert.ok(f.transport.resendArmed)
  const count = () => f.published.length - 2
  mock.timers.tick(1499)
  assert.equal(count(), 0)
  mock.timers.tick(1) // 1.5 s
  assert.equal(count(), 2)
  mock.timers.tick(3000) // 4.5 s
  assert.equal(count(), 4)
  mock.timers.tick(5999)
  assert.equal(count(), 4)
  mock.timers.tick(1) // 10.5 s
  assert.equal(count(), 6)
  mock.timers.tick(12_000) // 22.5 s
  mock.timers.tick(12_000) // 34.5 s (capped)
  assert.equal(count(), 10)
  assert.equal(f.transport.resends, 5)
  f.commit(11n)
  assert.equal(f.transport.pendingResend, 0)
  assert.equal(f.transport.resendArmed, false)
  mock.timers.tick(600_000)
  assert.equal(count(), 10, 'nothing re-sent after the height committed')
  f.transport.close()
})

test('idle network: nothing kept, no timer, nothing published however long it waits', () => {
  const f = fakes()
  f.transport.broadcast(voteMsg(11n))
  f.commit(11n) // decided; the next height waits for txs
  // Leftover driver timeouts of the committed height re-send its votes: not kept, not re-sent.
  f.transport.broadcast(voteMsg(11n))
  f.transport.broadcast(voteMsg(10n))
  assert.equal(f.transport.pendingResend, 0)
  assert.equal(f.transport.resendArmed, false)
  const before = f.published.length
  f.subscribe() // a peer (re)subscribing has nothing to be sent either
  mock.timers.tick(3_600_000)
  assert.equal(f.published.length, before)
  assert.equal(f.transport.resends, 0)
  f.transport.close()
})

test('a new height resets the backoff; a (re)subscribing peer gets the in-flight messages at once', () => {
  const f = fakes()
  f.transport.broadcast(voteMsg(11n))
  mock.timers.tick(1500)
  mock.timers.tick(3000) // two re-sends: the next wait would be 6 s
  assert.equal(f.transport.resends, 2)
  f.commit(11n)
  f.transport.broadcast(voteMsg(12n))
  assert.equal(f.transport.pendingResend, 1)
  mock.timers.tick(1500)
  assert.equal(f.transport.resends, 3, 'first re-send of the new height after 1.5 s again')
  const before = f.published.length
  f.subscribe()
  mock.timers.tick(100)
  assert.equal(f.published.length, before + 1)
  assert.equal(f.transport.resends, 4)
  f.transport.close()
  mock.timers.tick(600_000)
  assert.equal(f.published.length, before + 1, 'closed: no timer left')
})

test('messages sent before the handler is set are re-sent once it is', () => {
  const f = fakes()
  const t = new GossipConsensusTransport(f.p2p, NET, f.sync, f.node)
  t.broadcast(voteMsg(11n))
  mock.timers.tick(10_000)
  assert.equal(t.resends, 0)
  t.onMessage(() => {})
  mock.timers.tick(1500)
  assert.equal(t.resends, 1)
  t.close()
  f.transport.close()
})

test('vote topic: an exact re-sent vote skips the signature check; bad and tampered votes are still rejected', async () => {
  mock.timers.reset()
  const f = fakes()
  const set: ValidatorSet = {
    validators: [
      {
        publicKey: key.publicKey.bytes,
        votingPower: 10n,
      },
    ],
  } as unknown as ValidatorSet
  let setLookups = 0
  Object.assign(f.node, {
    validatorSetAt: async () => {
      setLookups++
      return set
    },
    on: EventEmitter.prototype.on,
  })
  const detach = attachNetworkGossip({ p2p: f.p2p, node: f.node, transport: f.transport, sync: f.sync })
  const spec = f.specs.get(topics.votes)!
  const m = voteMsg(11n)
  assert.equal(await spec.validate(m, 'peer'), 'accept')
  assert.equal(setLookups, 1)
  assert.equal(await spec.validate(Uint8Array.from(m), 'peer'), 'accept')
  assert.equal(await spec.validate(Uint8Array.from(m), 'peer'), 'accept')
  assert.equal(setLookups, 1, 'duplicates answered from the seen set')
  assert.equal(f.transport.duplicateVotes, 2)
  // Same vote, one signature byte changed: different bytes, checked, rejected, not remembered.
  const bad = Uint8Array.from(m)
  bad[bad.length - 1] ^= 1
  assert.equal(await spec.validate(bad, 'peer'), 'reject')
  assert.equal(await spec.validate(Uint8Array.from(bad), 'peer'), 'reject')
  assert.equal(f.transport.duplicateVotes, 2)
  // A remembered vote of a height now committed is stale: ignored before the seen set.
  f.node.height = 12n
  assert.equal(await spec.validate(Uint8Array.from(m), 'peer'), 'ignore')
  detach()
  f.transport.close()
})
