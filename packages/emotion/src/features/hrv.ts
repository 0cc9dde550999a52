/**
 * RR-interval artifact correction and time-domain HRV (Task Force of the ESC/NASPE 1996, "Heart
 * rate variability: standards of measurement", Circulation 93:1043).
 *
 * Artifact rule (documented, parameterised):
 *  1. range: reject RR outside [minRrUs, maxRrUs] (default 300..2000 ms = 200..30 bpm);
 *  2. Malik criterion: reject RR that differs by more than maxChangePermille (default 200 = 20%)
 *     from the last *accepted* RR (so an ectopic beat and its compensatory pause are both dropped);
 *  3. after `resetAfter` consecutive rejections (default 5) the reference is reset to the current
 *     beat, so a genuine step change in heart rate does not lock the filter out.
 * Successive differences (RMSSD, pNN50) use only pairs that were adjacent in the original series and
 * both accepted (joining the neighbours of a removed beat would invent a difference).
 *
 * Outputs (integers, half-up rounded): HR = 60e6 · n / ΣRR in centi-bpm; RMSSD = sqrt(mean(d²));
 * SDNN = sqrt(Σ(RR − mean)² / (n − 1)) computed exactly as (nΣx² − (Σx)²) / (n(n − 1)); pNN50 =
 * share of |d| > 50 ms in basis points.
 */
import { roundDiv, roundSqrtRatio } from '../math/int.ts'

export interface RrArtifactParams {
  minRrUs: number
  maxRrUs: number
  maxChangePermille: number
  resetAfter: number
}

export const DEFAULT_RR_ARTIFACT: RrArtifactParams = {
  minRrUs: 300_000,
  maxRrUs: 2_000_000,
  maxChangePermille: 200,
  resetAfter: 5,
}

export interface CleanRr {
  /** 1 = accepted, 0 = rejected, per input beat. */
  readonly accepted: Uint8Array
  readonly acceptedCount: number
  readonly rejectedCount: number
}

export function cleanRr(rrUs: readonly number[], p: RrArtifactParams = DEFAULT_RR_ARTIFACT): CleanRr {
  const accepted = new Uint8Array(rrUs.length)
  let ref = -1
  let run = 0
  let acceptedCount = 0
  for (let i = 0; i < rrUs.length; i++) {
    const rr = rrUs[i]
    if (!Number.isSafeInteger(rr) || rr < p.minRrUs || rr > p.maxRrUs) {
      run += 1
      continue
    }
    // |rr - ref| / ref > max  <=>  1000·|rr - ref| > max · ref  (exact integers)
    const ok = ref < 0 || 1000 * Math.abs(rr - ref) <= p.maxChangePermille * ref
    if (ok || run >= p.resetAfter) {
      accepted[i] = 1
      acceptedCount += 1
      ref = rr
      run = 0
    } else run += 1
  }
  return { accepted, acceptedCount, rejectedCount: rrUs.length - acceptedCount }
}

export interface HrvFeatures {
  readonly beats: number
  readonly rejected: number
  /** Successive-difference pairs used for RMSSD/pNN50. */
  readonly pairs: number
  readonly meanRrUs: number
  readonly hrCentiBpm: number
  readonly rmssdUs: number
  readonly sdnnUs: number
  readonly pnn50Bp: number
  /** Accepted RR in order (input of sample entropy). */
  readonly acceptedRrUs: readonly number[]
}

export function hrvFeatures(rrUs: readonly number[], p: RrArtifactParams = DEFAULT_RR_ARTIFACT): HrvFeatures {
  const c = cleanRr(rrUs, p)
  const acc: number[] = []
  let sum = 0
  let sumSq = 0n
  let pairs = 0
  let dSq = 0n
  let nn50 = 0
  for (let i = 0; i < rrUs.length; i++) {
    if (!c.accepted[i]) continue
    const x = rrUs[i]
    acc.push(x)
    sum += x
    sumSq += BigInt(x) * BigInt(x)
    if (i > 0 && c.accepted[i - 1]) {
      const d = x - rrUs[i - 1]
      pairs += 1
      dSq += BigInt(d) * BigInt(d)
      if (Math.abs(d) > 50_000) nn50 += 1
    }
  }
  const n = acc.length
  const meanRrUs = n > 0 ? roundDiv(sum, n) : 0
  const hrCentiBpm = n > 0 ? roundDiv(6_000_000_000 * n, sum) : 0
  const rmssdUs = pairs > 0 ? Number(roundSqrtRatio(dSq, BigInt(pairs))) : 0
  const N = BigInt(n)
  const sdnnUs = n > 1 ? Number(roundSqrtRatio(N * sumSq - BigInt(sum) * BigInt(sum), N * (N - 1n))) : 0
  const pnn50Bp = pairs > 0 ? roundDiv(10_000 * nn50, pairs) : 0
  return {
    beats: n,
    rejected: c.rejectedCount,
    pairs,
    meanRrUs,
    hrCentiBpm,
    rmssdUs,
    sdnnUs,
    pnn50Bp,
    acceptedRrUs: acc,
  }
}
