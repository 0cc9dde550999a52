/**
 * Validator sets and weighted round-robin proposer selection, ported from CometBFT
 * (types/validator_set.go; spec/consensus/proposer-selection.md) so both give the same proposer for
 * the same set: priorities grow by voting power each run, the highest priority proposes and drops
 * by the total power; before each run priorities are rescaled to a window of 2 * total power and
 * centred on zero; new validators start at -1.125 * total; ties go to the smaller address; all
 * arithmetic is int64 with clipping (here: bigint clipped to the int64 range).
 * Sets are immutable values: every operation returns a new set.
 */
import { compareBytes, toHex } from '@pulsemesh/core/bytes.ts'
import { ConsensusError } from './errors.ts'

export interface ConsensusValidator {
  /** Identity used for ordering and tie-breaks (e.g. first 20 bytes of sha256(publicKey)). */
  readonly address: Uint8Array
  /** Consensus key (ed25519). */
  readonly publicKey: Uint8Array
  readonly votingPower: bigint
  readonly proposerPriority: bigint
}

export interface ValidatorSet {
  /** Sorted by voting power (descending), then address (ascending): the vote index order. */
  readonly validators: readonly ConsensusValidator[]
  /** Index of the proposer of round 0. */
  readonly proposerIndex: number
  readonly totalVotingPower: bigint
}

export interface ValidatorChange {
  address: Uint8Array
  publicKey: Uint8Array
  /** 0 removes the validator. */
  votingPower: bigint
}

const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)
/** CometBFT MaxTotalVotingPower: small enough that priorities never clip in practice. */
export const MAX_TOTAL_VOTING_POWER = INT64_MAX / 8n
/** Maximum distance between priorities, in multiples of the total power. */
const PRIORITY_WINDOW_SIZE_FACTOR = 2n

interface MutVal {
  address: Uint8Array
  publicKey: Uint8Array
  votingPower: bigint
  proposerPriority: bigint
}

const clip = (x: bigint): bigint => (x > INT64_MAX ? INT64_MAX : x < INT64_MIN ? INT64_MIN : x)

/** Euclidean/floor division by a positive divisor, as Go's big.Int.Div (used for the average). */
function floorDiv(a: bigint, n: bigint): bigint {
  const q = a / n
  return a % n !== 0n && a < 0n ? q - 1n : q
}

/** Sum of voting power; -1n if any step exceeds MAX_TOTAL_VOTING_POWER. */
function totalPower(vals: readonly { votingPower: bigint }[]): bigint {
  let sum = 0n
  for (const v of vals) {
    sum = clip(sum + v.votingPower)
    if (sum > MAX_TOTAL_VOTING_POWER) return -1n
  }
  return sum
}

/** Higher priority wins; on a tie the smaller address (CometBFT Validator.CompareProposerPriority). */
function morePriority(a: MutVal, b: MutVal): MutVal {
  if (a.proposerPriority > b.proposerPriority) return a
  if (a.proposerPriority < b.proposerPriority) return b
  return compareBytes(a.address, b.address) <= 0 ? a : b
}

function rescalePriorities(vals: MutVal[], diffMax: bigint): void {
  if (diffMax <= 0n) return
  let max = INT64_MIN
  let min = INT64_MAX
  for (const v of vals) {
    if (v.proposerPriority < min) min = v.proposerPriority
    if (v.proposerPriority > max) max = v.proposerPriority
  }
  const diff = max - min
  const ratio = (diff + diffMax - 1n) / diffMax
  // Go's int64 division truncates toward zero, as bigint division does.
  if (diff > diffMax) for (const v of vals) v.proposerPriority = v.proposerPriority / ratio
}

function shiftByAvgProposerPriority(vals: MutVal[]): void {
  let sum = 0n
  for (const v of vals) sum += v.proposerPriority
  const avg = floorDiv(sum, BigInt(vals.length))
  for (const v of vals) v.proposerPriority = clip(v.proposerPriority - avg)
}

function incrementOnce(vals: MutVal[], total: bigint): number {
  for (const v of vals) v.proposerPriority = clip(v.proposerPriority + v.votingPower)
  let best = 0
  for (let i = 1; i < vals.length; i++) if (morePriority(vals[best], vals[i]) !== vals[best]) best = i
  vals[best].proposerPriority = clip(vals[best].proposerPriority - total)
  return best
}

const copyVals = (vals: readonly ConsensusValidator[]): MutVal[] => vals.map((v) => ({ ...v }))

function freeze(vals: MutVal[], proposerIndex: number, total: bigint): ValidatorSet {
  return Object.freeze({
    validators: Object.freeze(vals.map((v) => Object.freeze(v) as ConsensusValidator)),
    proposerIndex,
    totalVotingPower: total,
  })
}

function findProposer(vals: MutVal[]): number {
  let best = 0
  for (let i = 1; i < vals.length; i++) if (morePriority(vals[best], vals[i]) !== vals[best]) best = i
  return best
}

/**
 * Increment priorities `times` runs (CometBFT IncrementProposerPriority): the proposer of round r at a
 * height is `incrementProposerPriority(set, r).proposerIndex` (round 0: the set's own proposer).
 */
export function incrementProposerPriority(set: ValidatorSet, times: number): ValidatorSet {
  if (set.validators.length === 0) throw new ConsensusError('VALSET_EMPTY', 'empty validator set')
  if (!Number.isSafeInteger(times) || times <= 0)
    throw new ConsensusError('VALSET_BAD_TIMES', 'times must be a positive integer', { times })
  const vals = copyVals(set.validators)
  const total = set.totalVotingPower
  rescalePriorities(vals, PRIORITY_WINDOW_SIZE_FACTOR * total)
  shiftByAvgProposerPriority(vals)
  let proposer = 0
  for (let i = 0; i < times; i++) proposer = incrementOnce(vals, total)
  return freeze(vals, proposer, total)
}

const byPowerThenAddress = (a: MutVal, b: MutVal): number =>
  a.votingPower === b.votingPower
    ? compareBytes(a.address, b.address)
    : a.votingPower > b.votingPower
      ? -1
      : 1

/**
 * Apply additions, power updates and removals (power 0) to a set (CometBFT updateWithChangeSet):
 * new validators start at -1.125 * (total after updates, before removals); then rescale and centre.
 * The returned set's proposer is the highest priority (call advanceValidatorSet for a new height).
 */
export function applyValidatorChanges(
  set: ValidatorSet | null,
  changes: readonly ValidatorChange[],
  allowRemovals = true,
): ValidatorSet {
  const existing = set ? copyVals(set.validators) : []
  if (changes.length === 0) {
    if (existing.length === 0) throw new ConsensusError('VALSET_EMPTY', 'validator set would be empty')
    return freeze(existing, findProposer(existing), set!.totalVotingPower)
  }
  const sorted = [...changes].sort((a, b) => compareBytes(a.address, b.address))
  const byAddr = new Map(existing.map((v) => [toHex(v.address), v]))
  const updates: MutVal[] = []
  const removals: string[] = []
  let prev: Uint8Array | null = null
  for (const c of sorted) {
    if (prev && compareBytes(prev, c.address) === 0)
      throw new ConsensusError('VALSET_DUPLICATE_ADDRESS', 'duplicate address in changes', {
        address: toHex(c.address),
      })
    prev = c.address
    if (typeof c.votingPower !== 'bigint' || c.votingPower < 0n || c.votingPower > MAX_TOTAL_VOTING_POWER)
      throw new ConsensusError(
        'VALSET_BAD_POWER',
        'voting power must be a bigint in [0, MAX_TOTAL_VOTING_POWER]',
        {
          address: toHex(c.address),
        },
      )
    if (c.votingPower === 0n) {
      if (!allowRemovals)
        throw new ConsensusError('VALSET_BAD_POWER', 'a new set cannot contain zero-power validators', {
          address: toHex(c.address),
        })
      if (!byAddr.has(toHex(c.address)))
        throw new ConsensusError('VALSET_UNKNOWN_REMOVAL', 'cannot remove a validator not in the set', {
          address: toHex(c.address),
        })
      removals.push(toHex(c.address))
    } else {
      updates.push({
        address: c.address,
        publicKey: c.publicKey,
        votingPower: c.votingPower,
        proposerPriority: 0n,
      })
    }
  }
  const isNew = (u: MutVal) => !byAddr.has(toHex(u.address))
  if (updates.filter(isNew).length === 0 && removals.length === existing.length)
    throw new ConsensusError('VALSET_EMPTY', 'applying the changes would empty the set')
  // Total after updates, before removals (verifyUpdates): overflow-checked in increasing-delta order.
  let removedPower = 0n
  for (const r of removals) removedPower += byAddr.get(r)!.votingPower
  const delta = (u: MutVal) => u.votingPower - (byAddr.get(toHex(u.address))?.votingPower ?? 0n)
  let tvp = (set ? set.totalVotingPower : 0n) - removedPower
  for (const u of [...updates].sort((a, b) => (delta(a) < delta(b) ? -1 : delta(a) > delta(b) ? 1 : 0))) {
    tvp += delta(u)
    if (tvp > MAX_TOTAL_VOTING_POWER)
      throw new ConsensusError('VALSET_POWER_OVERFLOW', 'total voting power would exceed the maximum')
  }
  const tvpBeforeRemovals = tvp + removedPower
  for (const u of updates) {
    const old = byAddr.get(toHex(u.address))
    u.proposerPriority = old ? old.proposerPriority : -(tvpBeforeRemovals + (tvpBeforeRemovals >> 3n))
  }
  const merged = new Map(existing.map((v) => [toHex(v.address), v]))
  for (const u of updates) merged.set(toHex(u.address), u)
  for (const r of removals) merged.delete(r)
  const vals = [...merged.values()]
  const total = totalPower(vals)
  if (total < 0n) throw new ConsensusError('VALSET_POWER_OVERFLOW', 'total voting power exceeds the maximum')
  rescalePriorities(vals, PRIORITY_WINDOW_SIZE_FACTOR * total)
  shiftByAvgProposerPriority(vals)
  vals.sort(byPowerThenAddress)
  return freeze(vals, findProposer(vals), total)
}

/** A genesis set (CometBFT NewValidatorSet): all validators new, then one increment. */
export function createValidatorSet(validators: readonly Omit<ValidatorChange, never>[]): ValidatorSet {
  if (validators.length === 0) throw new ConsensusError('VALSET_EMPTY', 'empty validator set')
  return incrementProposerPriority(applyValidatorChanges(null, validators, false), 1)
}

/**
 * The set for the next height (CometBFT state.updateState): apply the changes the application
 * returned, then one increment so round 0 has a fresh proposer.
 */
export function advanceValidatorSet(
  set: ValidatorSet,
  changes: readonly ValidatorChange[] = [],
): ValidatorSet {
  return incrementProposerPriority(changes.length > 0 ? applyValidatorChanges(set, changes) : set, 1)
}

/**
 * Rebuild a set from stored validators exactly as given (order and priorities kept), e.g. after
 * loading. Pass the stored `proposerIndex`: the proposer of a set made by an increment is NOT the
 * highest priority any more (its priority just dropped by the total power), so it cannot be
 * recomputed from the priorities; CometBFT stores it too (ValidatorSet.proposer). Without it the
 * highest priority is taken, which is right only for sets no increment produced (CometBFT vectors).
 */
export function validatorSetFromParts(
  validators: readonly ConsensusValidator[],
  proposerIndex?: number,
): ValidatorSet {
  if (validators.length === 0) throw new ConsensusError('VALSET_EMPTY', 'empty validator set')
  if (
    proposerIndex !== undefined &&
    !(Number.isSafeInteger(proposerIndex) && proposerIndex >= 0 && proposerIndex < validators.length)
  )
    throw new ConsensusError('VALSET_BAD_PROPOSER', 'proposer index outside the set', { proposerIndex })
  const vals = copyVals(validators)
  let total = 0n
  for (const v of vals) total = clip(total + v.votingPower)
  return freeze(vals, proposerIndex ?? findProposer(vals), total)
}

/** Proposer index for `round` at this set's height. */
export function proposerIndexForRound(set: ValidatorSet, round: number): number {
  return round === 0 ? set.proposerIndex : incrementProposerPriority(set, round).proposerIndex
}

const indexCache = new WeakMap<ValidatorSet, Map<string, number>>()
/** Vote index of `address` in the set, or -1. */
export function indexOfAddress(set: ValidatorSet, address: Uint8Array): number {
  let m = indexCache.get(set)
  if (!m) {
    m = new Map(set.validators.map((v, i) => [toHex(v.address), i]))
    indexCache.set(set, m)
  }
  return m.get(toHex(address)) ?? -1
}

/** Strictly more than 2/3 of the total power: 3 * power > 2 * total. */
export const hasTwoThirds = (power: bigint, total: bigint): boolean => power * 3n > total * 2n
/** Strictly more than 1/3 of the total power (the paper's f + 1): 3 * power > total. */
export const hasOneThird = (power: bigint, total: bigint): boolean => power * 3n > total
