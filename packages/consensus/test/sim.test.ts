/**
 * The simulator as the consensus test: many seeds across fault mixes must keep agreement, validity,
 * no honest double-sign and liveness after GST; and a seeded bug (the lock rule disabled) must be caught.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EventQueue } from '../src/sim/event-queue.ts'
import { Prng } from '../src/sim/prng.ts'
import { runMany } from '../src/sim/run.ts'
import { makeScenario, MIXES, parseFaults, replayCommand, type ScenarioInput } from '../src/sim/scenario.ts'
import { runSimulation, type SimResult, type ViolationKind } from '../src/sim/world.ts'

const CI_SEEDS = 240

test(`${CI_SEEDS} seeds across ${MIXES.length} fault mixes keep every invariant`, () => {
  const started = performance.now()
  const sum = runMany({ firstSeed: 1, seeds: CI_SEEDS })
  const ms = Math.round(performance.now() - started)
  const failures = sum.failures.map(
    (f) => `seed ${f.seed} ${f.kinds.join(',')}: ${f.detail}\n  replay: ${f.replay}`,
  )
  assert.deepEqual(failures, [], failures.join('\n'))
  assert.equal(sum.passed, CI_SEEDS)
  // Every mix ran, faults really happened, and byzantine behaviour was really exercised.
  assert.equal(Object.keys(sum.byMix).length, MIXES.length)
  assert.ok(sum.totals.dropped > 0 && sum.totals.restarts > 0 && sum.totals.evidence > 0)
  assert.ok((sum.totals.rejected.MSG_MALFORMED ?? 0) > 0 && (sum.totals.rejected.MSG_BAD_SIGNATURE ?? 0) > 0)
  assert.ok(sum.worstLivenessRatio < 1)
  console.log(
    `# sim: ${CI_SEEDS} seeds in ${ms} ms; commits ${sum.totals.commits}, evidence ${sum.totals.evidence}, restarts ${sum.totals.restarts}, worst time-after-GST/bound ${sum.worstLivenessRatio}`,
  )
})

/**
 * The first of seeds 1..20 where the seeded bug makes a run violate `kind`, and the same scenario run
 * with the real code (which must pass).
 */
function catchSeededBug(
  input: Omit<ScenarioInput, 'seed'>,
  bug: Pick<ScenarioInput, 'testOnlyDisableLockRule' | 'testOnlyForgetBlocks'>,
  kind: ViolationKind,
): { seed: number; real: SimResult } {
  for (let seed = 1; seed <= 20; seed++) {
    const r = runSimulation(makeScenario({ seed, ...input, ...bug }))
    if (r.violations.some((v) => v.kind === kind))
      return { seed, real: runSimulation(makeScenario({ seed, ...input })) }
  }
  assert.fail(`no ${kind} violation in 20 seeds: the check misses the seeded bug`)
}

test('seeded bug: without the lock rule, byzantine equivocation breaks agreement within a few seeds', () => {
  const { seed, real } = catchSeededBug(
    { validators: 4, heights: 40, faults: ['byz-equivocate', 'partition'] },
    { testOnlyDisableLockRule: true },
    'agreement',
  )
  assert.deepEqual(real.violations, [], 'the real engine is safe (and live) on the same scenario')
  console.log(`# seeded lock-rule bug caught at seed ${seed} (agreement violation)`)
})

test('seeded bug: without the blocks saved with the sign state, a whole-network restart can halt the chain', () => {
  const { seed, real } = catchSeededBug(
    { validators: 4, heights: 12, faults: ['restart-all'] },
    { testOnlyForgetBlocks: true },
    'liveness',
  )
  // The real shell saves the locked and proposed blocks with the SignState: the same run is live.
  assert.deepEqual(real.violations, [])
  assert.ok(real.stats.restarts >= 4)
  console.log(`# seeded lost-locked-block bug caught at seed ${seed} (liveness violation)`)
})

test('a run is a pure function of its scenario (same seed, same trace)', () => {
  const s = makeScenario({ seed: 77, faults: ['chaos'] })
  const a = runSimulation(s, { trace: true })
  const b = runSimulation(s, { trace: true })
  assert.deepEqual(a.stats, b.stats)
  assert.deepEqual(a.trace, b.trace)
  assert.ok(a.trace!.length > 100)
  assert.match(a.replay, /^npm run sim -- --seed 77 --validators \d+ --heights \d+ --faults chaos/)
})

test('the printed replay command rebuilds exactly the same scenario', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const s = makeScenario({ seed })
    const args = replayCommand(s).match(/--seed (\d+) --validators (\d+) --heights (\d+) --faults (\S+)/)
    assert.ok(args, replayCommand(s))
    const again = makeScenario({
      seed: Number(args[1]),
      validators: Number(args[2]),
      heights: Number(args[3]),
      faults: parseFaults(args[4]),
    })
    assert.deepEqual(again, s)
  }
})

test('prng: deterministic, unbiased ranges, independent forks', () => {
  const a = new Prng(1)
  const b = new Prng(1)
  const xs = Array.from({ length: 8 }, () => a.u32())
  assert.deepEqual(
    xs,
    Array.from({ length: 8 }, () => b.u32()),
  )
  assert.notDeepEqual(
    xs,
    Array.from({ length: 8 }, () => new Prng(2).u32()),
  )
  const r = new Prng(9)
  const counts = new Array(6).fill(0)
  for (let i = 0; i < 60_000; i++) counts[r.int(6)]++
  for (const c of counts) assert.ok(c > 9_400 && c < 10_600, `bucket ${c}`)
  for (let i = 0; i < 1000; i++) {
    const x = r.range(-3, 3)
    assert.ok(x >= -3 && x <= 3 && Number.isInteger(x))
  }
  let hits = 0
  for (let i = 0; i < 10_000; i++) if (r.chance(250)) hits++
  assert.ok(hits > 2_300 && hits < 2_700)
})

test('event queue: ordered by time, then by insertion for equal times', () => {
  const q = new EventQueue<string>()
  const rng = new Prng(3)
  const items: [number, string][] = []
  for (let i = 0; i < 500; i++) {
    const t = rng.int(50)
    items.push([t, `e${i}`])
    q.push(t, `e${i}`)
  }
  const want = [...items].sort((x, y) => x[0] - y[0]).map((x) => x[1]) // stable sort keeps insertion order
  const got: string[] = []
  for (let e = q.pop(); e; e = q.pop()) got.push(e.item)
  assert.deepEqual(got, want)
})
