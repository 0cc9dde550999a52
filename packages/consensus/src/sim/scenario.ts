/**
 * Scenarios: everything a simulation run does follows from (seed, validators, heights, faults, flags).
 * The same inputs give the same run, so a failing seed is replayed by one command.
 */
import type { TimeoutParams } from '../types.ts'
import { Prng } from './prng.ts'

/** Fault kinds. Network/crash/skew/partition faults stop at GST; byzantine validators stay byzantine. */
export const FAULTS = [
  'none',
  'lossy',
  'partition',
  'crash',
  'restart-all',
  'skew',
  'valset',
  'byz-equivocate',
  'byz-invalid',
  'byz-withhold',
  'byz-garbage',
  'chaos',
] as const
export type Fault = (typeof FAULTS)[number]
export type ByzBehaviour = 'equivocate' | 'invalid' | 'withhold' | 'garbage'

/** The mixes `--seeds N` cycles through when no --faults is given. */
export const MIXES: readonly (readonly Fault[])[] = [
  ['none'],
  ['lossy'],
  ['partition'],
  ['crash'],
  ['restart-all'],
  ['skew', 'lossy'],
  ['valset', 'lossy'],
  ['byz-equivocate'],
  ['byz-equivocate', 'partition'],
  ['byz-invalid', 'lossy'],
  ['byz-withhold', 'crash'],
  ['byz-garbage', 'skew'],
  ['chaos'],
]

export interface Scenario {
  seed: number
  validators: number
  heights: number
  faults: Fault[]
  /** Node ids of byzantine validators and what they do (at most f, power 1 each: < 1/3 of the power). */
  byzantine: { node: number; behaviour: ByzBehaviour }[]
  powers: bigint[]
  /** Message delay before GST: uniform [min, max] ms, plus a 5% tail up to 5 * max. */
  delayMinMs: number
  delayMaxMs: number
  /** After GST every message arrives within this bound (the partial-synchrony Delta). */
  delayMaxAfterGstMs: number
  lossPerMille: number
  dupPerMille: number
  partitions: boolean
  crashes: boolean
  /** Every honest node crashes at the same moments (then restarts), repeatedly until GST. */
  restartsAll: boolean
  clockSkewMaxMs: number
  valsetChanges: boolean
  /** Global stabilisation time: network faults and crashes end here (crashed nodes restart). */
  gstMs: number
  timeouts: TimeoutParams
  blockIntervalMs: number
  gossipIntervalMs: number
  testOnlyDisableLockRule: boolean
  /** TEST ONLY: the shell does not save the locked and proposed blocks with the SignState (seeded bug). */
  testOnlyForgetBlocks: boolean
}

export interface ScenarioInput {
  seed: number
  validators?: number
  heights?: number
  faults?: Fault[]
  testOnlyDisableLockRule?: boolean
  testOnlyForgetBlocks?: boolean
}

export function parseFaults(s: string): Fault[] {
  const out = s.split(',').map((x) => x.trim())
  for (const f of out)
    if (!(FAULTS as readonly string[]).includes(f))
      throw new Error(`unknown fault "${f}"; known: ${FAULTS.join(', ')}`)
  return out as Fault[]
}

export function makeScenario(input: ScenarioInput): Scenario {
  const rng = new Prng(input.seed ^ 0x5ce7a210)
  // Always draw, then override: explicit values (as in a replay command) must not shift the stream.
  const drawnN = rng.range(4, 7)
  const drawnHeights = rng.range(5, 10)
  const n = input.validators ?? drawnN
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error('validators must be in [1, 200]')
  const heights = input.heights ?? drawnHeights
  const faults = input.faults ?? [...MIXES[input.seed % MIXES.length]]
  const has = (f: Fault) => faults.includes(f) || (faults.includes('chaos') && f !== 'none')
  const f = Math.floor((n - 1) / 3)
  const behaviours: ByzBehaviour[] = []
  for (const b of ['equivocate', 'invalid', 'withhold', 'garbage'] as const)
    if (faults.includes(`byz-${b}`)) behaviours.push(b)
  const byzantine: Scenario['byzantine'] = []
  if (faults.includes('chaos')) {
    for (let i = 0; i < f; i++)
      byzantine.push({ node: 0, behaviour: rng.pick(['equivocate', 'invalid', 'withhold', 'garbage']) })
  } else if (behaviours.length > 0) {
    for (let i = 0; i < f; i++) byzantine.push({ node: 0, behaviour: behaviours[i % behaviours.length] })
  }
  // Byzantine nodes are a random subset of the ids.
  const ids = Array.from({ length: n }, (_, i) => i)
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[ids[i], ids[j]] = [ids[j], ids[i]]
  }
  byzantine.forEach((b, i) => {
    b.node = ids[i]
  })
  const isByz = new Set(byzantine.map((b) => b.node))
  // Honest power 1..3, byzantine 1: faulty power stays below 1/3 even as honest powers change.
  const powers = ids.map((_, i) => (isByz.has(i) ? 1n : BigInt(has('valset') ? rng.range(1, 3) : 1)))
  const lossy = has('lossy')
  const faultsBeforeGst = faults.some((x) => x !== 'none' && !x.startsWith('byz-') && x !== 'valset')
  return {
    seed: input.seed,
    validators: n,
    heights,
    faults,
    byzantine,
    powers,
    delayMinMs: 1,
    delayMaxMs: lossy || has('partition') ? 120 : 30,
    delayMaxAfterGstMs: 30,
    lossPerMille: lossy ? rng.range(50, 250) : 0,
    dupPerMille: lossy ? rng.range(20, 100) : 0,
    partitions: has('partition'),
    crashes: has('crash'),
    restartsAll: has('restart-all'),
    clockSkewMaxMs: has('skew') ? 800 : 0,
    valsetChanges: has('valset'),
    gstMs: faultsBeforeGst ? rng.range(1500, 6000) : 0,
    timeouts: {
      proposeBaseMs: 300,
      proposeDeltaMs: 100,
      prevoteBaseMs: 150,
      prevoteDeltaMs: 50,
      precommitBaseMs: 150,
      precommitDeltaMs: 50,
    },
    blockIntervalMs: 100,
    gossipIntervalMs: 400,
    testOnlyDisableLockRule: input.testOnlyDisableLockRule === true,
    testOnlyForgetBlocks: input.testOnlyForgetBlocks === true,
  }
}

/** The one command that replays a scenario. */
export function replayCommand(s: Scenario): string {
  const bug =
    (s.testOnlyDisableLockRule ? ' --test-only-disable-lock-rule' : '') +
    (s.testOnlyForgetBlocks ? ' --test-only-forget-blocks' : '')
  return `npm run sim -- --seed ${s.seed} --validators ${s.validators} --heights ${s.heights} --faults ${s.faults.join(',')}${bug} --trace sim-trace-${s.seed}.log`
}
