/**
 * Deterministic tx and block execution (the functional core of a network's state machine).
 *
 * A tx passes two gates:
 *  - ante (network, expiry, nonce, fee): failing it makes the tx INVALID — the mempool refuses it,
 *    a block builder skips it, and a block that contains it is invalid;
 *  - execution by its module: failing it makes the tx FAILED — it stays in the block, its fee is
 *    paid and its nonce used, every other write it made is discarded.
 * Signatures are checked before this (on worker threads, once per tx); `verifySignatures` makes
 * the executor check them inline for callers without a pool (tests, simulator, light replays).
 */
import {
  type ChainEvent,
  DecodeError,
  decodeTx,
  isPulseError,
  type SignedTx,
  type TxResult,
  toHex,
  equalBytes,
  txHash,
  txSignBytes,
  verify,
} from '@pulsemesh/core'
import { accountIdOf } from './accounts.ts'
import { TxError } from './errors.ts'
import type { ChainParams, Genesis } from './genesis.ts'
import type { AppModule, BlockContext, QueryContext, TxContext, TxKind } from './module.ts'
import { bankModule } from './modules/bank/index.ts'
import { getBalance, getNonce, setNonce, transfer } from './modules/bank/ledger.ts'
import { type KVStore, Overlay } from './state/kv.ts'
import { PulseError } from '@pulsemesh/core'

/** A tx decoded once and carried through mempool, block building and execution. */
export interface DecodedTx {
  bytes: Uint8Array
  tx: SignedTx
  hash: Uint8Array
  hashHex: string
  /** 20-byte account id of the signer. */
  sender: Uint8Array
  /** The decoded payload, cached by the first stateless check. */
  payload?: unknown
}

/** `hash`: the caller's txHash(bytes) if it already computed it (a block's txs are looked up by hash first). */
export function decodeTxBytes(bytes: Uint8Array, hash?: Uint8Array, hashHex?: string): DecodedTx {
  const tx = decodeTx(bytes)
  const h = hash ?? txHash(bytes)
  return { bytes, tx, hash: h, hashHex: hashHex ?? toHex(h), sender: accountIdOf(tx.body.sender) }
}

export function verifyTxSignature(d: DecodedTx): boolean {
  return verify(d.tx.body.sender, txSignBytes(d.tx.body), d.tx.signature)
}

export class BlockInvalidError extends PulseError<'BLOCK_INVALID'> {
  constructor(message: string, meta: Record<string, unknown> = {}) {
    super('BLOCK_INVALID', message, meta)
  }
}

/** A change of one validator's voting power (0 = removed), keyed by its consensus key. */
export interface ValidatorUpdate {
  publicKey: Uint8Array
  power: bigint
}

/** What consensus tells the application at the start of a block (ABCI BeginBlock / FinalizeBlock). */
export interface BeginBlockInfo {
  /** Each validator of the previous block's set and whether its precommit is in this block's lastCommit. */
  lastCommitVotes: { consensusKey: Uint8Array; signed: boolean }[]
  /** Verified duplicate-vote evidence included in this block. */
  misbehaviour: { consensusKey: Uint8Array; height: bigint; kind: 'duplicate-vote' }[]
}

/** Optional hooks of modules that take part in consensus (staking). */
export interface ConsensusHooks {
  beginBlock?(store: KVStore, ctx: BlockContext, info: BeginBlockInfo, emit: (e: ChainEvent) => void): void
  /** Called after every endBlock; the changes apply to the set that signs from height H+2. */
  validatorUpdates?(store: KVStore, ctx: BlockContext): ValidatorUpdate[]
}

export interface ExecuteOptions {
  /** 'build': skip invalid txs (proposer); 'validate': any invalid tx rejects the block. */
  mode: 'build' | 'validate'
  verifySignatures: boolean
  /** Consensus information for modules' beginBlock hooks (none: an empty one). */
  beginBlock?: BeginBlockInfo
}
export interface BlockExecution {
  included: DecodedTx[]
  results: TxResult[]
  /** Txs skipped while building, with why (the mempool evicts them). */
  rejected: { tx: DecodedTx; error: TxError }[]
  /** Events of the block's end (module endBlock hooks; beginBlock events come first). */
  endEvents: ChainEvent[]
  /** Validator-set changes returned by modules at the end of this block (effective at H+2). */
  validatorUpdates: ValidatorUpdate[]
}

export class App {
  readonly params: ChainParams
  readonly modules: AppModule[]
  // biome-ignore lint/suspicious/noExplicitAny: payload types vary per kind
  private readonly kinds = new Map<number, TxKind<any>>()

  constructor(params: ChainParams, modules: AppModule[] = [bankModule]) {
    this.params = params
    this.modules = modules
    const prefixes = new Set<number>()
    for (const m of modules) {
      if (prefixes.has(m.prefix)) throw new Error(`module ${m.name}: prefix ${m.prefix} already taken`)
      prefixes.add(m.prefix)
      for (const k of m.txKinds) {
        if (this.kinds.has(k.kind)) throw new Error(`tx kind ${k.kind} registered twice`)
        this.kinds.set(k.kind, k)
      }
    }
  }

  initGenesis(store: KVStore, genesis: Genesis): void {
    for (const m of this.modules) m.initGenesis?.(store, genesis)
  }

  txKind(kind: number) {
    return this.kinds.get(kind)
  }

  /** Checks that need no state: network, kind, payload shape, fee floor. */
  checkStateless(d: DecodedTx): void {
    const b = d.tx.body
    if (b.networkId !== this.params.networkId) {
      throw new TxError('WRONG_NETWORK', `tx is for network ${b.networkId}, this is ${this.params.networkId}`)
    }
    const kind = this.kinds.get(b.kind)
    if (kind === undefined) throw new TxError('UNKNOWN_TX_KIND', `unknown tx kind 0x${b.kind.toString(16)}`)
    if (d.payload === undefined) d.payload = decodePayload(kind, b.payload)
    if (b.fee < this.params.minFee) {
      throw new TxError('FEE_TOO_LOW', `fee ${b.fee} is below the minimum ${this.params.minFee}`, {
        minFee: this.params.minFee.toString(),
      })
    }
  }

  /**
   * The ante gate against current state: expiry, nonce, fee funds. Charges the fee (to the block
   * proposer's account) and bumps the nonce in `store`.
   */
  ante(store: KVStore, d: DecodedTx, ctx: BlockContext): void {
    const b = d.tx.body
    if (ctx.height > b.expiresAt) {
      throw new TxError('TX_EXPIRED', `tx expired at height ${b.expiresAt}`, {
        expiresAt: b.expiresAt.toString(),
      })
    }
    const expected = getNonce(store, d.sender)
    if (b.nonce < expected) {
      throw new TxError('NONCE_REUSED', `nonce ${b.nonce} already used; next is ${expected}`, {
        expected: expected.toString(),
      })
    }
    if (b.nonce > expected) {
      throw new TxError('NONCE_GAP', `nonce ${b.nonce} skips ahead; next is ${expected}`, {
        expected: expected.toString(),
      })
    }
    if (b.fee > 0n) {
      const have = getBalance(store, d.sender, this.params.feeAsset)
      if (have < b.fee) {
        throw new TxError(
          'INSUFFICIENT_FEE_FUNDS',
          `fee ${b.fee} exceeds balance ${have} ${this.params.feeAsset}`,
        )
      }
      const collector = this.collectorOf(ctx.proposer)
      if (!equalBytes(collector, d.sender)) transfer(store, d.sender, collector, this.params.feeAsset, b.fee)
    }
    setNonce(store, d.sender, expected + 1n)
  }

  /** The fee collector's account id, remembered for the last proposer key (one per block). */
  private collectorOf(proposer: Uint8Array): Uint8Array {
    const c = this.lastCollector
    if (c !== undefined && equalBytes(c.key, proposer)) return c.id
    const id = accountIdOf({ scheme: 'ed25519', bytes: proposer })
    this.lastCollector = { key: proposer.slice(), id }
    return id
  }
  private lastCollector: { key: Uint8Array; id: Uint8Array } | undefined

  /**
   * Runs one tx on `store` (normally a block overlay). Throws TxError if the tx is invalid (ante);
   * returns a failed TxResult if its execution fails.
   */
  applyTx(store: KVStore, d: DecodedTx, ctx: BlockContext, verifySignature: boolean): TxResult {
    if (verifySignature && !verifyTxSignature(d))
      throw new TxError('BAD_SIGNATURE', 'signature does not verify')
    this.checkStateless(d)
    // No overlay needed: ante makes every check before its first write, and its writes (fee transfer
    // after the balance check, nonce) cannot fail.
    this.ante(store, d, ctx)
    const kind = this.kinds.get(d.tx.body.kind)!
    const payload = d.payload
    const events: ChainEvent[] = []
    const txStore = new Overlay(store)
    const txCtx: TxContext = {
      ...ctx,
      sender: d.sender,
      senderKey: d.tx.body.sender,
      txHash: d.hashHex,
      emit: (e) => events.push(e),
    }
    try {
      kind.execute(txStore, txCtx, payload)
    } catch (e) {
      txStore.discard()
      if (e instanceof TxError) return { error: e.code, events: [] }
      throw e // a bug, not a tx failure: never swallow it into consensus state
    }
    txStore.commit()
    return { error: '', events }
  }

  /** Executes txs in order into `store` (a block overlay), then the modules' end-of-block hooks. */
  executeBlock(store: KVStore, txs: DecodedTx[], ctx: BlockContext, opts: ExecuteOptions): BlockExecution {
    const out: BlockExecution = {
      included: [],
      results: [],
      rejected: [],
      endEvents: [],
      validatorUpdates: [],
    }
    const info = opts.beginBlock ?? { lastCommitVotes: [], misbehaviour: [] }
    for (const m of this.modules as (AppModule & ConsensusHooks)[])
      m.beginBlock?.(store, ctx, info, (e) => out.endEvents.push(e))
    for (const d of txs) {
      try {
        out.results.push(this.applyTx(store, d, ctx, opts.verifySignatures))
        out.included.push(d)
      } catch (e) {
        if (!(e instanceof TxError)) throw e
        if (opts.mode === 'validate') {
          throw new BlockInvalidError(`block contains an invalid tx ${d.hashHex}: ${e.code}`, {
            tx: d.hashHex,
            code: e.code,
          })
        }
        out.rejected.push({ tx: d, error: e })
      }
    }
    for (const m of this.modules) m.endBlock?.(store, ctx, (e) => out.endEvents.push(e))
    for (const m of this.modules as (AppModule & ConsensusHooks)[]) {
      const u = m.validatorUpdates?.(store, ctx)
      if (u) out.validatorUpdates.push(...u)
    }
    return out
  }

  /** Read-only query routed to a module: `query(store, 'bank', 'balance', {address})`. */
  query(
    store: KVStore,
    module: string,
    name: string,
    args: Record<string, string>,
    ctx: QueryContext,
  ): unknown {
    const m = this.modules.find((x) => x.name === module)
    const q = m?.queries?.[name]
    if (q === undefined) throw new PulseError('UNKNOWN_QUERY', `unknown query ${module}/${name}`)
    return q(store, args, ctx)
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see above
function decodePayload(kind: TxKind<any>, payload: Uint8Array): unknown {
  try {
    const p = kind.decode(payload)
    // Canonical payloads only: the same tx must have one encoding.
    const again = kind.encode(p)
    if (!equalBytes(again, payload)) throw new Error('non-canonical')
    return p
  } catch (e) {
    if (e instanceof TxError) throw e
    const why = e instanceof DecodeError || e instanceof Error ? e.message : String(e)
    throw new TxError('MALFORMED_PAYLOAD', `payload of ${kind.name} does not decode: ${why}`)
  }
}

export { isPulseError }
