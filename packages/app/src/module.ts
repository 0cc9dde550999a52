/**
 * What a module is (DESIGN §3): it owns one key prefix byte, its tx kinds, its queries and the
 * events it emits. The executor knows nothing about balances or orders; it only routes.
 */
import type { ChainEvent, PublicKey } from '@pulsemesh/core'
import type { KVStore } from './state/kv.ts'
import type { ChainParams, Genesis } from './genesis.ts'

export interface BlockContext {
  networkId: string
  height: bigint
  timeMs: bigint
  /** Consensus key of the block's proposer. */
  proposer: Uint8Array
  params: ChainParams
  /** Header hash of block height − 1 (the emotion module's nonce ring); absent where unknown. */
  prevHash?: Uint8Array
}

export interface TxContext extends BlockContext {
  /** 20-byte account id of the signer. */
  sender: Uint8Array
  senderKey: PublicKey
  /** Hex tx hash, for events that reference the tx. */
  txHash: string
  emit(event: ChainEvent): void
}

export interface TxKind<P> {
  /** Globally unique tx kind number (module prefix × 256 + local number). */
  kind: number
  name: string
  /** Decodes the payload; throws DecodeError on bad bytes (becomes MALFORMED_PAYLOAD). */
  decode(payload: Uint8Array): P
  encode(p: P): Uint8Array
  /** Applies the tx; throws TxError to fail it (its writes are then discarded). */
  execute(store: KVStore, ctx: TxContext, payload: P): void
}

export interface QueryContext {
  params: ChainParams
  height: bigint
}

export type QueryHandler = (store: KVStore, args: Record<string, string>, ctx: QueryContext) => unknown

export interface AppModule {
  name: string
  /** First byte of every key this module writes. */
  prefix: number
  // biome-ignore lint/suspicious/noExplicitAny: heterogenous payload types, narrowed per kind
  txKinds: TxKind<any>[]
  initGenesis?(store: KVStore, genesis: Genesis): void
  queries?: Record<string, QueryHandler>
  endBlock?(store: KVStore, ctx: BlockContext, emit: (e: ChainEvent) => void): void
}
