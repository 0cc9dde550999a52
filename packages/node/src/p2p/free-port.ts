/**
 * A free TCP port on 127.0.0.1 for a process about to be started (test and dev devnets).
 *
 * Not port 0's answer: that comes from the kernel's ephemeral range, where every outgoing
 * connection of every other process also takes its local port — between picking the port here and
 * the child binding it, a concurrent test's libp2p dial can take it (EADDRINUSE, seen in CI). Ports
 * below the ephemeral range are never handed out for outgoing connections, so only another
 * listener can collide: pick one at random there, check it binds, and never hand the same one out
 * twice from this process.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const handedOut = new Set<number>()

/** Lowest port of the kernel's ephemeral range (Linux), else the IANA dynamic range's 49152. */
function ephemeralLow(): number {
  try {
    const lo = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10)
    if (lo > 12_000) return lo
  } catch {
    // not Linux: fall through
  }
  return 49_152
}

const LOW = 10_000

function bindable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer()
    s.once('error', () => res(false))
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)))
  })
}

export async function freePort(): Promise<number> {
  const high = ephemeralLow()
  for (let i = 0; i < 200; i++) {
    // Not consensus code: randomness only spreads concurrent test runs over the range.
    const port = LOW + Math.floor(Math.random() * (high - LOW))
    if (handedOut.has(port)) continue
    if (await bindable(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${LOW}-${high - 1} on 127.0.0.1`)
}
