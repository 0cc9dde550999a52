/**
 * Networking of a node process: one P2PNode, and per hosted network the gossip topics, the block
 * sync protocol and, for networks this node validates, a ConsensusDriver over a
 * GossipConsensusTransport. Started by host.ts when config.json has a `p2p` section.
 *
 * Test/operator control without root (no network namespaces): when the process was started with
 * an IPC channel (child_process.fork), it answers messages
 *   {p2p: 'status'}                  -> {p2p: 'status', peerId, addrs, peers, heights, stats}
 *   {p2p: 'partition', allow: [...]} -> gater allows only these peer ids (null heals)
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { TimeoutParams } from '@pulsemesh/consensus'
import { generateKeyPair } from '@pulsemesh/core'
import type { P2PFigures } from '../api/metrics.ts'
import type { NetworkNode, ValidatorKey } from '../chain/network-node.ts'
import { ConsensusDriver } from '../consensus/driver.ts'
import { SignStateFile } from '../consensus/sign-state-file.ts'
import { BlockSync, HeadsPoll } from './block-sync.ts'
import { compressionStats } from './compression.ts'
import {
  allTopics,
  attachNetworkGossip,
  GossipConsensusTransport,
  networkTopics,
} from './gossip-transport.ts'
import { emptyTopicStats, type P2PConfig, P2PNode } from './p2p-node.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { SnapshotService } from './snapshot.ts'

export interface ConsensusConfig {
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
  /** > 0: no empty blocks while idle except one per this many ms (see ConsensusDriverOptions). */
  emptyBlocksIntervalMs?: number
}

export interface NetworkingOptions {
  home: string
  config: P2PConfig
  networks: Map<string, NetworkNode>
  /** Networks this node validates, with its consensus key. */
  validatorKeys: Map<string, ValidatorKey>
  /**
   * Networks this node follows as a full node (no key): consensus observer + block sync client.
   * Default: every network not in `validatorKeys` whose genesis has more than one validator (a
   * single-validator network may be produced by this very node, which must not also follow it).
   */
  follow?: Set<string>
  consensus?: ConsensusConfig
  /** Per network id, settings that override `consensus` (e.g. a network that keeps making blocks). */
  networkConsensus?: Record<string, ConsensusConfig>
  log?: (m: string) => void
  /** Listen for IPC control messages (default: when process.send exists). */
  ipc?: boolean
}

export interface NetworkRuntime {
  node: NetworkNode
  transport: GossipConsensusTransport
  sync: BlockSync
  snapshots: SnapshotService
  /** The validator's driver, or the observer driver of a full node. */
  driver?: ConsensusDriver
  role: 'validator' | 'full' | 'relay'
  detach: () => void
}

/**
 * A full node runs the validators' ConsensusDriver with a throwaway key that is in no validator set:
 * the engine's own index is then -1, so it never proposes or signs, but it validates proposals by
 * re-execution and commits once > 2/3 precommits arrive (blocks land as fast as on validators,
 * not one sync poll later), and it uses the same certificate-checked catch-up path for block sync.
 * The key is never stored or published, so nobody can put it into a set.
 */
function observerKey(): ValidatorKey {
  const kp = generateKeyPair('ed25519', randomBytes(32))
  return { seed: kp.secretKey, publicKey: kp.publicKey.bytes }
}

/**
 * gossipsub fixes its allowed topics and topic score parameters at start; a network added later
 * (mesh registry) joins both here. Every network topic shares one score profile, so a new topic
 * copies an existing one's.
 */
interface SubscriptionChange {
  peerId: { toString(): string }
  subscriptions: { topic: string; subscribe: boolean }[]
}

/** What js-gossipsub keeps from its start options (not in its public interface). */
interface GossipInternals {
  allowedTopics: Set<string> | null
  score: { params: { topics: Record<string, object> } }
  sendSubscriptions(toPeer: string, topics: string[], subscribe: boolean): void
}

function joinTopics(p2p: P2PNode, topics: string[]): void {
  const ps = p2p.libp2p.services.pubsub
  const inner = ps as unknown as GossipInternals
  const allowed = inner.allowedTopics
  const scores = inner.score.params.topics
  const profile = Object.values(scores)[0]
  for (const t of topics) {
    allowed?.add(t)
    if (profile !== undefined && scores[t] === undefined) scores[t] = { ...profile }
    if (!p2p.topicStats.has(t)) p2p.topicStats.set(t, emptyTopicStats())
    ps.subscribe(t)
  }
}

function leaveTopics(p2p: P2PNode, topics: string[]): void {
  const ps = p2p.libp2p.services.pubsub
  for (const t of topics) {
    ps.unsubscribe(t)
    ps.topicValidators.delete(t)
    ;(ps as unknown as GossipInternals).allowedTopics?.delete(t)
    p2p.topicStats.delete(t)
  }
}

export class Networking {
  readonly p2p: P2PNode
  readonly nets = new Map<string, NetworkRuntime>()
  /** The idle fallback of every network's block sync: one timer, one peer's heads per poll. */
  readonly heads: HeadsPoll
  private onIpc: ((m: unknown) => void) | undefined
  private readonly o: NetworkingOptions
  /** Topics joined while running (addNetwork), and the (peer, topic) pairs answered already. */
  private readonly lateTopics = new Set<string>()
  private readonly answered = new Set<string>()
  private onLateSubscription: ((e: CustomEvent<SubscriptionChange>) => void) | undefined
  /** A peer that (re)connects may be ahead (a restart, a healed partition): kick every network's sync. */
  private readonly onPeerConnected = () => {
    for (const r of this.nets.values()) r.sync.kick()
  }

  private constructor(p2p: P2PNode, o: NetworkingOptions) {
    this.p2p = p2p
    this.o = o
    this.heads = new HeadsPoll({
      p2p,
      heads: () => [...this.nets].map(([id, r]) => [id, r.node.height]),
      onHead: (id, h) => {
        const r = this.nets.get(id)
        if (r !== undefined && r.role !== 'relay') r.sync.notePeerHead(h)
      },
      intervalMs: o.config.syncIdlePollMs,
    })
  }

  static async start(o: NetworkingOptions): Promise<Networking> {
    const log = o.log ?? (() => {})
    const privateKey = await loadOrCreatePeerKey(join(o.home, 'data'))
    const topics = [...o.networks.keys()].flatMap(allTopics)
    const p2p = await P2PNode.start({ privateKey, config: o.config, topics })
    p2p.on('peerBlocked', (e: { peer: string; reason: string }) => log(`p2p: blocked ${e.peer}: ${e.reason}`))
    const n = new Networking(p2p, o)
    try {
      await n.heads.start()
      for (const [id, node] of o.networks) {
        const key = o.validatorKeys.get(id)
        const role: NetworkRuntime['role'] = key
          ? 'validator'
          : (o.follow?.has(id) ?? node.genesis.validators.length > 1)
            ? 'full'
            : 'relay'
        await n.attach(id, node, role, key)
      }
      // Consensus starts at once; a node that is behind is brought level by the sync loop
      // (its votes for old heights are ignored by peers meanwhile).
      for (const r of n.nets.values()) await r.driver?.start()
      for (const r of n.nets.values()) r.sync.kick()
      p2p.on('peerConnected', n.onPeerConnected)
    } catch (e) {
      await n.stop()
      throw e
    }
    log(`p2p: peer ${p2p.peerId} listening on ${p2p.addrs().join(' ')}`)
    if (o.ipc ?? typeof process.send === 'function') n.listenIpc()
    return n
  }

  /** Gossip topics, block sync and (validator or full node) a ConsensusDriver for one network. */
  private async attach(
    id: string,
    node: NetworkNode,
    role: NetworkRuntime['role'],
    key: ValidatorKey | undefined,
  ): Promise<NetworkRuntime> {
    const o = this.o
    const log = o.log ?? (() => {})
    const p2p = this.p2p
    const snapshots = new SnapshotService({ p2p, node, config: o.config.snapshot, log })
    await snapshots.start()
    // With p2p.snapshot.join, an empty chain joins by a verified snapshot when a peer offers one
    // (then block-syncs from there); without offers it replays from genesis as before.
    if (role !== 'relay' && node.height === 0n) await snapshots.join()
    let transport: GossipConsensusTransport | undefined
    const sync = new BlockSync({
      p2p,
      node,
      deliver: (m, from) => transport?.deliver(m, from),
      log,
      client: role !== 'relay',
      // The idle fallback is the process-wide HeadsPoll (one stream per poll for all networks).
      idlePollMs: 0,
    })
    transport = new GossipConsensusTransport(p2p, id, sync, node)
    const detach = attachNetworkGossip({ p2p, node, transport, sync })
    let driver: ConsensusDriver | undefined
    if (role !== 'relay') {
      const data = join(o.home, 'data')
      driver = new ConsensusDriver({
        node,
        key: key ?? observerKey(),
        transport,
        // An observer never signs, so its sign-state file is never written; the fork evidence
        // file is the validator's one, so a halt survives a change of role.
        signState: new SignStateFile(
          join(data, key ? `signstate-${id}.json` : `observer-signstate-${id}.json`),
        ),
        forkEvidenceFile: join(data, `fork-${id}.json`),
        timeouts: o.networkConsensus?.[id]?.timeouts ?? o.consensus?.timeouts,
        commitDelayMs: o.networkConsensus?.[id]?.commitDelayMs ?? o.consensus?.commitDelayMs,
        emptyBlocksIntervalMs:
          o.networkConsensus?.[id]?.emptyBlocksIntervalMs ?? o.consensus?.emptyBlocksIntervalMs,
      })
      driver.on('error', (e: Error) => log(`[${id}] consensus: ${e.message}`))
    }
    await sync.start()
    const r: NetworkRuntime = { node, transport, sync, snapshots, driver, role, detach }
    this.nets.set(id, r)
    return r
  }

  /**
   * Joins a network while running (the mesh registry started it): subscribes its topics on the
   * running libp2p host, serves and runs block sync, and runs a ConsensusDriver — signing with `key`
   * at heights whose set holds it, observing otherwise (no key: a full node).
   */
  async addNetwork(id: string, node: NetworkNode, key?: ValidatorKey): Promise<NetworkRuntime> {
    if (this.nets.has(id)) throw new Error(`network ${id} is already on the p2p host`)
    this.answerLateSubscriptions()
    for (const t of allTopics(id)) this.lateTopics.add(t)
    joinTopics(this.p2p, allTopics(id))
    const r = await this.attach(id, node, key ? 'validator' : 'full', key)
    await r.driver?.start()
    r.sync.kick()
    return r
  }

  /** Leaves a network (retired): driver, gossip handlers, sync protocol and topics go; data stays. */
  async removeNetwork(id: string): Promise<void> {
    const r = this.nets.get(id)
    if (r === undefined) return
    this.nets.delete(id)
    await r.driver?.stop()
    r.detach()
    await r.sync.stop()
    await r.snapshots.stop()
    leaveTopics(this.p2p, allTopics(id))
    for (const t of allTopics(id)) this.lateTopics.delete(t)
  }

  /**
   * A peer's SUBSCRIBE for a topic this node had not joined yet was dropped by gossipsub (not an
   * allowed topic then), so a host that joins a network later than a peer would never learn that
   * the peer is subscribed, and would not send it that network's votes and proposals. Answering
   * every peer's (first) subscription to a late-joined topic with our own closes that gap in both
   * orders: whoever joined second hears from the first. Once per (peer, topic): no ping-pong.
   */
  private answerLateSubscriptions(): void {
    if (this.onLateSubscription) return
    const ps = this.p2p.libp2p.services.pubsub
    this.onLateSubscription = (e) => {
      const peer = e.detail.peerId.toString()
      const mine = new Set(ps.getTopics())
      const topics = e.detail.subscriptions
        .filter((x) => x.subscribe && this.lateTopics.has(x.topic) && mine.has(x.topic))
        .map((x) => x.topic)
        .filter((t) => !this.answered.has(`${peer} ${t}`))
      if (topics.length === 0) return
      if (this.answered.size > 50_000) this.answered.clear()
      for (const t of topics) this.answered.add(`${peer} ${t}`)
      ;(ps as unknown as GossipInternals).sendSubscriptions(peer, topics, true)
    }
    ps.addEventListener('subscription-change', this.onLateSubscription as EventListener)
  }

  status() {
    return {
      peerId: this.p2p.peerId,
      addrs: this.p2p.addrs(),
      peers: this.p2p.connectedPeers(),
      blocked: this.p2p.gater.blockedPeers(),
      partitioned: this.p2p.gater.partitioned,
      heights: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.node.height.toString()])),
      roles: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.role])),
      stats: this.p2p.stats,
      sync: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.sync.stats])),
      heads: this.heads.stats,
      snapshot: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.snapshots.stats])),
      compression: compressionStats,
      consensus: Object.fromEntries(
        [...this.nets].map(([id, r]) => [
          id,
          r.driver && { ...r.driver.stats, height: r.driver.height.toString(), round: r.driver.round },
        ]),
      ),
    }
  }

  /** True when no followed network is more than 2 blocks behind its best peer (for /readyz). */
  caughtUp(): boolean {
    return [...this.nets.values()].every((r) => r.role === 'relay' || r.sync.behind <= 2n)
  }

  /** Figures for the node's Prometheus /metrics (api/metrics.ts). */
  figures(): P2PFigures {
    const ps = this.p2p.libp2p.services.pubsub
    const s = this.p2p.stats
    return {
      peers: this.p2p.connectedPeers().length,
      blockedNow: this.p2p.gater.blockedPeers().length,
      blockedTotal: s.blockedPeers,
      penalties: s.penalties,
      penaltyPoints: s.penaltyPoints,
      redials: s.redials,
      compressionRawBytes: compressionStats.rawBytes,
      compressionFrameBytes: compressionStats.frameBytes,
      networks: [...this.nets].map(([id, r]) => {
        const topics = Object.values(networkTopics(id))
        const subscribers = new Set<string>()
        const perTopic = topics.map((topic) => {
          const subs = ps.getSubscribers(topic).map((p) => p.toString())
          for (const p of subs) subscribers.add(p)
          const t = this.p2p.topicStats.get(topic)
          return {
            topic,
            peers: subs.length,
            messagesIn: t?.messagesIn ?? 0,
            bytesIn: t?.bytesIn ?? 0,
            messagesOut: t?.messagesOut ?? 0,
            bytesOut: t?.bytesOut ?? 0,
            accepted: t?.accepted ?? 0,
            ignored: t?.ignored ?? 0,
            rejected: t?.rejected ?? 0,
            rateLimited: t?.rateLimited ?? 0,
            oversized: t?.oversized ?? 0,
          }
        })
        return {
          id,
          role: r.role,
          peers: subscribers.size,
          syncBehind: Number(r.sync.behind),
          peerHeight: Number(r.sync.peerHeight),
          blocksSynced: r.sync.stats.fetchedBlocks,
          blocksServed: r.sync.stats.servedBlocks,
          syncBytesIn: r.sync.stats.fetchedBytes,
          syncBytesOut: r.sync.stats.servedBytes,
          badSyncPeers: r.sync.stats.badPeers,
          snapshotInstalledHeight: r.snapshots.stats.installedHeight,
          snapshotChunksServed: r.snapshots.stats.chunksServed,
          snapshotChunksFetched: r.snapshots.stats.chunksFetched,
          topics: perTopic,
        }
      }),
    }
  }

  private listenIpc(): void {
    this.onIpc = (m: unknown) => {
      const msg = m as { p2p?: string; allow?: string[] | null; id?: number }
      if (msg?.p2p === 'status') process.send?.({ p2p: 'status', id: msg.id, ...this.status() })
      else if (msg?.p2p === 'partition')
        void this.p2p
          .partition(msg.allow ?? null)
          .then(() => process.send?.({ p2p: 'partitioned', id: msg.id }))
    }
    process.on('message', this.onIpc)
  }

  async stop(): Promise<void> {
    this.p2p.off('peerConnected', this.onPeerConnected)
    if (this.onIpc) process.off('message', this.onIpc)
    if (this.onLateSubscription)
      this.p2p.libp2p.services.pubsub.removeEventListener(
        'subscription-change',
        this.onLateSubscription as EventListener,
      )
    for (const r of this.nets.values()) {
      await r.driver?.stop()
      r.detach()
      await r.sync.stop()
      await r.snapshots.stop()
    }
    await this.heads.stop()
    await this.p2p.stop()
  }
}
