/**
 * N validators of one network inside one process (until libp2p networking lands): each has its own
 * LevelDB data dir, state tree, mempool and sign-state file, and they agree only through consensus
 * messages over an InProcessHub. Used by `pulsemesh devnet --validators N` and the tests.
 */
import { join } from 'node:path'
import { App, type AppModule, bankModule, type Genesis } from '@pulsemesh/app'
import type { TimeoutParams } from '@pulsemesh/consensus'
import {
  type Checkpoint,
  NetworkNode,
  type SignatureVerifier,
  type ValidatorKey,
} from '../chain/network-node.ts'
import { ChainStore } from '../storage/chain-store.ts'
import { ConsensusDriver, type VoteExtensionHook } from './driver.ts'
import { SignStateFile } from './sign-state-file.ts'
import { InProcessHub } from './transport.ts'

export interface LocalValidatorNetworkOptions {
  genesis: Genesis
  genesisJson: string
  /** One key per validator, in any order; each must be in genesis.validators. */
  keys: ValidatorKey[]
  /** Validator i keeps its data in <dataDir>/v<i>. */
  dataDir: string
  verifyPool: SignatureVerifier
  modules?: AppModule[]
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
  /** > 0: no empty blocks while idle except one per this many ms (ConsensusDriverOptions). */
  emptyBlocksIntervalMs?: number
  voteExtensions?: VoteExtensionHook
  /** A finality checkpoint every this many blocks (NetworkNode default 100). */
  checkpointInterval?: bigint
  trustedCheckpoints?: Checkpoint[]
}

export interface LocalValidator {
  index: number
  store: ChainStore
  node: NetworkNode
  driver: ConsensusDriver
}

export class LocalValidatorNetwork {
  readonly hub = new InProcessHub()
  readonly validators: (LocalValidator | undefined)[]
  private readonly o: LocalValidatorNetworkOptions
  /** Keys each validator may rotate to (kept across restarts). */
  private readonly extraKeys = new Map<number, ValidatorKey[]>()

  private constructor(o: LocalValidatorNetworkOptions) {
    this.o = o
    this.validators = new Array(o.keys.length)
  }

  static async start(o: LocalValidatorNetworkOptions): Promise<LocalValidatorNetwork> {
    const net = new LocalValidatorNetwork(o)
    for (let i = 0; i < o.keys.length; i++) await net.open(i)
    await Promise.all(net.validators.map((v) => v!.driver.start()))
    return net
  }

  private async open(i: number): Promise<LocalValidator> {
    const dir = join(this.o.dataDir, `v${i}`)
    const store = await ChainStore.open(join(dir, 'data'))
    try {
      const node = await NetworkNode.open({
        app: new App(this.o.genesis.params, this.o.modules ?? [bankModule]),
        genesis: this.o.genesis,
        genesisJson: this.o.genesisJson,
        store: store.network(this.o.genesis.networkId),
        verifyPool: this.o.verifyPool,
        validatorKey: this.o.keys[i],
        checkpointInterval: this.o.checkpointInterval,
        trustedCheckpoints: this.o.trustedCheckpoints,
      })
      const driver = new ConsensusDriver({
        node,
        key: this.o.keys[i],
        extraKeys: this.extraKeys.get(i),
        transport: this.hub.connect(`v${i}`),
        signState: new SignStateFile(join(dir, `signstate-${this.o.genesis.networkId}.json`)),
        timeouts: this.o.timeouts,
        commitDelayMs: this.o.commitDelayMs,
        emptyBlocksIntervalMs: this.o.emptyBlocksIntervalMs,
        voteExtensions: this.o.voteExtensions,
      })
      const v = { index: i, store, node, driver }
      this.validators[i] = v
      return v
    } catch (e) {
      await store.close()
      throw e
    }
  }

  /** Stops validator i (as if its process died after its last fsync) and closes its database. */
  async stopValidator(i: number): Promise<void> {
    const v = this.validators[i]
    if (!v) return
    this.validators[i] = undefined
    await v.driver.stop()
    await v.node.idle()
    await v.store.close()
  }

  /**
   * Reopens validator i from its data dir; it catches up from its peers' stored blocks. `newKey`
   * restarts it with another consensus key (after a rotate-key tx took effect).
   */
  async restartValidator(i: number, newKey?: ValidatorKey): Promise<LocalValidator> {
    await this.stopValidator(i)
    if (newKey) this.o.keys[i] = newKey
    const v = await this.open(i)
    await v.driver.start()
    return v
  }

  /**
   * Gives validator i a consensus key to rotate to (before sending the rotate-key tx): its driver
   * signs with it from the first height whose validator set holds it.
   */
  addKey(i: number, key: ValidatorKey): void {
    const list = this.extraKeys.get(i) ?? []
    list.push(key)
    this.extraKeys.set(i, list)
    this.validators[i]?.driver.addKey(key)
  }

  /** Each running validator's committed height. */
  heights(): (bigint | undefined)[] {
    return this.validators.map((v) => v?.node.height)
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.validators.length; i++) await this.stopValidator(i)
  }
}
