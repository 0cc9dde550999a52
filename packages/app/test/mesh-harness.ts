/**
 * A minimal in-memory network for mesh tests: real app execution over an authenticated StateTree,
 * real headers and real Ed25519 commit certificates from its validators, state proofs of its head.
 * Lets the tests relay packets between networks exactly as a relayer does, without a node.
 */
import {
  blockHash,
  type Commit,
  encodeCommit,
  encodeHeader,
  encodeStateProof,
  encodeTx,
  type Header,
  type TxResult,
  sign,
  StateTree,
  type TxBody,
  txSignBytes,
} from '@pulsemesh/core'
import { App, bankModule, decodeTxBytes, type Genesis, Overlay } from '../src/index.ts'
import { createMeshModule, MESH_KIND, type mesh } from '../src/index.ts'
import { validatorSetOf } from '../src/validators.ts'
import { validatorsHashOf } from '../src/modules/mesh/client.ts'
import { certifyHeader, type TestKey } from './helpers.ts'

export const ZERO32 = new Uint8Array(32)
/** One clock for every SimNetwork, so their BFT times stay close (as real networks' do). */
export const clock = { ms: 1_700_000_000_000n }

export class SimNetwork {
  readonly id: string
  readonly app: App
  readonly tree = new StateTree()
  validators: TestKey[]
  height = 0n
  timeMs = 1_700_000_000_000n
  header: Header | undefined
  commit: Commit | undefined
  /** Validator changes the last block's modules reported (the node applies them at H+2). */
  lastValidatorUpdates: { publicKey: Uint8Array; power: bigint }[] = []
  private nonces = new Map<string, bigint>()

  constructor(id: string, genesis: Genesis, validators: TestKey[], meshOpts: mesh.MeshModuleOptions = {}) {
    this.id = id
    this.validators = validators
    this.app = new App(genesis.params, [bankModule, createMeshModule(meshOpts)])
    const g = new Overlay(this.tree)
    this.app.initGenesis(g, genesis)
    g.commit()
  }

  get validatorEntries(): mesh.ValidatorEntry[] {
    return this.validators.map((v) => ({ publicKey: v.publicKey.bytes, power: 10n }))
  }

  /** A signed tx of `kind` from `key` with the next nonce. */
  tx(key: TestKey, kind: number, payload: Uint8Array) {
    const n = this.nonces.get(key.address) ?? 0n
    this.nonces.set(key.address, n + 1n)
    const body: TxBody = {
      networkId: this.id,
      sender: key.publicKey,
      nonce: n,
      fee: 10n,
      expiresAt: this.height + 50n,
      memo: '',
      kind,
      payload,
    }
    return decodeTxBytes(encodeTx({ body, signature: sign(key.scheme, key.secretKey, txSignBytes(body)) }))
  }

  /** Executes one block and certifies it with every validator's precommit. */
  block(txs: ReturnType<SimNetwork['tx']>[] = [], advanceMs = 1000n): TxResult[] {
    this.height++
    clock.ms += advanceMs
    this.timeMs = clock.ms
    const o = new Overlay(this.tree)
    const ex = this.app.executeBlock(
      o,
      txs,
      {
        networkId: this.id,
        height: this.height,
        timeMs: this.timeMs,
        proposer: this.validators[0]!.publicKey.bytes,
        params: this.app.params,
      },
      { mode: 'build', verifySignatures: true },
    )
    o.commit()
    this.lastValidatorUpdates = ex.validatorUpdates
    if (ex.rejected.length > 0) throw new Error(`tx rejected by ante: ${ex.rejected[0]!.error.code}`)
    const set = validatorSetOf(this.validatorEntries)
    const vhash = validatorsHashOf(set)
    const header: Header = {
      networkId: this.id,
      height: this.height,
      timeMs: this.timeMs,
      prevHash: this.header ? blockHash(this.header) : ZERO32,
      lastCommitHash: ZERO32,
      txRoot: ZERO32,
      txCount: ex.included.length,
      stateRoot: this.tree.root(),
      resultsRoot: ZERO32,
      validatorsHash: vhash,
      nextValidatorsHash: vhash,
      evidenceHash: ZERO32,
      proposer: this.validators[0]!.publicKey.bytes,
    }
    const commit = this.signHeader(header)
    this.header = header
    this.commit = commit
    return ex.results
  }

  /**
   * A commit of every validator for `header` — whatever it says. Tests use it to make this
   * network's validators misbehave (sign a second header at a height, or a time going backwards).
   */
  signHeader(header: Header, signers: TestKey[] = this.validators): Commit {
    return certifyHeader(this.id, header, this.validatorEntries, signers)
  }

  /** The head header and commit, encoded as a client update carries them. */
  certified() {
    return { header: encodeHeader(this.header!), commit: encodeCommit(this.commit!), height: this.height }
  }
  /** A state proof for `key` against the head state root (the head header certifies it). */
  prove(key: Uint8Array) {
    return {
      height: this.height,
      value: this.tree.get(key) ?? null,
      proof: encodeStateProof(this.tree.prove(key)),
    }
  }
  query(name: string, args: Record<string, string> = {}) {
    return this.app.query(this.tree, 'mesh', name, args, { params: this.app.params, height: this.height })
  }
}

export function genesisFor(id: string, native: string, funded: TestKey[], validators: TestKey[]): Genesis {
  return {
    networkId: id,
    genesisTimeMs: 1_700_000_000_000n,
    params: {
      networkId: id,
      addressPrefix: 'pm',
      feeAsset: 'fee',
      minFee: 10n,
      blockIntervalMs: 500,
      txLifetimeBlocksMax: 100n,
      blockTxsMax: 1000,
      blockBytesMax: 1 << 20,
    },
    assets: [
      { id: 'fee', decimals: 0, maxSupply: 0n },
      { id: native, decimals: 6, maxSupply: 0n },
    ],
    balances: funded.flatMap((k) => [
      { address: k.address, asset: 'fee', amount: 1_000_000n },
      { address: k.address, asset: native, amount: 1_000_000n },
    ]),
    validators: validators.map((v, i) => ({ name: `v${i}`, publicKey: v.publicKey.bytes, power: 10n })),
  }
}

export { MESH_KIND }
