/**
 * The connection gater: peers blocked for misbehaviour (until a deadline) and, for fault tests and
 * operators, a partition mode that allows only a given set of peers. Both deny dials and inbound
 * connections after the handshake (when the remote peer id is known).
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

const MAX_BLOCKED = 10_000

export class PeerGater implements ConnectionGater {
  private readonly blocked = new Map<string, number>()
  /** When set, only these peer ids may connect (a partition). */
  private allowOnly: Set<string> | undefined
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  block(peer: string, ms: number): void {
    if (this.blocked.size >= MAX_BLOCKED) this.blocked.delete(this.blocked.keys().next().value!)
    this.blocked.set(peer, this.now() + ms)
  }

  unblock(peer: string): void {
    this.blocked.delete(peer)
  }

  /** `null` heals: every peer may connect again. */
  partition(allow: Iterable<string> | null): void {
    this.allowOnly = allow === null ? undefined : new Set(allow)
  }

  get partitioned(): boolean {
    return this.allowOnly !== undefined
  }

  denies(peer: string): boolean {
    if (this.allowOnly && !this.allowOnly.has(peer)) return true
    const until = this.blocked.get(peer)
    if (until === undefined) return false
    if (until <= this.now()) {
      this.blocked.delete(peer)
      return false
    }
    return true
  }

  blockedPeers(): string[] {
    return [...this.blocked.keys()].filter((p) => this.denies(p))
  }

  denyDialPeer = (peerId: PeerId): boolean => this.denies(peerId.toString())
  denyInboundEncryptedConnection = (peerId: PeerId): boolean => this.denies(peerId.toString())
  denyOutboundEncryptedConnection = (peerId: PeerId): boolean => this.denies(peerId.toString())
}
