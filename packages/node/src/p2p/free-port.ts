/**
 * A free TCP port on 127.0.0.1 for a process about to be started (test and dev devnets).
 *
 * Not port 0's answer: that comes from the kernel's ephemeral range, where every outgoing
 * connection of every other process also takes its local port — between picking the port here and
 * the child binding it, a concurrent test's libp2p dial can take it (EADDRINUSE, seen in CI). Ports
 * below the ephemeral range are never handed out for outgoing connections, so only another
 * listener can collide: pick one at random there, check it binds, and never hand the same one out
 * twice — from this process, nor from any other on the machine: a port is claimed by creating
 * `<tmpdir>/pulsemesh-ports/<port>` exclusively. Binding alone is not enough: a devnet member that
 * is down for a restart leaves its port bindable, and a concurrent test file took it (EADDRINUSE
 * on the member's revival, seen in a loaded CI run). Claims older than STALE_MS are reused.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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
export const PORT_REGISTRY = join(tmpdir(), 'pulsemesh-ports')
/** A claim this old belongs to a run that is over (a test devnet lives minutes). */
const STALE_MS = 6 * 3600_000

/** Claims `port` machine-wide; false if another process (or run) holds a fresh claim on it. */
export function claimPort(port: number): boolean {
  const file = join(PORT_REGISTRY, String(port))
  try {
    mkdirSync(PORT_REGISTRY, { recursive: true })
    closeSync(openSync(file, 'wx'))
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true // no registry here: bind check only
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < STALE_MS) return false
    const now = new Date()
    utimesSync(file, now, now)
    return true
  } catch {
    return false
  }
}

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
    if ((await bindable(port)) && claimPort(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${LOW}-${high - 1} on 127.0.0.1`)
}
