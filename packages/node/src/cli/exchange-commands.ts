/**
 * Exchange commands of the `pulsemesh` CLI: markets, orders, books, pools, oracle prices, HTLC
 * swaps and a market-making bot. Amounts are integers in base units, prices are quote base units
 * per lot (see packages/app/README.md "On-chain exchange"). Reads go through the generic module
 * query route GET /v1/networks/:id/modules/exchange/:query.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { exchange, parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, fromHex, sha256, toHex, utf8 } from '@pulsemesh/core'
import type { Command } from 'commander'
import { cliContext } from './context.ts'
import { Keystore } from '../keys/keystore.ts'

const { EXCHANGE_KIND: K, codec } = exchange

const int = (s: string, what: string): bigint => {
  if (!/^[0-9]{1,39}$/.test(s))
    throw new Error(`${what} must be a non-negative integer, got ${JSON.stringify(s)}`)
  return BigInt(s)
}

export function registerExchangeCommands(program: Command): void {
  const { g, client, out, act, submit: submitTx } = cliContext(program)

  const query = async <T>(name: string, args: Record<string, string> = {}): Promise<T> => {
    const qs = new URLSearchParams(args).toString()
    const r = await client().request<{ result: T }>(
      'GET',
      `/v1/networks/${g().network}/modules/exchange/${name}${qs ? `?${qs}` : ''}`,
    )
    return r.result
  }

  /** Signs and submits one exchange tx; waits for its block unless told not to. */
  const submit = (from: string, kind: number, payload: Uint8Array, wait = true, nonce?: bigint) =>
    submitTx(from, kind, payload, { wait, nonce })
  const report = (
    what: string,
    r: { hash: string; ok: boolean; error: string; height: string },
    extra = {},
  ) => {
    out(`${what}: tx ${r.hash}${r.ok ? ` committed at height ${r.height}` : ` FAILED: ${r.error}`}`, {
      ...r,
      ...extra,
    })
    if (!r.ok) process.exitCode = 1
  }

  // ------------------------------------------------------------------ markets
  const market = program.command('market').description('exchange markets')
  market
    .command('create')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--base <asset>', 'base asset')
    .requiredOption('--quote <asset>', 'quote asset')
    .option('--tick <n>', 'price step (quote units per lot)', '1')
    .option('--lot <n>', 'base units per lot', '1')
    .option('--mode <mode>', 'continuous or auction (uniform-price batch per block)', 'continuous')
    .action(
      act(
        async (o: { from: string; base: string; quote: string; tick: string; lot: string; mode: string }) => {
          if (o.mode !== 'continuous' && o.mode !== 'auction')
            throw new Error('--mode must be continuous or auction')
          const p = codec.createMarket.encode({
            base: o.base,
            quote: o.quote,
            tickSize: int(o.tick, '--tick'),
            lotSize: int(o.lot, '--lot'),
            mode: o.mode,
            maxPrice: 0n,
            maxLots: 0n,
          })
          report(`market ${o.base}:${o.quote}`, await submit(o.from, K.createMarket, p), {
            market: `${o.base}:${o.quote}`,
          })
        },
      ),
    )
  market.command('list').action(
    act(async () => {
      const list = await query<Record<string, string | boolean | null>[]>('markets')
      out(
        list
          .map(
            (m) =>
              `${String(m.id).padEnd(24)} ${String(m.mode).padEnd(10)} tick ${m.tickSize} lot ${m.lotSize} bid ${m.bestBid ?? '-'} ask ${m.bestAsk ?? '-'} last ${m.lastPrice ?? '-'}${m.pool ? ' +pool' : ''}`,
          )
          .join('\n') || '(no markets)',
        list,
      )
    }),
  )

  // ------------------------------------------------------------------ orders
  const order = program.command('order').description('place, cancel and replace orders')
  order
    .command('place')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--market <id>', 'market id base:quote')
    .requiredOption('--side <side>', 'buy or sell')
    .requiredOption('--size <n>', 'size in base units (multiple of the lot)')
    .option('--price <n>', 'price per lot (market orders: worst accepted price)', '0')
    .option('--type <type>', 'limit | market | ioc | fok | post-only', 'limit')
    .option('--stp <mode>', 'cancel-newest | cancel-oldest | cancel-both | decrement | none', 'cancel-newest')
    .action(
      act(
        async (o: {
          from: string
          market: string
          side: string
          size: string
          price: string
          type: string
          stp: string
        }) => {
          if (o.side !== 'buy' && o.side !== 'sell') throw new Error('--side must be buy or sell')
          if (!exchange.ORDER_TYPES.includes(o.type as exchange.OrderKind)) throw new Error('bad --type')
          if (!exchange.STP_MODES.includes(o.stp as exchange.StpName)) throw new Error('bad --stp')
          const p = codec.place.encode({
            market: o.market,
            side: o.side,
            type: o.type as exchange.OrderKind,
            price: int(o.price, '--price'),
            size: int(o.size, '--size'),
            stp: o.stp as exchange.StpName,
          })
          const r = await submit(o.from, K.place, p)
          const id = exchange.orderIdOf(r.hash).toString()
          report(`order ${id}`, r, { orderId: id })
        },
      ),
    )
  order
    .command('cancel')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--id <orderId>', 'order id')
    .action(
      act(async (o: { from: string; id: string }) => {
        report(
          `cancel ${o.id}`,
          await submit(o.from, K.cancel, codec.cancel.encode({ orderId: int(o.id, '--id') })),
        )
      }),
    )
  order
    .command('replace')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--id <orderId>', 'order id')
    .requiredOption('--price <n>', 'new price per lot')
    .requiredOption('--size <n>', 'new open size in base units')
    .action(
      act(async (o: { from: string; id: string; price: string; size: string }) => {
        const p = codec.replace.encode({
          orderId: int(o.id, '--id'),
          price: int(o.price, '--price'),
          size: int(o.size, '--size'),
        })
        report(`replace ${o.id}`, await submit(o.from, K.replace, p))
      }),
    )
  order.command('show <id>').action(
    act(async (id: string) => {
      const r = await query<Record<string, unknown>>('order', { id })
      out(JSON.stringify(r, null, 2), r)
    }),
  )

  program
    .command('book <market>')
    .description('aggregated depth of a market')
    .option('--levels <n>', 'levels per side', '10')
    .action(
      act(async (m: string, o: { levels: string }) => {
        const b = await query<{
          bids: { price: string; lots: string }[]
          asks: { price: string; lots: string }[]
        }>('book', { market: m, levels: o.levels })
        const rows = [
          ...[...b.asks].reverse().map((l) => `  ask ${l.price.padStart(12)} × ${l.lots}`),
          '  ----',
          ...b.bids.map((l) => `  bid ${l.price.padStart(12)} × ${l.lots}`),
        ]
        out(`${m}\n${rows.join('\n')}`, b)
      }),
    )

  program
    .command('trades <market>')
    .description('last trades of a market, newest first')
    .option('--limit <n>', 'how many', '20')
    .action(
      act(async (m: string, o: { limit: string }) => {
        const r = await query<{ trades: Record<string, string>[] }>('trades', { market: m, limit: o.limit })
        out(
          r.trades
            .map(
              (t) =>
                `  h${t.height} ${t.venue.padEnd(7)} ${t.takerSide.padEnd(4)} ${t.lots} lots @ ${t.price}`,
            )
            .join('\n') || '(no trades)',
          r,
        )
      }),
    )
  program
    .command('candles <market>')
    .description('OHLCV candles, newest first')
    .option('--interval <i>', '1m, 1h or 1d', '1m')
    .option('--limit <n>', 'how many', '20')
    .action(
      act(async (m: string, o: { interval: string; limit: string }) => {
        const r = await query<{ candles: Record<string, string>[] }>('candles', {
          market: m,
          interval: o.interval,
          limit: o.limit,
        })
        out(
          r.candles
            .map(
              (c) =>
                `  ${new Date(Number(c.startMs)).toISOString()} o ${c.open} h ${c.high} l ${c.low} c ${c.close} vol ${c.volumeLots}`,
            )
            .join('\n') || '(no candles)',
          r,
        )
      }),
    )
  program
    .command('positions <address>')
    .description('open orders and the funds they lock')
    .action(
      act(async (a: string) => {
        const r = await query<{ orders: Record<string, string>[]; locked: Record<string, string> }>(
          'positions',
          { owner: a },
        )
        out(
          [
            ...r.orders.map(
              (o) =>
                `  ${o.id} ${o.market} ${o.side} ${o.type} ${o.resting}/${o.lots} lots @ ${o.price} locked ${o.locked}`,
            ),
            `  locked: ${
              Object.entries(r.locked)
                .map(([k, v]) => `${v} ${k}`)
                .join(', ') || 'nothing'
            }`,
          ].join('\n'),
          r,
        )
      }),
    )

  // ------------------------------------------------------------------ pools
  const pool = program
    .command('pool')
    .description('AMM pools (fee tiers per market; name a pool as <market>@<feeBps>)')
  pool
    .command('create')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--market <id>', 'market id base:quote')
    .requiredOption('--base <n>', 'base deposit')
    .requiredOption('--quote <n>', 'quote deposit')
    .option('--fee <bps>', 'fee tier: 1, 5, 30 or 100 bps', '30')
    .action(
      act(async (o: { from: string; market: string; base: string; quote: string; fee: string }) => {
        const p = codec.poolCreate.encode({
          market: o.market,
          feeBps: Number(int(o.fee, '--fee')),
          base: int(o.base, '--base'),
          quote: int(o.quote, '--quote'),
        })
        report(`pool ${o.market}@${o.fee}`, await submit(o.from, K.poolCreate, p), {
          pool: `${o.market}@${o.fee}`,
        })
      }),
    )
  pool
    .command('add')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--market <pool>', 'pool: market@feeBps (or the market if it has one pool)')
    .requiredOption('--base <n>', 'base offered')
    .requiredOption('--quote <n>', 'quote offered')
    .option('--min-shares <n>', 'slippage bound', '0')
    .action(
      act(async (o: { from: string; market: string; base: string; quote: string; minShares: string }) => {
        const p = codec.poolAdd.encode({
          market: o.market,
          base: int(o.base, '--base'),
          quote: int(o.quote, '--quote'),
          minShares: int(o.minShares, '--min-shares'),
        })
        report(`add liquidity ${o.market}`, await submit(o.from, K.poolAdd, p))
      }),
    )
  pool
    .command('remove')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--market <pool>', 'pool: market@feeBps (or the market if it has one pool)')
    .requiredOption('--shares <n>', 'LP shares to burn')
    .action(
      act(async (o: { from: string; market: string; shares: string }) => {
        const p = codec.poolRemove.encode({
          market: o.market,
          shares: int(o.shares, '--shares'),
          minBase: 0n,
          minQuote: 0n,
        })
        report(`remove liquidity ${o.market}`, await submit(o.from, K.poolRemove, p))
      }),
    )
  pool
    .command('swap')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--market <pool>', 'pool: market@feeBps (or the market if it has one pool)')
    .requiredOption('--direction <dir>', 'sell-base or buy-base')
    .requiredOption('--amount-in <n>', 'exact input')
    .option('--min-out <n>', 'slippage bound', '0')
    .action(
      act(
        async (o: { from: string; market: string; direction: string; amountIn: string; minOut: string }) => {
          if (o.direction !== 'sell-base' && o.direction !== 'buy-base') throw new Error('bad --direction')
          const p = codec.poolSwap.encode({
            market: o.market,
            direction: o.direction,
            amountIn: int(o.amountIn, '--amount-in'),
            minOut: int(o.minOut, '--min-out'),
          })
          report(`swap ${o.market}`, await submit(o.from, K.poolSwap, p))
        },
      ),
    )
  pool.command('show <pool>').action(
    act(async (m: string) => {
      const r = await query<Record<string, string>>('pool', { market: m })
      out(JSON.stringify(r, null, 2), r)
    }),
  )
  pool.command('list <market>').action(
    act(async (m: string) => {
      const r = await query<{ pools: Record<string, string>[] }>('pools', { market: m })
      out(
        r.pools
          .map(
            (p) =>
              `${p.id.padEnd(28)} fee ${p.feeBps} bps  base ${p.reserveBase}  quote ${p.reserveQuote}  price ${p.price}`,
          )
          .join('\n') || '(no pools)',
        r,
      )
    }),
  )

  // ------------------------------------------------------------------ oracle
  const oracle = program.command('oracle').description('validator price oracle')
  oracle
    .command('submit')
    .requiredOption('--from <key>', 'validator key name')
    .requiredOption('--symbol <s>', 'symbol (usually a market id)')
    .requiredOption('--price <n>', 'price per lot')
    .action(
      act(async (o: { from: string; symbol: string; price: string }) => {
        const p = codec.oracleSubmit.encode({ symbol: o.symbol, price: int(o.price, '--price') })
        report(`price ${o.symbol}`, await submit(o.from, K.oracleSubmit, p))
      }),
    )
  oracle.command('price <symbol>').action(
    act(async (s: string) => {
      const r = await query<Record<string, string | null>>('price', { symbol: s })
      out(r.price === null ? `${s}: no price` : `${s}: ${r.price} (height ${r.height})`, r)
    }),
  )

  // ------------------------------------------------------------------ HTLC swaps
  const swap = program.command('swap').description('HTLC atomic swaps')
  swap
    .command('lock')
    .requiredOption('--from <key>', 'key name')
    .requiredOption('--to <address>', 'recipient')
    .requiredOption('--asset <id>', 'asset')
    .requiredOption('--amount <n>', 'amount in base units')
    .requiredOption('--timeout <height>', 'last height a claim is accepted')
    .option('--hashlock <hex>', 'sha256 of the secret (default: a fresh secret is generated and printed)')
    .action(
      act(
        async (o: {
          from: string
          to: string
          asset: string
          amount: string
          timeout: string
          hashlock?: string
        }) => {
          const st = await client().status(g().network)
          let secret: string | undefined
          let hashlock: Uint8Array
          if (o.hashlock !== undefined) hashlock = fromHex(o.hashlock)
          else {
            const s = new Uint8Array(randomBytes(32))
            secret = toHex(s)
            hashlock = sha256(s)
          }
          if (hashlock.length !== 32) throw new Error('--hashlock must be 32 bytes of hex')
          const p = codec.htlcLock.encode({
            recipient: parseAccount(o.to, st.params.addressPrefix),
            asset: o.asset,
            amount: int(o.amount, '--amount'),
            hashlock,
            timeoutHeight: int(o.timeout, '--timeout'),
          })
          const r = await submit(o.from, K.htlcLock, p)
          report(`swap ${r.hash}${secret ? `\n  secret (keep it until you claim): ${secret}` : ''}`, r, {
            swapId: r.hash,
            hashlock: toHex(hashlock),
            ...(secret ? { secret } : {}),
          })
        },
      ),
    )
  swap
    .command('claim')
    .requiredOption('--from <key>', 'key name of the recipient')
    .requiredOption('--id <swapId>', 'swap id (the lock tx hash)')
    .requiredOption('--preimage <hex>', 'the secret, hex (or text with --text)')
    .option('--text', 'the preimage is UTF-8 text')
    .action(
      act(async (o: { from: string; id: string; preimage: string; text?: boolean }) => {
        const preimage = o.text ? utf8(o.preimage) : fromHex(o.preimage)
        report(
          `claim ${o.id}`,
          await submit(o.from, K.htlcClaim, codec.htlcClaim.encode({ swapId: fromHex(o.id), preimage })),
        )
      }),
    )
  swap
    .command('refund')
    .requiredOption('--from <key>', 'key name of the sender')
    .requiredOption('--id <swapId>', 'swap id')
    .action(
      act(async (o: { from: string; id: string }) => {
        report(
          `refund ${o.id}`,
          await submit(o.from, K.htlcRefund, codec.htlcRefund.encode({ swapId: fromHex(o.id) })),
        )
      }),
    )

  // ------------------------------------------------------------------ market maker
  program
    .command('mm')
    .description('market-making bot: quotes bid/ask ladders around the oracle price (or the book mid)')
    .requiredOption('--market <id>', 'market id base:quote')
    .requiredOption('--from <key>', 'key name')
    .option('--spread-bps <n>', 'half-spread around the reference, basis points', '50')
    .option('--levels <n>', 'levels per side', '3')
    .option('--size <n>', 'size per level in base units (multiple of the lot)', '')
    .option('--interval <ms>', 'requote interval', '2000')
    .option('--once', 'quote one round and exit')
    .action(
      act(
        async (o: {
          market: string
          from: string
          spreadBps: string
          levels: string
          size: string
          interval: string
          once?: boolean
        }) => {
          const m = await query<Record<string, string | null>>('market', { market: o.market })
          const tick = BigInt(m.tickSize!)
          const lot = BigInt(m.lotSize!)
          const size = o.size === '' ? lot : int(o.size, '--size')
          const spread = int(o.spreadBps, '--spread-bps')
          const levels = Number(int(o.levels, '--levels'))
          let live: string[] = []
          for (;;) {
            const px = await query<Record<string, string | null>>('price', { symbol: o.market })
            const top = await query<Record<string, string | null>>('market', { market: o.market })
            const ref =
              px.price !== null
                ? BigInt(px.price)
                : top.bestBid && top.bestAsk
                  ? (BigInt(top.bestBid) + BigInt(top.bestAsk)) / 2n
                  : top.lastPrice
                    ? BigInt(top.lastPrice)
                    : null
            if (ref === null) console.error(`[mm] no oracle price or book for ${o.market} yet`)
            else {
              const st = await client().status(g().network)
              const key = new Keystore(g().home).load(o.from)
              const addr = addressFromPublicKey(key.publicKey, st.params.addressPrefix)
              let nonce = BigInt((await client().account(g().network, addr)).nextNonce)
              // pull every resting quote of ours in this market (also those of an earlier run),
              // then quote the new ladder
              const mine = await query<{ orders: { id: string; market: string; pending: boolean }[] }>(
                'positions',
                { owner: addr },
              )
              const stale = new Set([
                ...live,
                ...mine.orders.filter((x) => x.market === o.market && !x.pending).map((x) => x.id),
              ])
              for (const id of stale) {
                const ok = await submit(
                  o.from,
                  K.cancel,
                  codec.cancel.encode({ orderId: BigInt(id) }),
                  false,
                  nonce,
                )
                  .then(() => true)
                  .catch(() => false)
                // a refused tx did not use its nonce: ask the node again
                nonce = ok ? nonce + 1n : BigInt((await client().account(g().network, addr)).nextNonce)
              }
              live = []
              for (let i = 0; i < levels; i++) {
                // level i sits (i+1) half-spreads away, at least (i+1) ticks, so bid < ask always
                const step = BigInt(i + 1)
                const bps = (ref * spread * step) / 10_000n
                const off = bps > tick * step ? bps : tick * step
                const bid = ((ref - off) / tick) * tick
                const ask = ((ref + off + tick - 1n) / tick) * tick
                for (const [side, price] of [
                  ['buy', bid],
                  ['sell', ask],
                ] as const) {
                  if (price <= 0n) continue
                  const p = codec.place.encode({
                    market: o.market,
                    side,
                    type: 'post-only',
                    price,
                    size,
                    stp: 'cancel-newest',
                  })
                  const r = await submit(o.from, K.place, p, false, nonce).catch((e: Error) => {
                    console.error(`[mm] ${side} ${price}: ${e.message}`)
                    return undefined
                  })
                  if (r) {
                    nonce++
                    live.push(exchange.orderIdOf(r.hash).toString())
                  } else nonce = BigInt((await client().account(g().network, addr)).nextNonce)
                }
              }
              out(`[mm] ${o.market} ref ${ref}: ${live.length} quotes`, {
                market: o.market,
                ref: ref.toString(),
                orders: live,
              })
            }
            if (o.once) return
            await sleep(Number(int(o.interval, '--interval')))
          }
        },
      ),
    )
}
