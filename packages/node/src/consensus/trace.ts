/**
 * Diagnostics: PULSEMESH_CONSENSUS_TRACE=<dir> appends one line per consensus/gossip phase to
 * <dir>/<pid>.log: `<epoch ms with µs> <what>`. Epoch times (not process-relative) so the logs of a
 * multi-process devnet merge into one per-height timeline. Off (and free) without the variable.
 */
import { appendFileSync } from 'node:fs'

export const TRACE_DIR = process.env.PULSEMESH_CONSENSUS_TRACE

export function trace(what: string): void {
  if (TRACE_DIR)
    appendFileSync(
      `${TRACE_DIR}/${process.pid}.log`,
      `${(performance.timeOrigin + performance.now()).toFixed(3)} ${what}\n`,
    )
}
