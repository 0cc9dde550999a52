/**
 * How consensus messages move between the validators of one network. The driver only hands over
 * and receives opaque bytes (see messages.ts), so the libp2p gossip layer of a later issue can
 * implement this interface without touching consensus.
 */
export interface ConsensusTransport {
  /** Sends `msg` to every other connected validator of the network (never back to the sender). */
  broadcast(msg: Uint8Array): void
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
      if (name === from.name) continue
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
