/**
 * `npm run sim -- --seeds 1000` | `--seed N` [--validators N] [--heights N] [--faults a,b] [--json]
 * [--trace file] [--first-seed N] [--test-only-disable-lock-rule] [--test-only-forget-blocks]
 * Runs seeds across fault mixes, prints a summary; a failing seed prints the one command that replays
 * it and writes a readable trace (one line per delivered message, timeout, commit, crash, partition).
 * This file is the simulator's shell: the only place in src/ that touches node: modules.
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { FAULTS, makeScenario, parseFaults, replayCommand } from '../src/sim/scenario.ts'
import { runMany } from '../src/sim/run.ts'
import { runSimulation } from '../src/sim/world.ts'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    'first-seed': { type: 'string', default: '1' },
    validators: { type: 'string' },
    heights: { type: 'string' },
    faults: { type: 'string' },
    trace: { type: 'string' },
    json: { type: 'boolean', default: false },
    'test-only-disable-lock-rule': { type: 'boolean', default: false },
    'test-only-forget-blocks': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  console.log(`usage: npm run sim -- [--seeds N | --seed N] [--validators N] [--heights N] [--faults ${FAULTS.join('|')}[,..]]
                      [--trace file] [--json] [--first-seed N] [--test-only-disable-lock-rule]
                      [--test-only-forget-blocks]`)
  process.exit(0)
}

const int = (s: string | undefined, name: string): number | undefined => {
  if (s === undefined) return undefined
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`)
    process.exit(2)
  }
  return n
}
const validators = int(values.validators, 'validators')
const heights = int(values.heights, 'heights')
let faults: ReturnType<typeof parseFaults> | undefined
try {
  faults = values.faults ? parseFaults(values.faults) : undefined
} catch (e) {
  console.error((e as Error).message)
  process.exit(2)
}
const bug = values['test-only-disable-lock-rule']
const forget = values['test-only-forget-blocks']

function writeTrace(file: string, lines: string[]): void {
  writeFileSync(file, `${lines.join('\n')}\n`)
}

if (values.seed !== undefined) {
  const seed = int(values.seed, 'seed')!
  const s = makeScenario({
    seed,
    validators,
    heights,
    faults,
    testOnlyDisableLockRule: bug,
    testOnlyForgetBlocks: forget,
  })
  const started = performance.now()
  const r = runSimulation(s, { trace: true })
  const ms = Math.round(performance.now() - started)
  const traceFile = values.trace ?? (r.ok ? undefined : `sim-trace-${seed}.log`)
  if (traceFile) writeTrace(traceFile, r.trace!)
  const out = {
    seed,
    ok: r.ok,
    violations: r.violations,
    scenario: { ...s, powers: s.powers.map(String) },
    stats: r.stats,
    wallMs: ms,
    replay: replayCommand(s),
    trace: traceFile,
  }
  if (values.json) console.log(JSON.stringify(out, null, 2))
  else {
    console.log(
      `seed ${seed}: ${r.ok ? 'OK' : 'FAILED'} (${s.validators} validators, ${s.heights} heights, faults ${s.faults.join(',')}, ${ms} ms)`,
    )
    for (const v of r.violations) console.log(`  ${v.kind} at ${v.timeMs} ms: ${v.detail}`)
    console.log(
      `  commits ${r.stats.commits}, max round ${r.stats.maxRound}, delivered ${r.stats.delivered}, dropped ${r.stats.dropped}, evidence ${r.stats.evidence}, restarts ${r.stats.restarts}`,
    )
    if (traceFile) console.log(`  trace: ${traceFile}`)
    if (!r.ok) console.log(`  replay: ${replayCommand(s)}`)
  }
  process.exit(r.ok ? 0 : 1)
}

const seeds = int(values.seeds, 'seeds') ?? 100
const firstSeed = int(values['first-seed'], 'first-seed') ?? 1
const started = performance.now()
const summary = runMany(
  {
    firstSeed,
    seeds,
    validators,
    heights,
    faults,
    testOnlyDisableLockRule: bug,
    testOnlyForgetBlocks: forget,
  },
  (r) => {
    if (!r.ok) {
      // Replay the failing seed with tracing on (the run is deterministic) and keep the trace.
      const file = `sim-trace-${r.seed}.log`
      writeTrace(file, runSimulation(r.scenario, { trace: true }).trace!)
      if (!values.json) {
        console.log(`seed ${r.seed} FAILED: ${r.violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`)
        console.log(`  replay: ${r.replay}`)
        console.log(`  trace:  ${file}`)
      }
    }
  },
)
const wallMs = Math.round(performance.now() - started)
if (values.json) console.log(JSON.stringify({ ...summary, wallMs }, null, 2))
else {
  console.log(`${summary.passed}/${summary.seeds} seeds passed in ${wallMs} ms (${summary.failed} failed)`)
  for (const [mix, m] of Object.entries(summary.byMix))
    console.log(`  ${mix.padEnd(28)} ${m.seeds - m.failed}/${m.seeds}`)
  const t = summary.totals
  console.log(
    `  commits ${t.commits}, events ${t.events}, delivered ${t.delivered}, dropped ${t.dropped}, evidence ${t.evidence}, restarts ${t.restarts}, max round ${t.maxRound}`,
  )
  console.log(
    `  rejected ${JSON.stringify(t.rejected)}; worst time-after-GST / liveness bound = ${summary.worstLivenessRatio}`,
  )
}
process.exit(summary.failed === 0 ? 0 : 1)
