/**
 * The runtime of one network on this node: storage, state tree, mempool and (while this network
 * has a single validator) block production. Consensus with several validators plugs in through
 * the same `commitBlock` path.
 *
 * Concurrency: everything that changes the head (producing or committing a block) and every read
 * that must see one consistent head (proofs) runs under `this.lock`, a promise chain.
 */
import { EventEmitter } from 'node:events'
import {
  type App,
  type BeginBlockInfo,
  type DecodedTx,
  type ValidatorUpdate,
  validatorSetOf,
  decodeTxBytes,
  type Genesis,
  getBalance,
  getNonce,
  Overlay,
  TxError,
  accountIdOf,
  MemoryStore,
  keyBytes,
  balancePrefix,
  decodeU128,
} from '@pulsemesh/app'
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  decodeBlock,
  decodeCommit,
  decodeHeader,
  EMPTY_COMMIT,
  encodeBlock,
  encodeCommit,
  encodeTxResults,
  encodeValidator,
  type Header,
  merkleRoot,
  PulseError,
  sign,
  StateTree,
  toHex,
  txHash,
  txSignBytesFromEncoded,
  txSignPartsFromEncoded,
  VoteType,
  voteSignBytes,
  ZERO_HASH,
  fromUtf8,
  type TxResult,
  type ChainEvent,
  equalBytes,
  isPulseError,
  fromHex,
} from '@pulsemesh/core'
import { incrementProposerPriority, type ValidatorSet, validatorSetFromParts } from '@pulsemesh/consensus'
import { Mempool, type MempoolLimits } from '../mempool/mempool.ts'
import type { NetworkStore } from '../storage/chain-store.ts'
import { TRACE_DIR, trace } from '../consensus/trace.ts'
import { TreeStore } from './tree-store.ts'

/** Checks signatures off the main thread (the worker pool implements it). */
export interface SignatureVerifier {
  verify(job: {
    scheme: 'ed25519' | 'secp256k1'
    publicKey: Uint8Array
    msg: Uint8Array
    sig: Uint8Array
    /** Only sent to verifiers that set `acceptsMsgPrefix`: the signed message is msgPrefix || msg. */
    msgPrefix?: Uint8Array
  }): Promise<boolean>
  /** Set by verifiers that take a job's message in two pieces (VerifyPool): saves joining them per tx. */
  readonly acceptsMsgPrefix?: boolean
  /** Optional (VerifyPool): nothing queued or in flight. */
  readonly idle?: boolean
  /** Optional (VerifyPool): the same verdict as `verify`, on the calling thread. */
  verifySync?(job: Parameters<SignatureVerifier['verify']>[0]): boolean
}

/**
 * A request (or gossip batch) with at most this many txs to verify is checked on the main thread
 * when the pool is idle: at light load the worker round trip is the largest wait of admission,
 * the verify itself ~0.1 ms. Larger batches and a busy pool (saturation) keep the main thread free.
 */
const SYNC_VERIFY_MAX = 2

export interface ValidatorKey {
  /** 32-byte Ed25519 seed; never logged. */
  seed: Uint8Array
  publicKey: Uint8Array
}

export interface NetworkNodeOptions {
  app: App
  genesis: Genesis
  genesisJson: string
  store: NetworkStore
  verifyPool: SignatureVerifier
  /** The key this node signs blocks with, if it is the validator. */
  validatorKey?: ValidatorKey
  mempool?: Partial<MempoolLimits>
  /** Injected clock (ms since epoch) so tests can control block time. */
  now?: () => bigint
  /** A finality checkpoint every this many blocks (default 100). */
  checkpointInterval?: bigint
  /** Checkpoints trusted from outside (config, a peer you trust): conflicting blocks are refused. */
  trustedCheckpoints?: Checkpoint[]
}

/**
 * A finality checkpoint: block `height` (a multiple of the checkpoint interval), its hash and the
 * hash of the validator set that signed it, certified by > 2/3 of that set (`commit`, the block's
 * own certificate). Nothing at or below it is ever reconsidered; new nodes and light clients start here.
 */
export interface Checkpoint {
  height: bigint
  blockHash: Uint8Array
  validatorsHash: Uint8Array
  commit: Commit
}

/** Why this node stopped producing/committing blocks on a network (set once, never cleared in-process). */
export interface HaltStatus {
  halted: true
  reason: string
  height: bigint
}

export interface CommittedBlock {
  height: bigint
  hash: Uint8Array
  header: Header
  txHashes: string[]
  results: TxResult[]
}

/**
 * Encodes a validator set with its proposer priorities and its round-0 proposer (what CometBFT stores
 * per height): `{"validators":[[address, key, power, priority], ...],"proposer":i}`. The proposer must
 * be stored: after an increment it is not the highest priority, so a set loaded without it named
 * another proposer than the set it was saved from (a restarted node then disagreed with its peers on
 * who proposes the next heights, and refused their proposals).
 */
export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  return fromUtf8Inverse(
    JSON.stringify({
      validators: set.validators.map((v) => [
        toHex(v.address),
        toHex(v.publicKey),
        v.votingPower.toString(),
        v.proposerPriority.toString(),
      ]),
      proposer: set.proposerIndex,
    }),
  )
}
/** Decodes encodeValidatorSet output (also the older bare array, whose proposer is recomputed). */
export function decodeValidatorSet(b: Uint8Array): ValidatorSet {
  const parsed = JSON.parse(fromUtf8(b)) as
    | [string, string, string, string][]
    | { validators: [string, string, string, string][]; proposer: number }
  const rows = Array.isArray(parsed) ? parsed : parsed.validators
  return validatorSetFromParts(
    rows.map(([a, k, p, pr]) => ({
      address: fromHex(a),
      publicKey: fromHex(k),
      votingPower: BigInt(p),
      proposerPriority: BigInt(pr),
    })),
    Array.isArray(parsed) ? undefined : parsed.proposer,
  )
}
const fromUtf8Inverse = (s: string) => new TextEncoder().encode(s)

/** The header commitment to a validator set: Merkle root of its validators in vote-index order. */
export function validatorSetHash(set: ValidatorSet): Uint8Array {
  return merkleRoot(
    set.validators.map((v) => encodeValidator({ publicKey: v.publicKey, votingPower: v.votingPower })),
  )
}

export class NetworkError extends PulseError<
  | 'NOT_FOUND'
  | 'NOT_VALIDATOR'
  | 'STATE_MISMATCH'
  | 'GENESIS_MISMATCH'
  | 'BLOCK_INVALID'
  | 'HEAD_MOVED'
  | 'CHECKPOINT_CONFLICT'
  | 'HALTED'
> {}

/**
 * A block executed against the current head but not yet committed (proposed by us, or validated
 * from a peer): its state writes are kept so committing it does not execute it again.
 */
export interface PreparedBlock {
  block: Block
  hash: Uint8Array
  /** Hash of the head it was executed on top of; committing on another head is refused. */
  parentHash: Uint8Array
  included: DecodedTx[]
  results: TxResult[]
  encodedResults: Uint8Array[]
  writes: [string, Uint8Array | null][]
  endEvents: ChainEvent[]
  validatorUpdates: ValidatorUpdate[]
}

/** What consensus supplies when a block is built or validated (sets and the begin-block information). */
export interface ConsensusBlockInfo {
  validatorsHash: Uint8Array
  nextValidatorsHash: Uint8Array
  beginBlock: BeginBlockInfo
}

export class NetworkNode extends EventEmitter {
  readonly id: string
  readonly app: App
  readonly genesis: Genesis
  readonly store: NetworkStore
  readonly mempool: Mempool
  readonly tree: StateTree
  readonly state: TreeStore
  private readonly pool: SignatureVerifier
  private readonly key?: ValidatorKey
  private readonly now: () => bigint
  private head!: { height: bigint; hash: Uint8Array; header: Header | undefined; commit: Commit }
  private lock: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private producing = false
  private readonly setCache = new Map<bigint, ValidatorSet>()
  /** Signature checks already done, by tx hash: each tx is verified once (bounded). */
  private readonly verified = new Set<string>()
  /**
   * Signature checks running on the pool, by tx hash: a tx arriving by gossip while a proposal
   * carrying it is being validated (or twice by gossip) shares one verification.
   */
  private readonly verifying = new Map<string, Promise<boolean>>()
  readonly checkpointInterval: bigint
  private readonly trusted = new Map<bigint, Checkpoint>()
  private haltStatus: HaltStatus | undefined
  /**
   * Single-validator pipelining: the next block's txs executed (into an overlay, not the tree)
   * while the previous block's fsynced write ran; used if the head is still that block.
   */
  private nextExec:
    | { parentHash: Uint8Array; timeMs: bigint; overlay: Overlay; exec: ReturnType<App['executeBlock']> }
    | undefined
  /** Keys + values of the committed state in bytes (storage quotas count this, not entries). */
  private stateByteCount = 0
  /** Main-thread signature checks left in this synchronous run (see syncVerifyOk). */
  private syncVerifyLeft = SYNC_VERIFY_MAX
  /**
   * The last block this validator validated or built for head+1, left applied in the tree under an
   * open snapshot with its nodes hashed, so committing that block keeps it (`release`) instead of
   * reverting, re-applying and rehashing its writes. Reads through `state` still see the committed
   * values (TreeStore.hide); anything else that uses the tree reverts it first (`settle`). Memory
   * only: nothing is written before the commit, a restart just loses it.
   */
  private held:
    | {
        token: number
        hash: Uint8Array
        parentHash: Uint8Array
        /** The PreparedBlock's changeset (commitPrepared requires the same array). */
        writes: [string, Uint8Array | null][]
        /** The committed state's root (what `stateRoot()` answers while held). */
        baseRoot: Uint8Array
        /** Committed values of the written keys (null = absent), see TreeStore.hide. */
        committed: Map<string, Uint8Array | null>
      }
    | undefined
  /** Commits that kept the held block (`reused`) vs applied and hashed the writes again (`applied`). */
  readonly commitStats = { reused: 0, applied: 0 }

  private constructor(o: NetworkNodeOptions, tree: StateTree) {
    super()
    this.id = o.genesis.networkId
    this.app = o.app
    this.genesis = o.genesis
    this.store = o.store
    this.pool = o.verifyPool
    this.key = o.validatorKey
    this.now = o.now ?? (() => BigInt(Date.now()))
    this.mempool = new Mempool(o.mempool)
    this.tree = tree
    this.state = new TreeStore(tree)
    this.checkpointInterval = o.checkpointInterval ?? 100n
    if (this.checkpointInterval < 1n)
      throw new PulseError('CONFIG_INVALID', 'checkpointInterval must be >= 1')
    for (const c of o.trustedCheckpoints ?? []) this.trusted.set(c.height, c)
  }

  /** Bytes of the committed state (keys + values): what a per-network storage quota counts. */
  get stateBytes(): number {
    return this.stateByteCount
  }

  /** Opens (or initialises from genesis) a network and checks its state root against its head. */
  static async open(o: NetworkNodeOptions): Promise<NetworkNode> {
    const stored = await o.store.getGenesis()
    if (stored === undefined) {
      const mem = new MemoryStore()
      o.app.initGenesis(mem, o.genesis)
      const entries = [...mem.map.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([k, v]) => [keyBytes(k), v] as [Uint8Array, Uint8Array])
      await o.store.putGenesis(o.genesisJson, entries)
    } else if (stored !== o.genesisJson) {
      throw new NetworkError(
        'GENESIS_MISMATCH',
        `data dir holds a different genesis for network ${o.genesis.networkId}`,
      )
    }
    const entries: [Uint8Array, Uint8Array][] = []
    for await (const e of o.store.stateEntries()) entries.push(e)
    const tree = StateTree.fromEntries(entries)
    const node = new NetworkNode(o, tree)
    for (const [k, v] of entries) node.stateByteCount += k.length + v.length
    const height = await o.store.latestHeight()
    if (height === 0n) {
      node.head = { height: 0n, hash: ZERO_HASH, header: undefined, commit: EMPTY_COMMIT }
    } else {
      const block = decodeBlock((await o.store.getBlock(height))!)
      const commit = decodeCommit((await o.store.getCommit(height))!)
      if (toHex(block.header.stateRoot) !== toHex(tree.root())) {
        throw new NetworkError('STATE_MISMATCH', `state root after restart does not match block ${height}`)
      }
      node.head = { height, hash: blockHash(block.header), header: block.header, commit }
    }
    for (const c of node.trusted.values()) {
      const raw = c.height <= node.head.height ? await o.store.getBlock(c.height) : undefined
      if (raw && !equalBytes(blockHash(decodeBlock(raw).header), c.blockHash))
        throw new NetworkError(
          'CHECKPOINT_CONFLICT',
          `stored block ${c.height} conflicts with a trusted checkpoint`,
        )
    }
    return node
  }

  get height(): bigint {
    return this.head.height
  }
  get headHash(): Uint8Array {
    return this.head.hash
  }
  get headHeader(): Header | undefined {
    return this.head.header
  }
  /** The state root of the head (the genesis state's root at height 0). */
  stateRoot(): Uint8Array {
    return this.held !== undefined ? this.held.baseRoot.slice() : this.tree.root()
  }

  validatorsHash(): Uint8Array {
    return merkleRoot(
      this.genesis.validators.map((v) => encodeValidator({ publicKey: v.publicKey, votingPower: v.power })),
    )
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = run.catch(() => undefined)
    return run
  }

  /**
   * Admits a tx from a client or peer: decode, stateless checks, signature (on the worker pool,
   * once), then the mempool's nonce/fee/limit rules. Throws a typed error; changes nothing on failure.
   */
  async submitTx(bytes: Uint8Array): Promise<DecodedTx> {
    const d = this.precheck(bytes)
    const ok = await (this.syncVerifyOk(1) ? this.checkSignatureSync(d) : this.checkSignature(d))
    if (!ok) throw new TxError('BAD_SIGNATURE', 'signature does not verify')
    return this.admit(d)
  }

  /**
   * Whether `n` unverified txs of one submission are checked on this thread (see SYNC_VERIFY_MAX):
   * at most SYNC_VERIFY_MAX per synchronous run, so many submitTx calls made in one loop (a client
   * window) still go to the pool after the first ones.
   */
  private syncVerifyOk(n: number): boolean {
    if (n > this.syncVerifyLeft || this.pool.verifySync === undefined || this.pool.idle !== true) return false
    if (this.syncVerifyLeft === SYNC_VERIFY_MAX)
      queueMicrotask(() => {
        this.syncVerifyLeft = SYNC_VERIFY_MAX
      })
    this.syncVerifyLeft -= n
    return true
  }

  /** checkSignature on this thread (no pool job); joins a pool job already running for the tx. */
  private checkSignatureSync(d: DecodedTx): boolean | Promise<boolean> {
    if (this.verified.has(d.hashHex)) return true
    const running = this.verifying.get(d.hashHex)
    if (running !== undefined) return running
    const ok = this.pool.verifySync!(verifyJobOf(d, this.pool.acceptsMsgPrefix === true))
    if (ok) this.rememberVerified(d.hashHex)
    return ok
  }

  /** The tx's signature verdict: true if already verified here, else one shared pool job. */
  private checkSignature(d: DecodedTx): true | Promise<boolean> {
    if (this.verified.has(d.hashHex)) return true
    let p = this.verifying.get(d.hashHex)
    if (p === undefined) {
      const h = d.hashHex
      p = this.pool.verify(verifyJobOf(d, this.pool.acceptsMsgPrefix === true)).then(
        (ok) => {
          this.verifying.delete(h)
          if (ok) this.rememberVerified(h)
          return ok
        },
        (e: unknown) => {
          this.verifying.delete(h)
          throw e
        },
      )
      this.verifying.set(h, p)
    }
    return p
  }

  /**
   * Admits many txs (batch submit, a gossiped batch): every signature is checked in parallel on the
   * verify pool, then the txs enter the mempool IN ORDER, so a sender's consecutive nonces within one
   * batch are admitted (submitTx calls racing on the pool could reach the mempool out of order and
   * fail with NONCE_GAP). One result per tx: its decoded form or the typed error; a bad tx changes
   * nothing and does not stop the others.
   */
  async submitTxs(list: readonly Uint8Array[]): Promise<(DecodedTx | Error)[]> {
    const out: (DecodedTx | Error)[] = new Array(list.length)
    const pending: (DecodedTx | undefined)[] = list.map((bytes, i) => {
      try {
        return this.precheck(bytes)
      } catch (e) {
        out[i] = e as Error
        return undefined
      }
    })
    let unverified = 0
    for (const d of pending) if (d !== undefined && !this.verified.has(d.hashHex)) unverified++
    const sync = unverified > 0 && this.syncVerifyOk(unverified)
    const oks = await Promise.all(
      pending.map((d) =>
        d === undefined
          ? true
          : Promise.resolve(sync ? this.checkSignatureSync(d) : this.checkSignature(d)).catch(
              (e: Error) => e,
            ),
      ),
    )
    if (TRACE_DIR) trace(`txs verified n=${list.length}`)
    for (let i = 0; i < list.length; i++) {
      const d = pending[i]
      if (d === undefined) continue
      const ok = oks[i]
      if (ok !== true) {
        out[i] = ok === false ? new TxError('BAD_SIGNATURE', 'signature does not verify') : ok
        continue
      }
      try {
        out[i] = this.admit(d)
      } catch (e) {
        out[i] = e as Error
      }
    }
    return out
  }

  /** Decode, duplicate, stateless and expiry checks: everything before the signature. */
  private precheck(bytes: Uint8Array): DecodedTx {
    const d = decodeTxBytes(bytes)
    if (this.mempool.has(d.hashHex)) {
      throw new PulseError('TX_DUPLICATE', 'tx is already in the mempool')
    }
    this.app.checkStateless(d)
    const next = this.height + 1n
    if (d.tx.body.expiresAt < next)
      throw new TxError('TX_EXPIRED', `tx expired at height ${d.tx.body.expiresAt}`)
    if (d.tx.body.expiresAt > next + this.genesis.params.txLifetimeBlocksMax) {
      throw new TxError(
        'EXPIRY_TOO_FAR',
        `expiresAt is more than ${this.genesis.params.txLifetimeBlocksMax} blocks ahead`,
      )
    }
    return d
  }

  /**
   * Mempool rules for a signature-checked tx (checkSignature remembered it, so a block carrying it
   * later is not verified again even if the mempool refuses it), then announced ('tx').
   */
  private admit(d: DecodedTx): DecodedTx {
    this.mempool.add(d, {
      stateNonce: getNonce(this.state, d.sender),
      feeBalance: getBalance(this.state, d.sender, this.genesis.params.feeAsset),
    })
    this.emit('tx', d)
    return d
  }

  private rememberVerified(h: string): void {
    // Oldest first out (insertion order), so txs still waiting in the mempool stay verified.
    if (this.verified.size >= 200_000) this.verified.delete(this.verified.values().next().value!)
    this.verified.add(h)
  }

  /** Produces and commits one block from the mempool (single-validator networks). */
  produceBlock(): Promise<CommittedBlock> {
    return this.withLock(() => this.produceLocked())
  }

  private async produceLocked(): Promise<CommittedBlock> {
    const key = this.key
    if (key === undefined)
      throw new NetworkError('NOT_VALIDATOR', 'this node is not a validator of the network')
    if (this.haltStatus) throw new NetworkError('HALTED', `network halted: ${this.haltStatus.reason}`)
    this.settle()
    const p = this.genesis.params
    const height = this.head.height + 1n
    const prevTime = this.head.header?.timeMs ?? this.genesis.genesisTimeMs
    let timeMs: bigint
    let overlay: Overlay
    let exec: ReturnType<App['executeBlock']>
    const pre = this.nextExec
    this.nextExec = undefined
    if (pre !== undefined && equalBytes(pre.parentHash, this.head.hash)) {
      ;({ timeMs, overlay, exec } = pre)
    } else {
      const now = this.now()
      timeMs = now > prevTime ? now : prevTime + 1n
      const ctx = {
        networkId: this.id,
        height,
        timeMs,
        proposer: key.publicKey,
        prevHash: this.head.hash,
        params: p,
      }
      const candidates = this.mempool.reap(p.blockTxsMax, p.blockBytesMax - 64 * 1024)
      overlay = new Overlay(this.state)
      exec = this.app.executeBlock(overlay, candidates, ctx, { mode: 'build', verifySignatures: false })
    }
    for (const r of exec.rejected) this.mempool.removeWithSuccessors(r.tx.hashHex)

    const changes = overlay.sortedWrites()
    this.applyCommitted(changes) // into the tree (the overlay is dropped)
    const stateRoot = this.tree.root()
    const encodedResults = encodeTxResults(exec.results)
    const vhash = this.validatorsHash()
    const header: Header = {
      networkId: this.id,
      height,
      timeMs,
      prevHash: this.head.hash,
      lastCommitHash: commitHash(this.head.commit),
      txRoot: merkleRoot(exec.included.map((d) => d.bytes)),
      txCount: exec.included.length,
      stateRoot,
      resultsRoot: merkleRoot(encodedResults),
      validatorsHash: vhash,
      nextValidatorsHash: vhash,
      evidenceHash: merkleRoot([]),
      proposer: key.publicKey,
    }
    const block: Block = {
      header,
      txs: exec.included.map((d) => d.bytes),
      lastCommit: this.head.commit,
      evidence: [],
    }
    const hash = blockHash(header)
    const vote = {
      type: VoteType.Precommit,
      height,
      round: 0,
      blockHash: hash,
      timestampMs: timeMs,
      extension: new Uint8Array(),
    }
    const commit: Commit = {
      height,
      round: 0,
      blockHash: hash,
      signatures: [
        {
          validatorIndex: 0,
          timestampMs: timeMs,
          extension: vote.extension,
          signature: sign('ed25519', key.seed, voteSignBytes(this.id, vote)),
        },
      ],
    }
    try {
      // commitBlock hands its batch to LevelDB before its first await: the fsync runs on the
      // thread pool while the next block is executed here (only with a full block waiting).
      const writing = this.store.commitBlock({
        height,
        hash,
        blockBytes: encodeBlock(block),
        commitBytes: encodeCommit(commit),
        txHashes: exec.included.map((d) => d.hash),
        results: encodedResults,
        accounts: exec.included.map((d) => touchedAccounts(this.app, d)),
        stateChanges: changes,
      })
      writing.catch(() => {}) // awaited just below
      try {
        this.executeNext(key.publicKey, hash, height, timeMs, exec.included)
      } catch {
        this.nextExec = undefined // an optimisation only: the next block is then built as usual
      }
      await writing
    } catch (e) {
      this.nextExec = undefined
      // The tree already holds the new state; continuing would serve state that is not on disk.
      this.emit('fatal', e)
      throw e
    }
    this.head = { height, hash, header, commit }
    this.mempool.update(exec.included, (acct) => getNonce(this.state, acct), height + 1n)
    const committed: CommittedBlock = {
      height,
      hash,
      header,
      txHashes: exec.included.map((d) => d.hashHex),
      results: exec.results,
    }
    this.emit('block', committed, exec.endEvents)
    return committed
  }

  /**
   * Executes the block after `height` (hash `parentHash`, not yet durable) into an overlay on the
   * tree, which already holds that block's state. Nothing is visible: the head, the tree and the
   * mempool are untouched until produceLocked uses it. Only when a full block is waiting beyond
   * the txs just included: otherwise txs arriving during the write should still make that block.
   */
  private executeNext(
    proposer: Uint8Array,
    parentHash: Uint8Array,
    height: bigint,
    prevTime: bigint,
    included: DecodedTx[],
  ): void {
    const p = this.genesis.params
    if (this.mempool.size - included.length < p.blockTxsMax) return
    const exclude = new Set(included.map((d) => d.hashHex))
    const candidates = this.mempool.reap(p.blockTxsMax, p.blockBytesMax - 64 * 1024, exclude)
    if (candidates.length < p.blockTxsMax) return
    const now = this.now()
    const timeMs = now > prevTime ? now : prevTime + 1n
    const ctx = { networkId: this.id, height: height + 1n, timeMs, proposer, prevHash: parentHash, params: p }
    const overlay = new Overlay(this.state)
    const exec = this.app.executeBlock(overlay, candidates, ctx, { mode: 'build', verifySignatures: false })
    this.nextExec = { parentHash, timeMs, overlay, exec }
  }

  // ------------------------------------------------------------ consensus (several validators)

  /**
   * Builds (proposer side) the block at head+1 from the mempool, executing it on a tree snapshot that
   * is reverted at once: the head is untouched until `commitPrepared`. Synchronous, so nothing else
   * observes the temporary state.
   */
  buildBlock(o: {
    proposer: Uint8Array
    timeMs: bigint
    lastCommit: Commit
    evidence?: Uint8Array[]
    consensus?: ConsensusBlockInfo
    /** A proposer's own cap on txs, below the genesis blockTxsMax (a local policy, not a rule). */
    txsMax?: number
    /**
     * Build on top of this prepared block of head+1 instead of the head (pipelining: the next
     * proposal is built while that block's fsynced write runs). Its writes are applied to the tree
     * inside a snapshot that is reverted before returning, its txs are left out, and the mempool is
     * not touched. The result can only be committed after `on` is.
     */
    on?: PreparedBlock
  }): PreparedBlock {
    const parent = o.on
    if (parent !== undefined && !equalBytes(parent.parentHash, this.head.hash))
      throw new NetworkError('HEAD_MOVED', 'the block to build on does not follow the head')
    const held = this.held
    if (
      parent !== undefined &&
      held !== undefined &&
      held.writes === parent.writes &&
      equalBytes(held.hash, parent.hash)
    ) {
      // The parent is the held block: the tree already holds its state. Reads see the tree as is
      // while building (synchronously), and the parent stays held for its commit.
      this.state.hide(undefined)
      try {
        return this.buildOn(
          { height: parent.block.header.height, hash: parent.hash },
          o,
          new Set(parent.included.map((d) => d.hashHex)),
        )
      } finally {
        this.state.hide(held.committed)
      }
    }
    if (parent !== undefined) this.settle()
    const token = parent === undefined ? undefined : this.tree.snapshot()
    try {
      if (parent !== undefined) this.applyWrites(parent.writes)
      return this.buildOn(
        parent === undefined
          ? { height: this.head.height, hash: this.head.hash }
          : { height: parent.block.header.height, hash: parent.hash },
        o,
        parent === undefined ? undefined : new Set(parent.included.map((d) => d.hashHex)),
      )
    } finally {
      if (token !== undefined) this.tree.revert(token)
    }
  }

  /** A changeset into the tree under a snapshot the caller reverts (no byte count). */
  private applyWrites(writes: [string, Uint8Array | null][]): void {
    for (const [k, v] of writes) {
      if (v === null) this.tree.deleteByKeyString(k)
      else this.tree.setByKeyString(k, v)
    }
  }

  /** A committed block's changeset into the tree, keeping the state byte count (quotas) exact. */
  private applyCommitted(writes: [string, Uint8Array | null][]): void {
    for (const [k, v] of writes) {
      const old = v === null ? this.tree.deleteByKeyString(k) : this.tree.setByKeyString(k, v)
      if (old >= 0) this.stateByteCount -= k.length + old
      if (v !== null) this.stateByteCount += k.length + v.length
    }
  }

  private buildOn(
    base: { height: bigint; hash: Uint8Array },
    o: Parameters<NetworkNode['buildBlock']>[0],
    exclude: Set<string> | undefined,
  ): PreparedBlock {
    const p = this.genesis.params
    const height = base.height + 1n
    const ctx = {
      networkId: this.id,
      height,
      timeMs: o.timeMs,
      proposer: o.proposer,
      prevHash: base.hash,
      params: p,
    }
    const txsMax = o.txsMax === undefined ? p.blockTxsMax : Math.min(p.blockTxsMax, o.txsMax)
    const candidates = this.mempool.reap(txsMax, p.blockBytesMax - 64 * 1024, exclude)
    const overlay = new Overlay(this.state)
    const exec = this.app.executeBlock(overlay, candidates, ctx, {
      mode: 'build',
      verifySignatures: false,
      beginBlock: o.consensus?.beginBlock,
    })
    // On a parent not yet committed the mempool is not updated yet: a refusal may be that lag.
    if (exclude === undefined) for (const r of exec.rejected) this.mempool.removeWithSuccessors(r.tx.hashHex)
    const writes = overlay.sortedWrites()
    const encodedResults = encodeTxResults(exec.results)
    const vhash = o.consensus?.validatorsHash ?? this.validatorsHash()
    const nextVhash = o.consensus?.nextValidatorsHash ?? vhash
    const header: Header = {
      networkId: this.id,
      height,
      timeMs: o.timeMs,
      prevHash: base.hash,
      lastCommitHash: commitHash(o.lastCommit),
      txRoot: merkleRoot(exec.included.map((d) => d.bytes)),
      txCount: exec.included.length,
      stateRoot: new Uint8Array(32),
      resultsRoot: merkleRoot(encodedResults),
      validatorsHash: vhash,
      nextValidatorsHash: nextVhash,
      evidenceHash: merkleRoot(o.evidence ?? []),
      proposer: o.proposer,
    }
    // On the head, the block stays held (its commit then keeps the hashed tree); on a parent not
    // yet committed (pipelining) the root is computed under that parent's snapshot and reverted.
    let hash: Uint8Array
    if (exclude === undefined) {
      header.stateRoot = this.rootHolding(writes, ZERO_HASH, () => true)
      hash = blockHash(header)
      this.held!.hash = hash
    } else {
      header.stateRoot = this.rootWith(writes)
      hash = blockHash(header)
    }
    const block: Block = {
      header,
      txs: exec.included.map((d) => d.bytes),
      lastCommit: o.lastCommit,
      evidence: o.evidence ?? [],
    }
    return {
      block,
      hash,
      parentHash: base.hash,
      included: exec.included,
      results: exec.results,
      encodedResults,
      writes,
      endEvents: exec.endEvents,
      validatorUpdates: exec.validatorUpdates,
    }
  }

  /** State root the head would have with `writes` applied (snapshot, apply, read root, revert). */
  private rootWith(writes: [string, Uint8Array | null][]): Uint8Array {
    const token = this.tree.snapshot()
    try {
      this.applyWrites(writes)
      return this.tree.root().slice()
    } finally {
      this.tree.revert(token)
    }
  }

  /**
   * State root of head+1 with `writes` (block `hash`), leaving them applied and hashed in the tree
   * as the held block (see `held`) when `keep(root)` says the block is good; else reverted.
   */
  private rootHolding(
    writes: [string, Uint8Array | null][],
    hash: Uint8Array,
    keep: (root: Uint8Array) => boolean,
  ): Uint8Array {
    this.settle()
    const baseRoot = this.tree.root()
    const committed = new Map<string, Uint8Array | null>()
    const token = this.tree.snapshot()
    let ok = false
    try {
      for (const [k, v] of writes) {
        // The tree journals (never overwrites in place) while the snapshot is open: these stay valid.
        committed.set(k, this.tree.peekByKeyString(k) ?? null)
        if (v === null) this.tree.deleteByKeyString(k)
        else this.tree.setByKeyString(k, v)
      }
      const root = this.tree.root()
      ok = keep(root)
      return root
    } finally {
      if (ok) {
        this.held = { token, hash, parentHash: this.head.hash, writes, baseRoot, committed }
        this.state.hide(committed)
      } else this.tree.revert(token)
    }
  }

  /** Reverts the held block (if any): the tree is the committed state again. */
  private settle(): void {
    const h = this.held
    if (h === undefined) return
    this.held = undefined
    this.state.hide(undefined)
    this.tree.revert(h.token)
  }

  /**
   * Validates a block proposed by another validator for head+1: structure against the head, tx
   * signatures once on the verify pool, re-execution in 'validate' mode, then state, results and
   * tx roots compared with the header. `checkHeader` covers what only consensus knows (time,
   * proposer, the last commit's certificate). Throws NetworkError BLOCK_INVALID.
   */
  async validateBlock(
    block: Block,
    checkHeader?: (h: Header, head: { height: bigint; hash: Uint8Array }) => void,
    consensus?: ConsensusBlockInfo,
  ): Promise<PreparedBlock> {
    const h = block.header
    const bad = (why: string): never => {
      throw new NetworkError('BLOCK_INVALID', why, { height: h.height.toString() })
    }
    if (h.networkId !== this.id) bad('wrong network')
    if (this.haltStatus) throw new NetworkError('HALTED', `network halted: ${this.haltStatus.reason}`)
    this.checkCheckpoint(h.height, blockHash(h))
    if (h.height !== this.head.height + 1n) bad(`height ${h.height} does not follow head ${this.head.height}`)
    if (!equalBytes(h.prevHash, this.head.hash)) bad('prevHash is not the head')
    if (!equalBytes(h.lastCommitHash, commitHash(block.lastCommit))) bad('lastCommitHash mismatch')
    if (h.txCount !== block.txs.length) bad('txCount mismatch')
    if (!equalBytes(h.txRoot, merkleRoot(block.txs))) bad('txRoot mismatch')
    if (!equalBytes(h.evidenceHash, merkleRoot(block.evidence))) bad('evidenceHash mismatch')
    const vhash = consensus?.validatorsHash ?? this.validatorsHash()
    const nextVhash = consensus?.nextValidatorsHash ?? vhash
    if (!equalBytes(h.validatorsHash, vhash) || !equalBytes(h.nextValidatorsHash, nextVhash))
      bad('validators hash mismatch')
    checkHeader?.(h, { height: this.head.height, hash: this.head.hash })
    const txs: DecodedTx[] = []
    for (const bytes of block.txs) {
      // A tx waiting in our mempool was decoded (and its signature verified) at admission.
      const hash = txHash(bytes)
      const hashHex = toHex(hash)
      const pooled = this.mempool.get(hashHex)
      if (pooled !== undefined) {
        txs.push(pooled)
        continue
      }
      let d: DecodedTx
      try {
        d = decodeTxBytes(bytes, hash, hashHex)
      } catch {
        return bad('undecodable tx')
      }
      txs.push(d)
    }
    const checks: Promise<boolean>[] = []
    const checked: DecodedTx[] = []
    for (const d of txs) {
      const c = this.checkSignature(d)
      if (c === true) continue
      checks.push(c)
      checked.push(d)
    }
    const oks = await Promise.all(checks)
    for (let i = 0; i < checked.length; i++) if (!oks[i]) bad(`tx ${checked[i].hashHex} has a bad signature`)
    if (!equalBytes(h.prevHash, this.head.hash)) bad('head moved during validation')
    const ctx = {
      networkId: this.id,
      height: h.height,
      timeMs: h.timeMs,
      proposer: h.proposer,
      prevHash: h.prevHash,
      params: this.genesis.params,
    }
    const overlay = new Overlay(this.state)
    let exec: ReturnType<App['executeBlock']>
    try {
      exec = this.app.executeBlock(overlay, txs, ctx, {
        mode: 'validate',
        verifySignatures: false,
        beginBlock: consensus?.beginBlock,
      })
    } catch (e) {
      if (isPulseError(e)) return bad(e.message)
      throw e
    }
    const writes = overlay.sortedWrites()
    const encodedResults = encodeTxResults(exec.results)
    if (!equalBytes(h.resultsRoot, merkleRoot(encodedResults))) bad('resultsRoot mismatch')
    const hash = blockHash(h)
    const root = this.rootHolding(writes, hash, (r) => equalBytes(r, h.stateRoot))
    if (!equalBytes(h.stateRoot, root)) bad('stateRoot mismatch')
    return {
      block,
      hash,
      parentHash: this.head.hash,
      included: exec.included,
      results: exec.results,
      encodedResults,
      writes,
      endEvents: exec.endEvents,
      validatorUpdates: exec.validatorUpdates,
    }
  }

  /**
   * State sync: adopts a snapshot the caller has VERIFIED (certificate, validator sets, state root =
   * header.stateRoot; see p2p/snapshot.ts) as this network's head. Only on an empty chain (height 0):
   * one atomic store batch, then the in-memory tree is brought to the same entries and the head
   * moves to `height`. Throws STATE_MISMATCH (nothing written) if the entries do not give the root.
   */
  installSnapshot(s: {
    blockBytes: Uint8Array
    commitBytes: Uint8Array
    validatorSets: [bigint, ValidatorSet][]
    state: [Uint8Array, Uint8Array][]
  }): Promise<void> {
    return this.withLock(async () => {
      if (this.head.height !== 0n)
        throw new NetworkError('STATE_MISMATCH', 'a snapshot can only be installed on an empty chain')
      this.settle()
      const block = decodeBlock(s.blockBytes)
      const commit = decodeCommit(s.commitBytes)
      const hash = blockHash(block.header)
      if (!equalBytes(StateTree.fromEntries(s.state).root(), block.header.stateRoot))
        throw new NetworkError('STATE_MISMATCH', 'snapshot entries do not give the header state root')
      this.checkCheckpoint(block.header.height, hash)
      const old: Uint8Array[] = []
      for await (const [k] of this.store.stateEntries()) old.push(k)
      await this.store.installSnapshot({
        height: block.header.height,
        hash,
        blockBytes: s.blockBytes,
        commitBytes: s.commitBytes,
        validatorSets: s.validatorSets.map(([h, set]) => [h, encodeValidatorSet(set)]),
        state: s.state,
      })
      for (const k of old) this.tree.delete(k)
      for (const [k, v] of s.state) this.tree.set(k, v)
      this.setCache.clear()
      for (const [h, set] of s.validatorSets) this.setCache.set(h, set)
      this.head = { height: block.header.height, hash, header: block.header, commit }
      this.mempool.update([], (acct) => getNonce(this.state, acct), block.header.height + 1n)
    })
  }

  /** Commits a prepared block with its > 2/3 certificate: one fsynced batch, then the new head. */
  commitPrepared(
    p: PreparedBlock,
    commit: Commit,
    validatorSets: [bigint, ValidatorSet][] = [],
  ): Promise<CommittedBlock> {
    return this.withLock(async () => {
      if (this.haltStatus) throw new NetworkError('HALTED', `network halted: ${this.haltStatus.reason}`)
      if (!equalBytes(p.parentHash, this.head.hash))
        throw new NetworkError('HEAD_MOVED', 'the head changed since this block was executed')
      const height = p.block.header.height
      this.checkCheckpoint(height, p.hash)
      try {
        await this.store.commitBlock({
          height,
          hash: p.hash,
          blockBytes: encodeBlock(p.block),
          commitBytes: encodeCommit(commit),
          txHashes: p.included.map((d) => d.hash),
          results: p.encodedResults,
          accounts: p.included.map((d) => touchedAccounts(this.app, d)),
          stateChanges: p.writes,
          validatorSets: validatorSets.map(([vh, set]) => [vh, encodeValidatorSet(set)]),
        })
      } catch (e) {
        this.emit('fatal', e)
        throw e
      }
      for (const [vh, set] of validatorSets) this.setCache.set(vh, set)
      const held = this.held
      if (
        held !== undefined &&
        held.writes === p.writes &&
        equalBytes(held.hash, p.hash) &&
        equalBytes(held.parentHash, this.head.hash)
      ) {
        // This very block was validated (or built) on this head: keep its applied, hashed writes.
        this.held = undefined
        this.state.hide(undefined)
        this.tree.release(held.token)
        for (const [k, v] of p.writes) {
          const old = held.committed.get(k)
          if (old) this.stateByteCount -= k.length + old.length
          if (v !== null) this.stateByteCount += k.length + v.length
        }
        this.commitStats.reused++
      } else {
        this.settle()
        this.applyCommitted(p.writes)
        this.commitStats.applied++
      }
      const header = p.block.header
      this.head = { height, hash: p.hash, header, commit }
      this.mempool.update(p.included, (acct) => getNonce(this.state, acct), height + 1n)
      const committed: CommittedBlock = {
        height,
        hash: p.hash,
        header,
        txHashes: p.included.map((d) => d.hashHex),
        results: p.results,
      }
      this.emit('block', committed, p.endEvents)
      return committed
    })
  }

  /**
   * The validator set that signs block `height` (vote indices of its commit refer to this order).
   * Stored per height when consensus changes it; a network without stored sets has its genesis set.
   */
  async validatorSetAt(height: bigint): Promise<ValidatorSet> {
    let s = this.setCache.get(height)
    if (s) return s
    const raw = await this.store.getValidatorSet(height)
    if (raw) s = decodeValidatorSet(raw)
    else {
      const base = validatorSetOf(this.genesis.validators)
      s = height <= 1n ? base : incrementProposerPriority(base, Number(height - 1n))
    }
    if (this.setCache.size > 64) this.setCache.clear()
    this.setCache.set(height, s)
    return s
  }

  // ------------------------------------------------------------ checkpoints and halting

  /** Throws CHECKPOINT_CONFLICT if a trusted checkpoint names another block at `height`. */
  checkCheckpoint(height: bigint, hash: Uint8Array): void {
    const c = this.trusted.get(height)
    if (c && !equalBytes(c.blockHash, hash))
      throw new NetworkError('CHECKPOINT_CONFLICT', `block ${height} conflicts with a trusted checkpoint`, {
        height: height.toString(),
        checkpoint: toHex(c.blockHash),
        block: toHex(hash),
      })
  }

  /** Adds a checkpoint trusted from outside; throws CHECKPOINT_CONFLICT if the stored chain disagrees. */
  async trustCheckpoint(c: Checkpoint): Promise<void> {
    if (c.height <= this.head.height) {
      const b = await this.getBlock(c.height)
      if (b && !equalBytes(b.hash, c.blockHash))
        throw new NetworkError(
          'CHECKPOINT_CONFLICT',
          `stored block ${c.height} conflicts with the checkpoint`,
        )
    }
    this.trusted.set(c.height, c)
  }

  /** The checkpoint at `height` (a positive multiple of the interval, committed here), from the block store. */
  async checkpointAt(height: bigint): Promise<Checkpoint | undefined> {
    if (height < 1n || height % this.checkpointInterval !== 0n || height > this.head.height) return undefined
    const b = await this.getBlock(height)
    if (!b) return undefined
    return { height, blockHash: b.hash, validatorsHash: b.block.header.validatorsHash, commit: b.commit }
  }

  /** The newest checkpoint this node has committed (undefined before the first interval). */
  latestCheckpoint(): Promise<Checkpoint | undefined> {
    return this.checkpointAt(this.head.height - (this.head.height % this.checkpointInterval))
  }

  /** Set when this node stopped the network (a fork: two certified blocks at one height). */
  get halted(): HaltStatus | undefined {
    return this.haltStatus
  }

  /**
   * Stops block production and refuses every further commit on this network, then raises the alert
   * (event 'fork' with `evidence`). Idempotent; the first reason stays.
   */
  halt(reason: string, evidence?: unknown): void {
    if (this.haltStatus) return
    this.haltStatus = { halted: true, reason, height: this.head.height }
    this.stopProducing()
    this.emit('fork', { ...this.haltStatus, evidence })
  }

  /** The certificate of the head block (what the next proposer puts in its block's lastCommit). */
  get headCommit(): Commit {
    return this.head.commit
  }

  /** Produces a block every `blockIntervalMs` while there are txs (and a heartbeat block every `heartbeatMs`). */
  startProducing(heartbeatMs = 10_000): void {
    if (this.timer) return
    let lastBlockAt = Date.now()
    this.timer = setInterval(() => {
      if (this.producing) return
      const due = this.mempool.size > 0 || Date.now() - lastBlockAt >= heartbeatMs
      if (!due) return
      this.producing = true
      this.produceBlock()
        .then(() => {
          lastBlockAt = Date.now()
        })
        .catch((e) => this.emit('error', e))
        .finally(() => {
          this.producing = false
        })
    }, this.genesis.params.blockIntervalMs)
    this.timer.unref?.()
  }
  stopProducing(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
  /** Waits for any in-flight block to finish writing. */
  async idle(): Promise<void> {
    await this.withLock(async () => undefined)
  }

  // ------------------------------------------------------------ reads

  async getBlock(height: bigint): Promise<{ block: Block; hash: Uint8Array; commit: Commit } | undefined> {
    const raw = await this.store.getBlock(height)
    if (raw === undefined) return undefined
    const block = decodeBlock(raw)
    const c = await this.store.getCommit(height)
    return { block, hash: blockHash(block.header), commit: decodeCommit(c!) }
  }

  /** Everything a light client needs to check a tx: the tx, its result, the tx-root proof, header and commit. */
  async txWithProof(hash: Uint8Array) {
    const loc = await this.store.txLocation(hash)
    if (loc === undefined) return undefined
    const b = (await this.getBlock(loc.height))!
    const resultBytes = await this.store.getTxResult(loc.height, loc.index)
    return { ...loc, txBytes: b.block.txs[loc.index], block: b, resultBytes: resultBytes! }
  }

  /** A state proof for `key` against the head's state root, read under the lock for consistency. */
  proveState(key: Uint8Array) {
    return this.withLock(async () => {
      this.settle() // the proof is against the committed root
      return {
        height: this.head.height,
        header: this.head.header,
        commit: this.head.commit,
        stateRoot: this.tree.root(),
        value: this.tree.get(key) ?? null,
        proof: this.tree.prove(key),
      }
    })
  }

  /** All balances of an account as of the last committed block (a consistent LevelDB snapshot). */
  async accountBalances(account: Uint8Array): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>()
    const prefix = balancePrefix(account)
    for await (const [k, v] of this.store.stateEntries(prefix))
      out.set(fromUtf8(k.subarray(prefix.length)), decodeU128(v))
    return out
  }

  accountNonce(account: Uint8Array): bigint {
    return getNonce(this.state, account)
  }

  nextNonce(account: Uint8Array): bigint {
    return this.mempool.nextNonce(account, getNonce(this.state, account))
  }
}

/** The pool job checking a tx's signature (message in two pieces when the verifier takes them). */
function verifyJobOf(d: DecodedTx, split: boolean) {
  const scheme = d.tx.body.sender.scheme
  const publicKey = d.tx.body.sender.bytes
  const sig = d.tx.signature
  if (!split) return { scheme, publicKey, msg: txSignBytesFromEncoded(d.bytes), sig }
  const { prefix, body } = txSignPartsFromEncoded(d.bytes)
  return { scheme, publicKey, msgPrefix: prefix, msg: body, sig }
}

/** Accounts a tx concerns (the sender and a payload's `to`, if any) for the by-account index. */
function touchedAccounts(app: App, d: DecodedTx): Uint8Array[] {
  const out = [d.sender]
  const payload = (d.payload ?? app.txKind(d.tx.body.kind)?.decode(d.tx.body.payload)) as
    | { to?: unknown }
    | undefined
  const to = payload?.to
  if (to instanceof Uint8Array && to.length === 20 && !equalBytes(to, d.sender)) out.push(to)
  return out
}

export { accountIdOf, decodeHeader }
