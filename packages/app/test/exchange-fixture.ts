/** A small in-memory chain with bank + exchange for the exchange tests and benchmark. */
import { fromHex, parseAddress, sha256, u64be } from '@pulsemesh/core'
import {
  App,
  type AppModule,
  bankModule,
  type DecodedTx,
  decodeU128,
  exchange,
  exchangeModule,
  getBalance,
  getSupply,
  MemoryStore,
  Overlay,
} from '../src/index.ts'
import { ctx, keyFromByte, makeGenesis, signed, type TestKey, validator } from './helpers.ts'

export const alice = keyFromByte(1)
export const bob = keyFromByte(2)
export const carol = keyFromByte(3)
export const idOf = (k: TestKey) => parseAddress(k.address).bytes
export const { EXCHANGE_KIND: K, codec } = exchange

export function chain(
  funded: TestKey[] = [alice, bob, carol],
  amount = 1_000_000_000n,
  module = exchangeModule,
  extraModules: AppModule[] = [],
) {
  const genesis = makeGenesis([...funded, validator], amount)
  // more gold (the base asset of the test market) than the shared genesis gives
  for (const b of genesis.balances) if (b.asset === 'gold') b.amount = amount
  const app = new App(genesis.params, [bankModule, module, ...extraModules])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  const nonces = new Map<string, bigint>()
  let height = 0n
  let prevHash: Uint8Array = new Uint8Array(32)
  const c = {
    app,
    store,
    genesis,
    get height() {
      return height
    },
    tx(k: TestKey, kind: number, payload: Uint8Array): DecodedTx {
      const n = nonces.get(k.address) ?? 0n
      nonces.set(k.address, n + 1n)
      return signed(k, { kind, payload, nonce: n, expiresAt: 1_000_000n })
    },
    /** Executes one block on an overlay and commits it; returns the execution and its writes. */
    block(txs: DecodedTx[] = []) {
      height++
      const o = new Overlay(store)
      const exec = app.executeBlock(
        o,
        txs,
        { ...ctx(height), timeMs: 1_700_000_000_000n + height * 1000n, prevHash },
        { mode: 'build', verifySignatures: false },
      )
      const writes = o.sortedWrites()
      o.commit()
      prevHash = sha256(u64be(height))
      return { exec, writes, errors: exec.results.map((r) => r.error) }
    },
    bal(k: TestKey | Uint8Array, asset: string) {
      return getBalance(store, k instanceof Uint8Array ? k : idOf(k), asset)
    },
    q(name: string, args: Record<string, string> = {}) {
      return app.query(store, 'exchange', name, args, { params: genesis.params, height }) as never
    },
    createMarket(
      base = 'gold',
      quote = 'pulse',
      mode: 'continuous' | 'auction' = 'continuous',
      tick = 5n,
      lot = 10n,
    ) {
      return c.block([
        c.tx(
          alice,
          K.createMarket,
          codec.createMarket.encode({
            base,
            quote,
            tickSize: tick,
            lotSize: lot,
            mode,
            maxPrice: 0n,
            maxLots: 0n,
          }),
        ),
      ])
    },
    place(
      k: TestKey,
      side: 'buy' | 'sell',
      price: bigint,
      size: bigint,
      type: exchange.OrderKind = 'limit',
      market = 'gold:pulse',
      stp: exchange.StpName = 'cancel-newest',
    ): DecodedTx {
      return c.tx(k, K.place, codec.place.encode({ market, side, type, price, size, stp }))
    },
  }
  return c
}
export type Chain = ReturnType<typeof chain>

/** Every balance key in the store, summed per asset (test-only scan of the memory map). */
export function totalsByAsset(store: MemoryStore): Map<string, bigint> {
  const out = new Map<string, bigint>()
  for (const [k, v] of store.map) {
    if (k.charCodeAt(0) !== 0x01 || k.charCodeAt(1) !== 0x01) continue
    const asset = k.slice(22)
    out.set(asset, (out.get(asset) ?? 0n) + decodeU128(v))
  }
  return out
}

/** Σ locked of every order record per asset (quote for buys, base for sells). */
export function lockedByAsset(store: MemoryStore): Map<string, bigint> {
  const out = new Map<string, bigint>()
  for (const [k] of store.map) {
    if (k.charCodeAt(0) !== 0x06 || k.charCodeAt(1) !== 0x04) continue
    const id = BigInt(
      `0x${[...k.slice(2)].map((ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('')}`,
    )
    const r = exchange.getOrder(store, id)!
    const m = exchange.getMarket(store, r.market)!
    const asset = r.side === 'buy' ? m.quote : m.base
    if (r.locked < 0n) throw new Error(`negative lock on order ${id}`)
    out.set(asset, (out.get(asset) ?? 0n) + r.locked)
  }
  return out
}

export { fromHex, getSupply, signed, validator }
