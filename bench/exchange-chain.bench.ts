/**
 * On-chain exchange throughput: orders per second through the app module (signed txs → ante →
 * queue + escrow lock → end-of-block batch → settlement through the bank ledger → book and order
 * records written to the authenticated state tree → state root per block), against the pure
 * matching engine (@pulsemesh/exchange OrderBook) running the same orders in the same process.
 * The ratio is the cost of being a blockchain module around the engine.
 *
 * Stream (seeded): 200 accounts, ~65% limit orders near the mid (about 1 in 8 marketable), ~10%
 * IOC takers, ~25% cancels of orders placed in earlier blocks (some already filled: those fail
 * at the tx with UNKNOWN_ORDER, as they would on chain). Blocks of EXCHANGE_CHAIN_BLOCK txs
 * (default 500). Signatures are made before timing and not verified in the timed part (the node
 * verifies them once per tx on its worker pool, see bench/crypto); the chain figure includes
 * payload decoding, nonces and fees, overlays, the batch, settlement, the state-tree writes and
 * its root. Continuous and auction markets are both measured.
 */
import {
  App,
  bankModule,
  type DecodedTx,
  exchange,
  exchangeModule,
  type Genesis,
  type KVStore,
  Overlay,
} from '../packages/app/src/index.ts'
import { addressFromPublicKey, generateKeyPair, sha256, StateTree } from '../packages/core/src/index.ts'
import { type Command, OrderBook } from '../packages/exchange/src/index.ts'
import { installNodeCrypto } from '../packages/node/src/crypto/node-backend.ts'
import { signed } from '../packages/app/test/helpers.ts'

const N = Number(process.env.EXCHANGE_CHAIN_N ?? 20_000)
const BLOCK = Number(process.env.EXCHANGE_CHAIN_BLOCK ?? 500)
const RUNS = Number(process.env.EXCHANGE_CHAIN_RUNS ?? 3)
const ACCOUNTS = 200
const MID = 1000

class TreeKV implements KVStore {
  readonly tree = new StateTree()
  get(k: Uint8Array) {
    return this.tree.get(k) ?? undefined
  }
  set(k: Uint8Array, v: Uint8Array) {
    this.tree.set(k, v)
  }
  delete(k: Uint8Array) {
    this.tree.delete(k)
  }
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 2 ** 32
  }
}

type Op =
  | { op: 'place'; user: number; side: 'buy' | 'sell'; type: 'limit' | 'ioc'; price: bigint; size: bigint }
  | { op: 'cancel'; user: number; target: number }

function stream(n: number): Op[][] {
  const rnd = xorshift(0x5eed)
  const blocks: Op[][] = []
  const placed: { user: number; index: number }[] = []
  let index = 0
  for (let b = 0; b * BLOCK < n; b++) {
    const ops: Op[] = []
    const older = placed.length
    for (let i = 0; i < BLOCK && b * BLOCK + i < n; i++) {
      const r = rnd()
      const user = Math.floor(rnd() * ACCOUNTS)
      const side = rnd() < 0.5 ? 'buy' : 'sell'
      if (r < 0.25 && older > 0) {
        const t = placed[Math.floor(rnd() * older)]!
        ops.push({ op: 'cancel', user: t.user, target: t.index })
      } else {
        const taker = r > 0.9
        const marketable = taker || rnd() < 0.125
        const off = 1 + Math.floor(rnd() * 20)
        const price = BigInt(
          side === 'buy' ? (marketable ? MID + off : MID - off) : marketable ? MID - off : MID + off,
        )
        const size = BigInt(1 + Math.floor(rnd() * (taker ? 40 : 10)))
        ops.push({ op: 'place', user, side, type: taker ? 'ioc' : 'limit', price, size })
        placed.push({ user, index })
      }
      index++
    }
    blocks.push(ops)
  }
  return blocks
}

const keys = Array.from({ length: ACCOUNTS }, (_, i) => {
  const seed = new Uint8Array(32)
  seed[0] = 7
  seed[1] = i
  return generateKeyPair('ed25519', seed)
})

const proposer = generateKeyPair('ed25519', new Uint8Array(32).fill(200))

function genesis(): Genesis {
  const v = proposer
  return {
    networkId: 'hub',
    genesisTimeMs: 0n,
    params: {
      networkId: 'hub',
      addressPrefix: 'pm',
      feeAsset: 'pulse',
      minFee: 10n,
      blockIntervalMs: 500,
      txLifetimeBlocksMax: 100_000n,
      blockTxsMax: 100_000,
      blockBytesMax: 1 << 26,
    },
    assets: [
      { id: 'pulse', decimals: 6, maxSupply: 0n },
      { id: 'gold', decimals: 0, maxSupply: 0n },
    ],
    balances: keys.flatMap((k) => [
      { address: addressFromPublicKey(k.publicKey, 'pm'), asset: 'pulse', amount: 10n ** 15n },
      { address: addressFromPublicKey(k.publicKey, 'pm'), asset: 'gold', amount: 10n ** 12n },
    ]),
    validators: [{ name: 'v', publicKey: v.publicKey.bytes, power: 1n }],
  }
}

/** Signs the whole stream (not timed): market creation, then one tx per op. */
function signStream(blocks: Op[][], mode: 'continuous' | 'auction') {
  const nonces = new Array<bigint>(ACCOUNTS).fill(0n)
  const tx = (u: number, kind: number, payload: Uint8Array): DecodedTx =>
    signed({ ...keys[u]!, scheme: 'ed25519' }, { kind, payload, nonce: nonces[u]++, expiresAt: 1_000_000n })
  const { EXCHANGE_KIND: K, codec } = exchange
  const setup = [
    tx(
      0,
      K.createMarket,
      codec.createMarket.encode({
        base: 'gold',
        quote: 'pulse',
        tickSize: 1n,
        lotSize: 1n,
        mode,
        maxPrice: 0n,
        maxLots: 0n,
      }),
    ),
  ]
  const ids: bigint[] = []
  const signedBlocks = blocks.map((ops) =>
    ops.map((o) => {
      if (o.op === 'cancel') return tx(o.user, K.cancel, codec.cancel.encode({ orderId: ids[o.target]! }))
      const d = tx(
        o.user,
        K.place,
        codec.place.encode({
          market: 'gold:pulse',
          side: o.side,
          type: o.type,
          price: o.price,
          size: o.size,
          stp: 'none',
        }),
      )
      ids.push(exchange.orderIdOf(d.hashHex))
      return d
    }),
  )
  // cancels reference ids by op index; fill the gaps left by cancels so indices line up
  return { setup, signedBlocks }
}

function runChain(
  setup: DecodedTx[],
  blocks: DecodedTx[][],
): { seconds: number; cpuSeconds: number; fills: number; failed: number; resting: number } {
  const app = new App(genesis().params, [bankModule, exchangeModule])
  const kv = new TreeKV()
  app.initGenesis(kv, genesis())
  let prevHash: Uint8Array = new Uint8Array(32)
  let height = 0n
  const exec = (txs: DecodedTx[]) => {
    height++
    const o = new Overlay(kv)
    const r = app.executeBlock(
      o,
      txs,
      {
        networkId: 'hub',
        height,
        timeMs: height * 500n,
        proposer: proposer.publicKey.bytes,
        prevHash,
        params: app.params,
      },
      { mode: 'build', verifySignatures: false },
    )
    o.commit()
    prevHash = sha256(kv.tree.root())
    return r
  }
  exec(setup)
  exchange.clearBookCache()
  let fills = 0
  let failed = 0
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (const b of blocks) {
    const r = exec(b)
    for (const e of r.endEvents) if (e.type === 'exchange_fill') fills++
    for (const x of r.results) if (x.error !== '') failed++
    if (r.included.length !== b.length) throw new Error('a tx was rejected at ante')
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(c0)
  const m = exchange.getMarket(kv, 'gold:pulse')!
  const resting = exchange.loadBook(kv, m).openOrders
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, fills, failed, resting }
}

function engineCommands(blocks: Op[][]): Command[] {
  const out: Command[] = []
  let index = 0
  const owners = new Map<number, number>()
  for (const ops of blocks)
    for (const o of ops) {
      if (o.op === 'cancel') out.push({ kind: 'cancel', id: BigInt(o.target), owner: `u${o.user}` })
      else {
        owners.set(index, o.user)
        out.push({
          kind: 'place',
          id: BigInt(index),
          owner: `u${o.user}`,
          side: o.side,
          type: o.type,
          price: o.price,
          size: o.size,
          stp: 'none',
        })
      }
      index++
    }
  return out
}

function runEngine(cmds: Command[]): { seconds: number; cpuSeconds: number } {
  const book = new OrderBook({ tickSize: 1n, lotSize: 1n })
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (const c of cmds) book.execute(c)
  const cpu = process.cpuUsage(c0)
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  const blocks = stream(N)
  // the stream's cancel targets are op indices; map them to the index among placed orders
  const placeIndex = new Map<number, number>()
  let k = 0
  let idx = 0
  for (const ops of blocks)
    for (const o of ops) {
      if (o.op === 'place') placeIndex.set(idx, k++)
      idx++
    }
  const remapped = blocks.map((ops) =>
    ops.map((o) => (o.op === 'cancel' ? { ...o, target: placeIndex.get(o.target)! } : o)),
  )
  const cmds = engineCommands(blocks)
  const result: Record<string, unknown> = { orders: N, blockTxs: BLOCK, runs: RUNS, accounts: ACCOUNTS }
  for (const mode of ['continuous', 'auction'] as const) {
    const { setup, signedBlocks } = signStream(remapped, mode)
    const chainRuns: number[] = []
    const chainCpu: number[] = []
    let info = { fills: 0, failed: 0, resting: 0 }
    for (let r = 0; r < RUNS; r++) {
      const x = runChain(setup, signedBlocks)
      chainRuns.push(x.seconds)
      chainCpu.push(x.cpuSeconds)
      info = x
    }
    const engineRuns: number[] = []
    const engineCpu: number[] = []
    for (let r = 0; r < RUNS * 3; r++) {
      const x = runEngine(cmds)
      engineRuns.push(x.seconds)
      engineCpu.push(x.cpuSeconds)
    }
    const chainRate = N / median(chainRuns)
    const engineRate = N / median(engineRuns)
    const chainCpuRate = N / median(chainCpu)
    const engineCpuRate = N / median(engineCpu)
    result[mode] = {
      chainOrdersPerSecond: Math.round(chainRate),
      engineOrdersPerSecond: Math.round(engineRate),
      ratioChainToEngine: Number((chainRate / engineRate).toFixed(4)),
      chainOrdersPerCpuSecond: Math.round(chainCpuRate),
      engineOrdersPerCpuSecond: Math.round(engineCpuRate),
      ratioChainToEnginePerCpuSecond: Number((chainCpuRate / engineCpuRate).toFixed(4)),
      chainBlocksPerSecond: Number((signedBlocks.length / median(chainRuns)).toFixed(2)),
      fills: info.fills,
      failedTxs: info.failed,
      restingAtEnd: info.resting,
    }
  }
  return result
}
