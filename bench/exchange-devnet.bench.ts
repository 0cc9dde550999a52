/**
 * Exchange end to end on a 4-validator devnet (4 processes, libp2p between them, HTTP submit):
 *
 *  - latency: two traders submit crossing signed limit orders at a steady rate (a sell and a buy
 *    of one lot at the same price per tick, each trader through its own validator's API); for every
 *    fill the time from submitting the later of its two orders to the `exchange_fill` event of the
 *    committed block arriving on validator 0's WebSocket events stream. p50/p99 (target p99 < 100 ms).
 *  - throughput: SELLERS + BUYERS accounts submit a backlog of crossing orders as fast as the API
 *    takes them; fills/s = fills seen on the stream / (last fill − first submit).
 *
 * The consensus settings are the ones in the tree when the bench runs (see the README for which).
 * EXDEV_RATE (pairs/s, default 20), EXDEV_SECONDS (default 15), EXDEV_BACKLOG (orders per account,
 * default 25) change the size.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exchange, parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, generateKeyPair, type KeyPair } from '@pulsemesh/core'
import { installNodeCrypto } from '@pulsemesh/node/crypto/node-backend.ts'
import { ProcessDevnet } from '@pulsemesh/node/p2p/devnet-processes.ts'
import { BANK_KIND, createAssetPayload, PulseClient, signTx, transferPayload } from '@pulsemesh/sdk'

const NET = 'hub'
const RATE = Number(process.env.EXDEV_RATE ?? 20)
const SECONDS = Number(process.env.EXDEV_SECONDS ?? 15)
const BACKLOG = Number(process.env.EXDEV_BACKLOG ?? 25)
const SELLERS = 8
const BUYERS = 8
const MARKET = 'acoin:pulse'
const PRICE = 1_000n
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Trader = KeyPair & { address: string; nonce: bigint; lane: Promise<unknown> }

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

function trader(i: number): Trader {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, 0xe7c0 + i)
  const kp = generateKeyPair('ed25519', seed)
  return { ...kp, address: addressFromPublicKey(kp.publicKey, 'pm'), nonce: 0n, lane: Promise.resolve() }
}

async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
  for (let k = 0; ; k++) {
    try {
      return await fetch(url, init)
    } catch (e) {
      if (k >= 4) throw e
      await sleep(50 * 2 ** k)
    }
  }
}

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  const issuer = trader(0)
  const latSeller = trader(1)
  const latBuyer = trader(2)
  const sellers = Array.from({ length: SELLERS }, (_, i) => trader(10 + i))
  const buyers = Array.from({ length: BUYERS }, (_, i) => trader(100 + i))
  const everyone = [issuer, latSeller, latBuyer, ...sellers, ...buyers]
  const dir = mkdtempSync(join(tmpdir(), 'pm-exdevbench-'))
  const settings = {
    blockIntervalMs: 100,
    commitDelayMs: 50,
    timeouts: {
      proposeBaseMs: 1500,
      proposeDeltaMs: 500,
      prevoteBaseMs: 500,
      prevoteDeltaMs: 250,
      precommitBaseMs: 500,
      precommitDeltaMs: 250,
    },
  }
  const net = await ProcessDevnet.start({
    validators: 4,
    dir,
    ...settings,
    extraBalances: everyone.map((t) => ({ address: t.address, amount: 1_000_000_000_000_000n })),
  })
  const ws = new WebSocket(`${net.members[0]!.apiUrl.replace('http', 'ws')}/v1/ws`)
  const opened = new Promise<void>((res, rej) => {
    ws.onopen = () => res()
    ws.onerror = () => rej(new Error('websocket failed'))
  })
  try {
    const api = net.members.map((m) => `${m.apiUrl}/v1/networks/${NET}`)
    const getJson = async <T>(url: string): Promise<T> => {
      const r = await fetchRetry(url)
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`)
      return (await r.json()) as T
    }
    const height = async () => BigInt((await getJson<{ height: string }>(`${api[0]}/status`)).height)
    while ((await height()) < 2n) await sleep(100)

    const sign = (t: Trader, kind: number, payload: Uint8Array) =>
      signTx(
        { scheme: 'ed25519', publicKey: t.publicKey, secret: t.secretKey },
        { networkId: NET, nonce: t.nonce++, fee: 1000n, expiresAt: 5_000n, memo: '' },
        kind,
        payload,
      )
    const errors: string[] = []
    const post = async (validator: number, bytes: Uint8Array): Promise<number> => {
      const r = await fetchRetry(`${api[validator % 4]}/txs`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      })
      const body = await r.text()
      if (r.status !== 202 && errors.length < 5) errors.push(body.slice(0, 300))
      return r.status
    }
    const waitTx = async (hash: string) => {
      for (let k = 0; k < 600; k++) {
        const r = await fetchRetry(`${api[0]}/txs/${hash}`)
        if (r.ok) {
          const j = (await r.json()) as { status: string; result?: { ok: boolean; error?: string } }
          if (j.status === 'committed') {
            if (j.result && !j.result.ok) throw new Error(`setup tx ${hash} failed: ${j.result.error}`)
            return
          }
        } else await r.arrayBuffer()
        await sleep(50)
      }
      throw new Error(`setup tx ${hash} not committed`)
    }

    // ---- setup: asset, sellers funded with it, market ----
    const { codec, EXCHANGE_KIND: K } = exchange
    const setup: string[] = []
    const send = async (t: Trader, kind: number, payload: Uint8Array) => {
      const s = sign(t, kind, payload)
      if ((await post(0, s.bytes)) !== 202) throw new Error(`setup tx refused: ${errors.at(-1)}`)
      setup.push(s.hash)
    }
    await send(issuer, BANK_KIND.createAsset, createAssetPayload('acoin', 0, 0n, 10n ** 15n))
    await send(
      issuer,
      K.createMarket,
      codec.createMarket.encode({
        base: 'acoin',
        quote: 'pulse',
        tickSize: 1n,
        lotSize: 1n,
        mode: 'continuous',
        maxPrice: 0n,
        maxLots: 0n,
      }),
    )
    for (const t of [latSeller, ...sellers])
      await send(
        issuer,
        BANK_KIND.transfer,
        transferPayload(parseAccount(t.address, 'pm'), 'acoin', 10n ** 12n),
      )
    for (const h of setup) await waitTx(h)

    // ---- the fill stream on validator 0 ----
    const fills: { buy: string; sell: string; at: number }[] = []
    await opened
    ws.onmessage = (m) => {
      const at = performance.now()
      const j = JSON.parse(String(m.data)) as {
        type?: string
        event?: { type: string; attributes: { key: string; value: string }[] }
      }
      if (j.type !== 'event' || j.event?.type !== 'exchange_fill') return
      const a = Object.fromEntries(j.event.attributes.map((x) => [x.key, x.value]))
      fills.push({ buy: a.buy_order!, sell: a.sell_order!, at })
    }
    ws.send(
      JSON.stringify({
        op: 'subscribe',
        id: 'f',
        channel: 'events',
        network: NET,
        eventType: 'exchange_fill',
      }),
    )
    await sleep(300)

    const order = (t: Trader, side: 'buy' | 'sell') =>
      sign(
        t,
        K.place,
        codec.place.encode({
          market: MARKET,
          side,
          type: 'limit',
          price: PRICE,
          size: 1n,
          stp: 'cancel-newest',
        }),
      )
    const orderId = (hash: string) => BigInt(`0x${hash.slice(0, 13)}`).toString()

    // ---- latency: RATE crossing pairs per second, two traders, one validator API each ----
    // Each trader keeps a queue; its lane posts whatever is queued as one batch (txs/batch keeps
    // the order, so consecutive nonces may share a request). Submit time = time queued.
    const submitAt = new Map<string, number>()
    const clients = net.members.map((m) => new PulseClient({ baseUrl: m.apiUrl }))
    const submitRetry = async (v: number, txs: Uint8Array[]) => {
      for (let k = 0; ; k++) {
        try {
          return await clients[v]!.submitTxs(NET, txs)
        } catch (e) {
          if (k >= 3) throw e
          await sleep(100 * 2 ** k)
        }
      }
    }
    let refused = 0
    const errors2: string[] = []
    const lane = async (v: number, queue: Uint8Array[], done: () => boolean) => {
      while (!done() || queue.length > 0) {
        if (queue.length === 0) {
          await sleep(1)
          continue
        }
        const txs = queue.splice(0, queue.length)
        const r = await submitRetry(v, txs)
        refused += r.rejected
        for (const x of r.results)
          if (x.status === 'rejected' && errors2.length < 5) errors2.push(`${x.code}`)
      }
    }
    const total = RATE * SECONDS
    let sent = 0
    const qs: Uint8Array[] = []
    const qb: Uint8Array[] = []
    const lanes = [lane(1, qs, () => sent >= total), lane(2, qb, () => sent >= total)]
    const latStart = performance.now()
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - latStart) / 1000) * RATE))
      for (; sent < due; sent++) {
        const a = order(latSeller, 'sell')
        const b = order(latBuyer, 'buy')
        const now = performance.now()
        submitAt.set(orderId(a.hash), now)
        submitAt.set(orderId(b.hash), now)
        qs.push(a.bytes)
        qb.push(b.bytes)
      }
      await sleep(2)
    }
    const offeredSeconds = (performance.now() - latStart) / 1000
    await Promise.all(lanes)
    const submittedSeconds = (performance.now() - latStart) / 1000
    const latFills = () => fills.filter((f) => submitAt.has(f.buy) && submitAt.has(f.sell))
    for (let k = 0; k < 400 && latFills().length < total; k++) await sleep(50)
    const lat = latFills().map((f) => f.at - Math.max(submitAt.get(f.buy)!, submitAt.get(f.sell)!))
    console.error(
      `[exchange-devnet] latency phase: ${lat.length} fills, p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms`,
    )

    // ---- throughput: a backlog of crossing orders from SELLERS + BUYERS accounts ----
    const ids = new Set<string>()
    const backlog = [...sellers, ...buyers].map((t, i) => {
      const list: Uint8Array[] = []
      for (let k = 0; k < BACKLOG; k++) {
        const o = order(t, i < SELLERS ? 'sell' : 'buy')
        ids.add(orderId(o.hash))
        list.push(o.bytes)
      }
      return { v: i % 4, list }
    })
    const satFrom = fills.length
    const satStart = performance.now()
    let satRefused = 0
    // one request at a time per validator (a loaded validator answers slowly; parallel requests
    // to it only queue up), the four validators in parallel
    await Promise.all(
      [0, 1, 2, 3].map(async (v) => {
        for (const b of backlog.filter((x) => x.v === v)) {
          const r = await submitRetry(v, b.list)
          satRefused += r.rejected
        }
      }),
    )
    const satSubmitted = performance.now()
    const expected = SELLERS * BACKLOG
    const satFills = () => fills.slice(satFrom).filter((f) => ids.has(f.buy))
    const heights: string[] = []
    for (let k = 0; k < 3600 && satFills().length < expected; k++) {
      await sleep(50)
      if (k % 100 === 0) {
        const h = (await getJson<{ height: string }>(`${api[0]}/status`)).height
        heights.push(h)
        console.error(`[exchange-devnet] throughput: height ${h}, ${satFills().length}/${expected} fills`)
      }
    }
    const sf = satFills()
    if (sf.length < expected)
      for (const m of net.members) console.error(`[v${m.index}] ${m.logs.slice(-8).join('\n')}`)
    const satEnd = sf.length > 0 ? sf[sf.length - 1]!.at : satSubmitted
    const status = await getJson<{ height: string }>(`${api[0]}/status`)

    return {
      setup:
        '4 validator processes on 127.0.0.1 (libp2p tcp+noise+yamux+gossipsub), HTTP submit of signed orders, fills from the WebSocket events stream of validator 0',
      consensus: settings,
      latency: {
        pairsPerSecond: RATE,
        offeredPairsPerSecond: Math.round(total / offeredSeconds),
        acceptedPairsPerSecond: Math.round(total / submittedSeconds),
        orders: total * 2,
        refused,
        fills: lat.length,
        of: total,
        p50Ms: Math.round(pct(lat, 50)),
        p99Ms: Math.round(pct(lat, 99)),
        maxMs: Math.round(Math.max(...lat)),
        targetP99Ms: 100,
      },
      throughput: {
        accounts: SELLERS + BUYERS,
        orders: (SELLERS + BUYERS) * BACKLOG,
        refused: satRefused,
        fills: sf.length,
        of: expected,
        submitSeconds: +((satSubmitted - satStart) / 1000).toFixed(2),
        seconds: +((satEnd - satStart) / 1000).toFixed(2),
        fillsPerSecond: Math.round(sf.length / ((satEnd - satStart) / 1000)),
        ordersPerSecond: Math.round((2 * sf.length) / ((satEnd - satStart) / 1000)),
        heightsEvery5s: heights,
      },
      height: status.height,
      firstErrors: [...errors, ...errors2],
    }
  } finally {
    ws.close()
    await net.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
