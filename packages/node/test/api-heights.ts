/**
 * Height polling for tests of devnets reached over their HTTP APIs (ProcessDevnet): bounded by
 * poll count (100 ms apart), never by a wall-clock deadline.
 */
import type { PulseClient } from '@pulsemesh/sdk'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * `height(i)` of `network` on node i and `waitHeight(i, h, what)` until it reaches h. `clients` is
 * read on every call since tests create the clients in before(); `who` names a node in the
 * timeout message ("validator 2 at 7, want 9").
 */
export function apiHeights(
  clients: () => readonly PulseClient[],
  network: string,
  o: { polls: number; who?: string },
) {
  const height = async (i: number): Promise<bigint> => BigInt((await clients()[i].status(network)).height)
  async function waitHeight(i: number, h: bigint, what: string, polls = o.polls): Promise<void> {
    for (let k = 0; k < polls; k++) {
      if ((await height(i).catch(() => -1n)) >= h) return
      await sleep(100)
    }
    const at = await height(i).catch(() => -1n)
    throw new Error(`timed out: ${what} (${o.who ?? 'node'} ${i} at ${at}, want ${h})`)
  }
  return { height, waitHeight }
}
