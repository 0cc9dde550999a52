/**
 * A light client for browsers and scripts: trust is pinned once (a certified header and its
 * validator set, from genesis or a checkpoint) and every later header is accepted only through a
 * chain of certificates from it: the same set, the set the previous header announced
 * (nextValidatorsHash), or a set > 1/3 of the trusted power signed (skipping verification,
 * bisecting through intermediate headers fetched from the node when a jump is too large).
 * Tx and account proofs are then checked against the set this client tracks, never against the
 * set a response carries. Same rules as the on-chain client (@pulsemesh/app mesh/client.ts).
 */
import { verifyCommit, verifyCommitTrusting } from '@pulsemesh/consensus/commit.ts'
import {
  blockHash,
  decodeHeader,
  encodeValidator,
  fromHex,
  type Header,
  merkleRoot,
  PulseError,
  toHex,
  verify,
  voteSignBytes,
  decodeCommit,
} from '@pulsemesh/core'
import { validatorSetOf, type ValidatorSet } from '@pulsemesh/app'
import {
  type AccountProofResponse,
  ProofError,
  type TxProofResponse,
  type ValidatorJson,
  verifyAccountProof,
  verifyTxProof,
} from './verify.ts'

/** A header this client accepted, with the set that certified it. JSON-safe (stored as is). */
export interface TrustedCheckpoint {
  networkId: string
  height: string
  hash: string
  timeMs: string
  validatorsHash: string
  nextValidatorsHash: string
  validators: ValidatorJson[]
}
export interface LightState {
  /** The root of trust: nothing below it is verified. */
  pin: TrustedCheckpoint
  /** Accepted checkpoints, ascending by height, the pin first (bounded by `maxCheckpoints`). */
  checkpoints: TrustedCheckpoint[]
}
export interface CertifiedJson {
  header: string
  commit: string
  validators: ValidatorJson[]
}

/** The validator set a response carries is not reachable from the pinned trust. */
export class UntrustedError extends PulseError<'VALIDATORS_UNTRUSTED'> {
  constructor(message: string) {
    super('VALIDATORS_UNTRUSTED', message)
  }
}

const setOf = (vs: ValidatorJson[]): ValidatorSet =>
  validatorSetOf(vs.map((v) => ({ publicKey: fromHex(v.publicKey), power: BigInt(v.power) })))

/** The header's validatorsHash of a set (same ordering and encoding as the node's). */
export function validatorsHash(vs: ValidatorJson[]): string {
  const set = setOf(vs)
  return toHex(
    merkleRoot(
      set.validators.map((v) => encodeValidator({ publicKey: v.publicKey, votingPower: v.votingPower })),
    ),
  )
}

const verifier = (networkId: string) => ({
  voteSignBytes: (v: Parameters<typeof voteSignBytes>[1]) => voteSignBytes(networkId, v),
  verify: (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) =>
    verify({ scheme: 'ed25519', bytes: pk }, msg, sig),
})

/** Decodes and checks that > 2/3 of the header's own set (which must hash to validatorsHash) signed it. */
function selfCertified(
  networkId: string,
  c: CertifiedJson,
): { header: Header; hash: Uint8Array; vhash: string } {
  let header: Header
  let commit: ReturnType<typeof decodeCommit>
  try {
    header = decodeHeader(fromHex(c.header))
    commit = decodeCommit(fromHex(c.commit))
  } catch (e) {
    throw new ProofError(`undecodable header or commit: ${(e as Error).message}`)
  }
  if (header.networkId !== networkId)
    throw new ProofError(`header is of ${header.networkId}, expected ${networkId}`)
  const vhash = validatorsHash(c.validators)
  if (vhash !== toHex(header.validatorsHash))
    throw new ProofError('validator set does not match the header validatorsHash')
  const hash = blockHash(header)
  try {
    verifyCommit(commit, setOf(c.validators), verifier(networkId), { height: header.height, blockHash: hash })
  } catch (e) {
    throw new ProofError(`commit certificate does not verify: ${(e as Error).message}`)
  }
  return { header, hash, vhash }
}

function checkpointOf(
  header: Header,
  hash: Uint8Array,
  vhash: string,
  validators: ValidatorJson[],
): TrustedCheckpoint {
  return {
    networkId: header.networkId,
    height: header.height.toString(),
    hash: toHex(hash),
    timeMs: header.timeMs.toString(),
    validatorsHash: vhash,
    nextValidatorsHash: toHex(header.nextValidatorsHash),
    validators: validators.map((v) => ({ publicKey: v.publicKey, power: v.power })),
  }
}

/** The root of trust: a header certified by its own set (trust on first use of the node's answer). */
export function pinCheckpoint(networkId: string, c: CertifiedJson): TrustedCheckpoint {
  const { header, hash, vhash } = selfCertified(networkId, c)
  return checkpointOf(header, hash, vhash, c.validators)
}

/**
 * One step from `trusted` to a newer certified header. Throws ProofError if the certificate is
 * invalid in itself, UntrustedError if it is valid but not enough of the trusted set vouches for it.
 */
export function verifyStep(trusted: TrustedCheckpoint, c: CertifiedJson): TrustedCheckpoint {
  const { header, hash, vhash } = selfCertified(trusted.networkId, c)
  const from = BigInt(trusted.height)
  if (header.height === from) {
    if (toHex(hash) !== trusted.hash) throw new UntrustedError(`a second header at trusted height ${from}`)
    return trusted
  }
  if (header.height < from) throw new UntrustedError(`header ${header.height} is below trusted ${from}`)
  if (header.timeMs <= BigInt(trusted.timeMs)) throw new ProofError('header time does not advance')
  const same = vhash === trusted.validatorsHash
  const announced = header.height === from + 1n && vhash === trusted.nextValidatorsHash
  if (!same && !announced) {
    try {
      verifyCommitTrusting(
        decodeCommit(fromHex(c.commit)),
        setOf(c.validators),
        setOf(trusted.validators),
        verifier(trusted.networkId),
      )
    } catch (e) {
      throw new UntrustedError(
        `not enough of the trusted validator set signed height ${header.height}: ${(e as Error).message}`,
      )
    }
  }
  return checkpointOf(header, hash, vhash, c.validators)
}

export interface LightClientOptions {
  /** Fetches the certified header at a height (e.g. PulseClient.checkpoint). */
  fetchCertified: (height: bigint) => Promise<CertifiedJson>
  /** Called whenever the state changes (persist it). */
  onChange?: (s: LightState) => void
  maxCheckpoints?: number
  /** Upper bound on headers fetched while bisecting one jump. */
  maxFetches?: number
}

export class LightClient {
  state: LightState
  readonly networkId: string
  private readonly opts: LightClientOptions
  constructor(state: LightState, opts: LightClientOptions) {
    this.state = state
    this.networkId = state.pin.networkId
    this.opts = opts
  }

  /** Pins `c` (trust on first use) as a new client's root of trust. */
  static pin(networkId: string, c: CertifiedJson, opts: LightClientOptions): LightClient {
    const pin = pinCheckpoint(networkId, c)
    const lc = new LightClient({ pin, checkpoints: [pin] }, opts)
    opts.onChange?.(lc.state)
    return lc
  }

  get latest(): TrustedCheckpoint {
    return this.state.checkpoints[this.state.checkpoints.length - 1]!
  }

  /**
   * Verifies the certified header `c` through a chain of certificates from the nearest accepted
   * checkpoint at or below its height, bisecting via headers from `fetchCertified` when one step
   * is not enough. Returns the accepted checkpoint (also recorded).
   */
  async verifyHeader(c: CertifiedJson): Promise<TrustedCheckpoint> {
    const height = decodeHeader(fromHex(c.header)).height
    if (height < BigInt(this.state.pin.height))
      throw new UntrustedError(`height ${height} is below the pinned checkpoint ${this.state.pin.height}`)
    let base = this.state.checkpoints[0]!
    for (const cp of this.state.checkpoints) if (BigInt(cp.height) <= height) base = cp
    const budget = { left: this.opts.maxFetches ?? 64 }
    const got = await this.reach(base, c, height, budget)
    this.record(got)
    return got
  }

  private async reach(
    from: TrustedCheckpoint,
    c: CertifiedJson,
    height: bigint,
    budget: { left: number },
  ): Promise<TrustedCheckpoint> {
    try {
      return verifyStep(from, c)
    } catch (e) {
      const lo = BigInt(from.height)
      if (!(e instanceof UntrustedError) || height - lo < 2n) throw e
      if (budget.left-- <= 0) throw new UntrustedError(`gave up bisecting ${lo} → ${height}`)
      const mid = lo + (height - lo) / 2n
      const midCert = await this.opts.fetchCertified(mid)
      const m = await this.reach(from, midCert, mid, budget)
      this.record(m)
      return this.reach(m, c, height, budget)
    }
  }

  private record(cp: TrustedCheckpoint) {
    const list = this.state.checkpoints
    if (list.some((x) => x.height === cp.height)) return
    const next = [...list, cp].sort((a, b) => (BigInt(a.height) < BigInt(b.height) ? -1 : 1))
    const max = this.opts.maxCheckpoints ?? 32
    // Keep the pin and the newest ones: the pin anchors everything, the newest are the usual bases.
    while (next.length > max) next.splice(1, 1)
    this.state = { pin: this.state.pin, checkpoints: next }
    this.opts.onChange?.(this.state)
  }

  /** Follows the chain to the node's latest header (`height`: where it is now). */
  async sync(latest: CertifiedJson): Promise<TrustedCheckpoint> {
    return this.verifyHeader(latest)
  }

  /** A tx inclusion proof, its header verified through this client's tracked validator sets. */
  async verifyTx(r: TxProofResponse): Promise<{ height: bigint; checkpoint: TrustedCheckpoint }> {
    const cp = await this.verifyHeader(r)
    const v = verifyTxProof(r)
    return { height: v.height, checkpoint: cp }
  }

  /** An account (state) proof, its header verified through this client's tracked validator sets. */
  async verifyAccount(
    r: AccountProofResponse,
  ): Promise<{ height: bigint; value: Uint8Array | null; checkpoint: TrustedCheckpoint }> {
    if (r.header === null) throw new ProofError('no block yet: nothing certifies the genesis state')
    const cp = await this.verifyHeader({ header: r.header, commit: r.commit, validators: r.validators })
    const v = verifyAccountProof(r)
    return { ...v, checkpoint: cp }
  }
}

/** Checks a stored state's shape (storage is user-writable: never trust its JSON blindly). */
export function parseLightState(json: unknown, networkId: string): LightState | undefined {
  const cp = (x: unknown): x is TrustedCheckpoint => {
    const o = x as TrustedCheckpoint
    return (
      typeof o === 'object' &&
      o !== null &&
      o.networkId === networkId &&
      /^[0-9]{1,20}$/.test(o.height) &&
      /^[0-9a-f]{64}$/.test(o.hash) &&
      /^[0-9a-f]{64}$/.test(o.validatorsHash) &&
      /^[0-9a-f]{64}$/.test(o.nextValidatorsHash) &&
      /^[0-9]{1,20}$/.test(o.timeMs) &&
      Array.isArray(o.validators) &&
      o.validators.length > 0 &&
      o.validators.every((v) => /^[0-9a-f]{64}$/.test(v?.publicKey) && /^[0-9]{1,30}$/.test(v?.power)) &&
      validatorsHash(o.validators) === o.validatorsHash
    )
  }
  const s = json as LightState
  if (typeof s !== 'object' || s === null || !cp(s.pin) || !Array.isArray(s.checkpoints)) return undefined
  if (s.checkpoints.length === 0 || !s.checkpoints.every(cp) || s.checkpoints[0]!.height !== s.pin.height)
    return undefined
  return s
}
