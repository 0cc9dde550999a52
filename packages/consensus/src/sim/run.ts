/** Run many seeds and summarise; pure (no I/O), shared by the CLI and the CI test. */
import { type Fault, makeScenario } from './scenario.ts'
import { runSimulation, type SimResult } from './world.ts'

export interface RunManyInput {
  firstSeed: number
  seeds: number
  validators?: number
  heights?: number
  faults?: Fault[]
  testOnlyDisableLockRule?: boolean
  testOnlyForgetBlocks?: boolean
  /** Stop at the first failing seed. */
  stopOnFailure?: boolean
}

export interface RunManySummary {
  seeds: number
  passed: number
  failed: number
  failures: { seed: number; kinds: string[]; detail: string; replay: string }[]
  byMix: Record<string, { seeds: number; failed: number }>
  totals: {
    commits: number
    events: number
    delivered: number
    dropped: number
    evidence: number
    restarts: number
    maxRound: number
    rejected: Record<string, number>
  }
  /** Worst (time to finish after GST) / (stated liveness bound) over all seeds with a GST. */
  worstLivenessRatio: number
}

export function runMany(input: RunManyInput, onResult?: (r: SimResult) => void): RunManySummary {
  const sum: RunManySummary = {
    seeds: 0,
    passed: 0,
    failed: 0,
    failures: [],
    byMix: {},
    totals: {
      commits: 0,
      events: 0,
      delivered: 0,
      dropped: 0,
      evidence: 0,
      restarts: 0,
      maxRound: 0,
      rejected: {},
    },
    worstLivenessRatio: 0,
  }
  for (let i = 0; i < input.seeds; i++) {
    const seed = input.firstSeed + i
    const s = makeScenario({
      seed,
      validators: input.validators,
      heights: input.heights,
      faults: input.faults,
      testOnlyDisableLockRule: input.testOnlyDisableLockRule,
      testOnlyForgetBlocks: input.testOnlyForgetBlocks,
    })
    const r = runSimulation(s)
    onResult?.(r)
    sum.seeds++
    const mix = s.faults.join(',')
    const m = (sum.byMix[mix] ??= { seeds: 0, failed: 0 })
    m.seeds++
    const t = sum.totals
    t.commits += r.stats.commits
    t.events += r.stats.events
    t.delivered += r.stats.delivered
    t.dropped += r.stats.dropped
    t.evidence += r.stats.evidence
    t.restarts += r.stats.restarts
    t.maxRound = Math.max(t.maxRound, r.stats.maxRound)
    for (const [k, v] of Object.entries(r.stats.rejected)) t.rejected[k] = (t.rejected[k] ?? 0) + v
    if (r.ok && r.stats.livenessBoundMs > 0)
      sum.worstLivenessRatio = Math.max(sum.worstLivenessRatio, r.stats.afterGstMs / r.stats.livenessBoundMs)
    if (r.ok) sum.passed++
    else {
      sum.failed++
      m.failed++
      sum.failures.push({
        seed,
        kinds: [...new Set(r.violations.map((v) => v.kind))],
        detail: r.violations[0].detail,
        replay: r.replay,
      })
      if (input.stopOnFailure) break
    }
  }
  sum.worstLivenessRatio = Math.round(sum.worstLivenessRatio * 1000) / 1000
  return sum
}
