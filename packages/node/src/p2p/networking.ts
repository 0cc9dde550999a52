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
import { join } from 'node:path'
import type { TimeoutParams } from '@pulsemesh/consensus'
import type { NetworkNode, ValidatorKey } from '../chain/network-node.ts'
import { ConsensusDriver } from '../consensus/driver.ts'
import { SignStateFile } from '../consensus/sign-state-file.ts'
import { BlockSync } from './block-sync.ts'
import { compressionStats } from './compression.ts'
import { allTopics, attachNetworkGossip, GossipConsensusTransport } from './gossip-transport.ts'
import { type P2PConfig, P2PNode } from './p2p-node.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'

export interface ConsensusConfig {
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
}

export interface NetworkingOptions {
  home: string
  config: P2PConfig
  networks: Map<string, NetworkNode>
  /** Networks this node validates, with its consensus key. */
  validatorKeys: Map<string, ValidatorKey>
  consensus?: ConsensusConfig
  log?: (m: string) => void
  /** Listen for IPC control messages (default: when process.send exists). */
  ipc?: boolean
}

export interface NetworkRuntime {
  node: NetworkNode
  transport: GossipConsensusTransport
  sync: BlockSync
  driver?: ConsensusDriver
  detach: () => void
}

export class Networking {
  readonly p2p: P2PNode
  readonly nets = new Map<string, NetworkRuntime>()
  private onIpc: ((m: unknown) => void) | undefined

  private constructor(p2p: P2PNode) {
    this.p2p = p2p
  }

  static async start(o: NetworkingOptions): Promise<Networking> {
    const log = o.log ?? (() => {})
    const privateKey = await loadOrCreatePeerKey(join(o.home, 'data'))
    const topics = [...o.networks.keys()].flatMap(allTopics)
    const p2p = await P2PNode.start({ privateKey, config: o.config, topics })
    p2p.on('peerBlocked', (e: { peer: string; reason: string }) => log(`p2p: blocked ${e.peer}: ${e.reason}`))
    const n = new Networking(p2p)
    try {
      for (const [id, node] of o.networks) {
        let transport: GossipConsensusTransport | undefined
        const sync = new BlockSync({
          p2p,
          node,
          deliver: (m, from) => transport?.deliver(m, from),
          log,
          client: o.validatorKeys.has(id),
        })
        transport = new GossipConsensusTransport(p2p, id, sync, node)
        const detach = attachNetworkGossip({ p2p, node, transport, sync })
        const key = o.validatorKeys.get(id)
        let driver: ConsensusDriver | undefined
        if (key) {
          driver = new ConsensusDriver({
            node,
            key,
            transport,
            signState: new SignStateFile(join(o.home, 'data', `signstate-${id}.json`)),
            timeouts: o.consensus?.timeouts,
            commitDelayMs: o.consensus?.commitDelayMs,
          })
          driver.on('error', (e: Error) => log(`[${id}] consensus: ${e.message}`))
        }
        await sync.start()
        n.nets.set(id, { node, transport, sync, driver, detach })
      }
      // Consensus starts at once; a node that is behind is brought level by the sync loop
      // (its votes for old heights are ignored by peers meanwhile).
      for (const r of n.nets.values()) await r.driver?.start()
      for (const r of n.nets.values()) r.sync.kick()
    } catch (e) {
      await n.stop()
      throw e
    }
    log(`p2p: peer ${p2p.peerId} listening on ${p2p.addrs().join(' ')}`)
    if (o.ipc ?? typeof process.send === 'function') n.listenIpc()
    return n
  }

  status() {
    return {
      peerId: this.p2p.peerId,
      addrs: this.p2p.addrs(),
      peers: this.p2p.connectedPeers(),
      blocked: this.p2p.gater.blockedPeers(),
      partitioned: this.p2p.gater.partitioned,
      heights: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.node.height.toString()])),
      stats: this.p2p.stats,
      sync: Object.fromEntries([...this.nets].map(([id, r]) => [id, r.sync.stats])),
      compression: compressionStats,
      consensus: Object.fromEntries(
        [...this.nets].map(([id, r]) => [
          id,
          r.driver && { ...r.driver.stats, height: r.driver.height.toString(), round: r.driver.round },
        ]),
      ),
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
    if (this.onIpc) process.off('message', this.onIpc)
    for (const r of this.nets.values()) {
      await r.driver?.stop()
      r.detach()
      await r.sync.stop()
    }
    await this.p2p.stop()
  }
}
