/**
 * How consensus messages move between the validators of one network. The driver only hands over
 * and receives opaque bytes (see messages.ts), so the libp2p gossip layer of a later issue can
 * implement this interface without touching consensus.
 */
/**
 * First re-send of a height's own messages this long after the first of them was sent; each
 * further re-send of the same height waits twice as long, up to STALL_RESEND_MAX_MS.
 */
export const STALL_RESEND_MS = 1500
export const STALL_RESEND_MAX_MS = 12_000

/** The next wait of the per-height re-send backoff (1.5 s, 3 s, 6 s, 12 s, 12 s, ...). */
export function nextResendDelay(ms: number): number {
  return Math.min(ms * 2, STALL_RESEND_MAX_MS)
}

export interface ConsensusTransport {
  /** Sends `msg` to every other connected validator of the network (never back to the sender). */
  broadcast(msg: Uint8Array): void
  /**
   * Signatures this transport already checked on admission (the gossip validators verify every
   * vote and proposal before relaying it). The driver's verifier consults it so a message is not
   * verified a second time by the engine. Absent: the engine verifies everything itself.
   */
  readonly verified?: VerifiedSignatures
  /** Whether `tx` messages travel over this transport (the gossip transport has its own tx topic). */
  readonly carriesTxs?: boolean
  /**
   * Whether the transport itself re-sends the messages of a height that does not commit (the
   * gossip transport does, with backoff); otherwise the driver re-sends on every timeout of the
   * height in progress.
   */
  readonly resendsStalled?: boolean
  /** Bytes of a recently gossiped tx by txHash hex (to rebuild compact proposals), if held. */
  txBytes?(hashHex: string): Uint8Array | undefined
  /** Registers the one receiver of messages from peers; `from` names the sending endpoint. */
  onMessage(handler: (msg: Uint8Array, from: string) => void): void
  close(): void
}

/**
 * All validators of one network inside one process. Delivery is asynchronous (a macrotask per
 * message), like a real network, so no handler runs inside another's call stack. `disconnect`
 * simulates a crashed or partitioned validator: messages to and from it are dropped.
 */
export class InProcessHub {
  private readonly endpoints = new Map<string, InProcessEndpoint>()
  /** Fault injection (tests): a message this answers true for is lost on the way from `from` to `to`. */
  drop: ((msg: Uint8Array, from: string, to: string) => boolean) | undefined

  connect(name: string): InProcessEndpoint {
    const ep = new InProcessEndpoint(this, name)
    this.endpoints.set(name, ep)
    return ep
  }

  disconnect(name: string): void {
    this.endpoints.delete(name)
  }

  /** @internal */
  deliver(from: InProcessEndpoint, msg: Uint8Array): void {
    if (this.endpoints.get(from.name) !== from) return
    for (const [name, ep] of this.endpoints) {
      if (name === from.name || this.drop?.(msg, from.name, name)) continue
      // Each receiver gets its own copy: nobody can mutate what another validator received.
      const copy = msg.slice()
      setImmediate(() => {
        if (this.endpoints.get(name) === ep) ep.receive(copy, from.name)
      })
    }
  }
}

export class InProcessEndpoint implements ConsensusTransport {
  readonly name: string
  readonly carriesTxs = true
  private readonly hub: InProcessHub
  private handler: ((msg: Uint8Array, from: string) => void) | undefined
  constructor(hub: InProcessHub, name: string) {
    this.hub = hub
    this.name = name
  }
  broadcast(msg: Uint8Array): void {
    this.hub.deliver(this, msg)
  }
  onMessage(handler: (msg: Uint8Array, from: string) => void): void {
    this.handler = handler
  }
  /** @internal */
  receive(msg: Uint8Array, from: string): void {
    this.handler?.(msg, from)
  }
  close(): void {
    this.hub.disconnect(this.name)
    this.handler = undefined
  }
}

/**
 * A bounded memory of Ed25519 signatures that verified, each with the exact public key and message
 * it verified under. `has` answers true only for that same (key, message, signature), compared byte
 * for byte, so a hit is as good as a fresh verification; anything else is verified normally.
 */
export class VerifiedSignatures {
  private readonly max: number
  private readonly entries = new Map<string, { publicKey: Uint8Array; message: Uint8Array }>()
  /** Lookups answered from memory (a verification saved). */
  hits = 0
  constructor(max = 8192) {
    this.max = max
  }
  add(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
    const k = Buffer.from(signature).toString('base64')
    if (this.entries.has(k)) return
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(k, { publicKey: publicKey.slice(), message: message.slice() })
  }
  has(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const e = this.entries.get(Buffer.from(signature).toString('base64'))
    if (e === undefined || !sameBytes(e.publicKey, publicKey) || !sameBytes(e.message, message)) return false
    this.hits++
    return true
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
