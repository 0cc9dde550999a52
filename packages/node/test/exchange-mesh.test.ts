/**
 * The exchange across networks on a running mesh devnet node (hub, emotionalchain, tenant-a,
 * tenant-b in one process, relayers, HTTP API), driven through the CLI and the SDK:
 *
 *  - vouchers: acoin goes tenant-a -> hub as `transfer/tenant-a/acoin`, trades on a hub market
 *    against PULSE between two accounts (fill, positions, trades, pool price, oracle price over
 *    the API), and the buyer sends the proceeds home to tenant-a;
 *  - HTLC: demo and carol swap acoin on tenant-a for bcoin on tenant-b under one hash lock (lock A,
 *    lock B, claim B reveals the preimage, claim A with it) with the bad cases: claim by the wrong
 *    party, wrong preimage, refund before the timeout, replayed claim, claim after the timeout,
 *    refund after it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { BANK_KIND, EXCHANGE_KIND, exchange, parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, sha256, toHex } from '@pulsemesh/core'
import { type BookUpdate, ExchangeClient, subscribeBook, subscribeTrades } from '@pulsemesh/sdk/exchange.ts'
import { PulseClient, PulseStream, signTx, transferPayload } from '@pulsemesh/sdk'
import { Keystore } from '../src/keys/keystore.ts'
import { type RunningMeshDevnet, runMeshDevnet } from '../src/mesh/devnet.ts'
import { runCliJson } from './cli-in-process.ts'
import { tempDir } from './fixtures.ts'

let d: RunningMeshDevnet
let home: string
let cleanup: () => void
let api: PulseClient
const addr: Record<string, string> = {}
const VOUCHER = 'transfer/tenant-a/acoin'
const MARKET = `${VOUCHER}:pulse`

type TxOut = { hash: string; ok: boolean; error: string; height: string; swapId?: string; orderId?: string }

/** One CLI command with --json on `network`, in this process. */
const cli = <T = TxOut>(network: string, ...args: string[]) =>
  runCliJson<T>({ home, node: d.url, network }, args)

/** Signs with a keystore key and submits through the SDK; waits for the block. */
async function send(network: string, key: string, kind: number, payload: Uint8Array) {
  const k = new Keystore(home).load(key)
  const a = addressFromPublicKey(k.publicKey, 'pm')
  const st = await api.status(network)
  const nonce = BigInt((await api.account(network, a)).nextNonce)
  const t = signTx(
    { scheme: 'ed25519', publicKey: k.publicKey, secret: k.secret },
    { networkId: network, nonce, fee: BigInt(st.params.minFee), expiresAt: BigInt(st.height) + 100n },
    kind,
    payload,
  )
  await api.submitTx(network, t.bytes)
  const done = await api.waitForTx(network, t.hash)
  return { ...t, result: done.result }
}
const fund = (network: string, to: string, asset: string, amount: bigint) =>
  send(network, 'demo', BANK_KIND.transfer, transferPayload(parseAccount(to, 'pm'), asset, amount))
const balance = async (network: string, who: string, asset: string) =>
  BigInt((await api.balances(network, who)).balances[asset] ?? '0')
const height = async (network: string) => BigInt((await api.status(network)).height)
/** `order place` on the hub (limit order; size in lots, price in quote units per lot). */
const placeOrder = (from: string, market: string, side: 'buy' | 'sell', size: string, price: string) =>
  cli(
    'hub',
    'order',
    'place',
    '--from',
    from,
    '--market',
    market,
    '--side',
    side,
    '--size',
    size,
    '--price',
    price,
  )
/** `swap lock`: `amount` of `asset` to `to`, claimable with the preimage of `hashlock` until `timeout` (a height). */
const swapLock = (
  network: string,
  o: { from: string; to: string; asset: string; amount: string; timeout: bigint; hashlock: string },
) =>
  cli(
    network,
    'swap',
    'lock',
    '--from',
    o.from,
    '--to',
    o.to,
    '--asset',
    o.asset,
    '--amount',
    o.amount,
    '--timeout',
    String(o.timeout),
    '--hashlock',
    o.hashlock,
  )
const swapClaim = (network: string, from: string, id: string, preimage: string) =>
  cli(network, 'swap', 'claim', '--from', from, '--id', id, '--preimage', preimage)

describe('exchange across networks (mesh devnet, CLI + SDK)', () => {
  before(async () => {
    const t = tempDir('pm-exmesh-')
    home = t.dir
    cleanup = t.cleanup
    d = await runMeshDevnet(home, { port: 0, blockIntervalMs: 100 })
    api = new PulseClient({ baseUrl: d.url })
    const ks = new Keystore(home)
    for (const n of ['bob', 'carol']) ks.create(n, 'ed25519')
    for (const n of ['demo', 'bob', 'carol', 'validator-mesh'])
      addr[n] = addressFromPublicKey(ks.load(n).publicKey, 'pm')
  })
  after(async () => {
    await d.stop()
    cleanup()
  })

  it('a tenant-a voucher trades against PULSE on the hub; proceeds go home', async () => {
    // acoin to the hub: it lands as the voucher (with acoin's decimals)
    const t1 = await cli<{ landingDenom: string; credited: string }>(
      'hub',
      'transfer',
      '--from-network',
      'tenant-a',
      '--to-network',
      'hub',
      '--to',
      addr.demo!,
      '--base-units',
      '--amount',
      '10000',
      '--asset',
      'acoin',
      '--wait',
    )
    assert.equal(t1.landingDenom, VOUCHER)
    assert.equal(await balance('hub', addr.demo!, VOUCHER), 10_000n)
    await fund('hub', addr.bob!, 'pulse', 10_000_000n)
    await fund('hub', addr['validator-mesh']!, 'pulse', 1_000_000n)

    const mk = await cli('hub', 'market', 'create', '--from', 'demo', '--base', VOUCHER, '--quote', 'pulse')
    assert.equal(mk.ok, true, mk.error)
    // WebSocket streams of this market's book updates and trades (SDK helpers over /v1/ws)
    const stream = new PulseStream(d.url)
    await stream.connect()
    const books: BookUpdate[] = []
    const fills: { price: string; lots: string }[] = []
    subscribeBook(stream, 'hub', MARKET, (u) => books.push(u))
    subscribeTrades(stream, 'hub', MARKET, (t) => fills.push(t))
    subscribeBook(stream, 'hub', 'other:pulse', () => assert.fail('update of another market'))
    await new Promise((r) => setTimeout(r, 200))
    const sell = await placeOrder('demo', MARKET, 'sell', '100', '50')
    assert.equal(sell.ok, true, sell.error)
    const buy = await placeOrder('bob', MARKET, 'buy', '60', '55')
    assert.equal(buy.ok, true, buy.error)
    assert.equal(await balance('hub', addr.bob!, VOUCHER), 60n)
    for (let k = 0; k < 100 && (fills.length < 1 || books.length < 2); k++)
      await new Promise((r) => setTimeout(r, 50))
    stream.close()
    assert.deepEqual(
      fills.map((f) => [f.price, f.lots]),
      [['50', '60']],
    )
    assert.deepEqual(books.at(-1)!.asks, [{ price: '50', lots: '40' }])
    assert.equal(books.at(-1)!.lastPrice, '50')

    const ex = new ExchangeClient(api, 'hub')
    const trades = await ex.trades(MARKET)
    assert.deepEqual(
      trades.trades.map((t) => [t.price, t.lots, t.takerSide, t.buyOrder, t.sellOrder]),
      [['50', '60', 'buy', buy.orderId, sell.orderId]],
    )
    const pos = await ex.positions(addr.demo!)
    assert.deepEqual(pos.locked, { [VOUCHER]: '40' })
    assert.deepEqual(
      pos.orders.map((o) => [o.id, o.resting]),
      [[sell.orderId, '40']],
    )
    assert.deepEqual((await ex.positions(addr.bob!)).orders, [])
    assert.deepEqual((await ex.book(MARKET)).asks, [{ price: '50', lots: '40' }])
    assert.equal((await ex.candles(MARKET)).candles[0]?.close, '50')

    // a pool on the voucher pair and an oracle price, read back through the API
    const pool = await cli(
      'hub',
      'pool',
      'create',
      '--from',
      'demo',
      '--market',
      MARKET,
      '--base',
      '2000',
      '--quote',
      '104000',
      '--fee',
      '30',
    )
    assert.equal(pool.ok, true, pool.error)
    assert.equal((await ex.pool(`${MARKET}@30`)).price, '52.000000000')
    const px = await cli(
      'hub',
      'oracle',
      'submit',
      '--from',
      'validator-mesh',
      '--symbol',
      MARKET,
      '--price',
      '51',
    )
    assert.equal(px.ok, true, px.error)
    assert.equal((await ex.price(MARKET)).price, '51')
    const notValidator = await cli(
      'hub',
      'oracle',
      'submit',
      '--from',
      'bob',
      '--symbol',
      MARKET,
      '--price',
      '1',
    )
    assert.equal(notValidator.error, 'NOT_ORACLE_VALIDATOR')

    // the market-making bot quotes a ladder around the oracle price (51): post-only bids below,
    // asks above (each round first pulls every resting quote of its key in this market)
    const mm = await cli<{ ref: string; orders: string[] }>(
      'hub',
      'mm',
      '--market',
      MARKET,
      '--from',
      'demo',
      '--levels',
      '2',
      '--spread-bps',
      '500',
      '--once',
    )
    assert.equal(mm.ref, '51')
    assert.equal(mm.orders.length, 4)
    const quoted = async () => {
      for (let k = 0; k < 100; k++) {
        const p = await ex.positions(addr.demo!)
        const resting = p.orders.filter((o) => o.resting !== '0')
        if (mm.orders.every((id) => resting.some((o) => o.id === id))) return p
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error('mm quotes did not rest')
    }
    const q = await quoted()
    const prices = q.orders.filter((o) => mm.orders.includes(o.id)).map((o) => [o.side, o.price])
    assert.deepEqual(prices.sort(), [
      ['buy', '46'],
      ['buy', '49'],
      ['sell', '53'],
      ['sell', '56'],
    ])

    // the buyer takes the voucher home: it becomes acoin on tenant-a again
    const home2 = await cli<{ landingDenom: string; credited: string }>(
      'hub',
      'transfer',
      '--from',
      'bob',
      '--from-network',
      'hub',
      '--to-network',
      'tenant-a',
      '--to',
      addr.bob!,
      '--base-units',
      '--amount',
      '60',
      '--asset',
      VOUCHER,
      '--wait',
    )
    assert.equal(home2.landingDenom, 'acoin')
    assert.equal(await balance('tenant-a', addr.bob!, 'acoin'), 60n)
    assert.equal(await balance('hub', addr.bob!, VOUCHER), 0n)
  })

  it('bad input on the hub market: typed reasons and no state change', async () => {
    const before = await balance('hub', addr.bob!, 'pulse')
    const unknown = await placeOrder('bob', 'nope:pulse', 'buy', '1', '1')
    assert.equal(unknown.error, 'UNKNOWN_MARKET')
    const tooBig = await placeOrder('bob', MARKET, 'buy', '1000000000', '55')
    assert.equal(tooBig.error, 'INSUFFICIENT_FUNDS')
    // carol has no PULSE at all: the node refuses her tx before any block
    const broke = await placeOrder('carol', MARKET, 'buy', '1', '1')
    assert.equal(broke.error, 'INSUFFICIENT_FEE_FUNDS')
    const ex = new ExchangeClient(api, 'hub')
    const sellId = (await ex.positions(addr.demo!)).orders[0]!.id
    const notMine = await cli('hub', 'order', 'cancel', '--from', 'bob', '--id', sellId)
    assert.equal(notMine.error, 'NOT_ORDER_OWNER')
    // fees are the only change
    const fee = BigInt((await api.status('hub')).params.minFee)
    assert.equal(await balance('hub', addr.bob!, 'pulse'), before - 3n * fee)
    await assert.rejects(ex.trades('nope:pulse'), (e: { code?: string }) => e.code === 'UNKNOWN_MARKET')
    await assert.rejects(ex.positions('pm1bad'), (e: { code?: string }) => e.code === 'INVALID_ADDRESS')
  })

  it('HTLC: acoin on tenant-a for bcoin on tenant-b under one hash lock, with the bad cases', async () => {
    await fund('tenant-a', addr.carol!, 'acoin', 1_000_000n) // fees on tenant-a
    await fund('tenant-b', addr.carol!, 'bcoin', 10_000_000n)
    const secret = new Uint8Array(randomBytes(32))
    const H = toHex(sha256(secret))
    const ha = await height('tenant-a')
    const hb = await height('tenant-b')
    // demo locks on A (long timeout), carol locks on B with the same H (shorter timeout)
    const lockA = await swapLock('tenant-a', {
      from: 'demo',
      to: addr.carol!,
      asset: 'acoin',
      amount: '1000',
      timeout: ha + 60n,
      hashlock: H,
    })
    assert.equal(lockA.ok, true, lockA.error)
    const lockB = await swapLock('tenant-b', {
      from: 'carol',
      to: addr.demo!,
      asset: 'bcoin',
      amount: '500',
      timeout: hb + 30n,
      hashlock: H,
    })
    assert.equal(lockB.ok, true, lockB.error)
    const swapB = await new ExchangeClient(api, 'tenant-b').swap(lockB.swapId!)
    assert.equal(swapB.hashlock, H)

    const carolB0 = await balance('tenant-b', addr.carol!, 'bcoin')
    const wrongParty = await swapClaim('tenant-b', 'carol', lockB.swapId!, toHex(secret))
    assert.equal(wrongParty.error, 'NOT_SWAP_PARTY')
    const wrongPreimage = await swapClaim('tenant-b', 'demo', lockB.swapId!, '00'.repeat(32))
    assert.equal(wrongPreimage.error, 'WRONG_PREIMAGE')
    const early = await cli('tenant-b', 'swap', 'refund', '--from', 'carol', '--id', lockB.swapId!)
    assert.equal(early.error, 'SWAP_NOT_EXPIRED')
    const fee = 1000n
    assert.equal(await balance('tenant-b', addr.carol!, 'bcoin'), carolB0 - 2n * fee) // fees only

    // demo claims on B: the preimage is now public in the claim's event
    const demoB0 = await balance('tenant-b', addr.demo!, 'bcoin')
    const claimB = await swapClaim('tenant-b', 'demo', lockB.swapId!, toHex(secret))
    assert.equal(claimB.ok, true, claimB.error)
    assert.equal(await balance('tenant-b', addr.demo!, 'bcoin'), demoB0 + 500n - fee)
    const tx = await api.tx('tenant-b', claimB.hash)
    const ev = (
      tx.result as { events: { type: string; attributes: { key: string; value: string }[] }[] }
    ).events.find((e) => e.type === 'htlc_claimed')!
    const revealed = ev.attributes.find((a) => a.key === 'preimage')!.value
    assert.equal(revealed, toHex(secret))

    // carol claims on A with the revealed preimage
    const carolA0 = await balance('tenant-a', addr.carol!, 'acoin')
    const claimPayload = exchange.codec.htlcClaim.encode({
      swapId: Buffer.from(lockA.swapId!, 'hex'),
      preimage: Buffer.from(revealed, 'hex'),
    })
    const claimA = await send('tenant-a', 'carol', EXCHANGE_KIND.htlcClaim, claimPayload)
    assert.equal(claimA.result?.ok, true, claimA.result?.error)
    assert.equal(await balance('tenant-a', addr.carol!, 'acoin'), carolA0 + 1000n - fee)
    // replay: the same signed bytes are refused by the node; a fresh claim finds no swap
    await assert.rejects(api.submitTx('tenant-a', claimA.bytes), (e: { code?: string }) =>
      ['TX_DUPLICATE', 'NONCE_REUSED'].includes(e.code ?? ''),
    )
    const again = await swapClaim('tenant-a', 'carol', lockA.swapId!, revealed)
    assert.equal(again.error, 'UNKNOWN_SWAP')

    // timeout path: a short lock expires; the claim is refused, the sender refunds
    const ha2 = await height('tenant-a')
    const lockC = await swapLock('tenant-a', {
      from: 'demo',
      to: addr.carol!,
      asset: 'acoin',
      amount: '77',
      timeout: ha2 + 2n,
      hashlock: H,
    })
    assert.equal(lockC.ok, true, lockC.error)
    while ((await height('tenant-a')) <= ha2 + 2n) await fund('tenant-a', addr.demo!, 'acoin', 1n)
    const late = await swapClaim('tenant-a', 'carol', lockC.swapId!, toHex(secret))
    assert.equal(late.error, 'SWAP_EXPIRED')
    const byOther = await cli('tenant-a', 'swap', 'refund', '--from', 'carol', '--id', lockC.swapId!)
    assert.equal(byOther.error, 'NOT_SWAP_PARTY')
    const demoA0 = await balance('tenant-a', addr.demo!, 'acoin')
    const refund = await cli('tenant-a', 'swap', 'refund', '--from', 'demo', '--id', lockC.swapId!)
    assert.equal(refund.ok, true, refund.error)
    assert.equal(await balance('tenant-a', addr.demo!, 'acoin'), demoA0 + 77n - fee)
    await assert.rejects(
      new ExchangeClient(api, 'tenant-a').swap(lockC.swapId!),
      (e: { code?: string }) => e.code === 'UNKNOWN_SWAP',
    )
  })
})
