/**
 * Trading on a network's on-chain exchange: book (ladder + depth), recent trades, candles, AMM pool,
 * oracle price, and orders placed and cancelled from the wallet. Prices are shown and entered as
 * quote tokens per whole base token and sizes as base tokens (each asset's decimals from the bank);
 * conversion to the chain's units (quote base units per lot, base units) is exact (market-units.ts).
 */
import {
  BANK_KIND,
  createAssetPayload,
  EXCHANGE_KIND,
  ExchangeClient,
  exchangePayloads,
  type MarketView,
  type OrderView,
} from '@pulsemesh/sdk'
import { type FormEvent, useEffect, useMemo, useState } from 'react'
import { NetworkTabs, useNetworkParam } from '../App.tsx'
import { CandleChart, DepthChart } from '../components/Charts.tsx'
import { Confirm } from '../components/Confirm.tsx'
import { Badge, Card, ErrorBox, Loading, Show } from '../components/Status.tsx'
import { VirtualTable } from '../components/VirtualTable.tsx'
import { useDecimals } from '../lib/assets.ts'
import { formatNumber, formatUnits, timeAgo } from '../lib/format.ts'
import {
  displayLots,
  displayPrice,
  displaySize,
  lotsNumber,
  type MarketUnits,
  parsePrice,
  parseSize,
  priceNumber,
} from '../lib/market-units.ts'
import { client, live, orderedNetworks, useLive, useModules, useQuery } from '../lib/live.ts'
import { href, navigate } from '../lib/router.ts'
import { useWallet, wallet } from '../lib/wallet.ts'

type Market = MarketView

interface Level {
  price: string
  lots: string
}
export function Trading({ network: param, market }: { network?: string; market?: string }) {
  const network = useNetworkParam(param)
  const mods = useModules(network)
  const hasExchange = mods?.has('exchange/markets') === true
  const markets = useQuery(() => client.moduleQuery<Market[]>(network!, 'exchange', 'markets'), [network], {
    network,
    minGapMs: 2000,
    enabled: network !== undefined && hasExchange,
  })
  if (network === undefined || mods === undefined) return <Loading what="Connecting to the node" />
  if (!hasExchange)
    return (
      <>
        <h1>Trading</h1>
        <NetworkTabs page="trading" current={network} />
        <NoExchange network={network} />
      </>
    )
  const list = markets.data?.result ?? []
  const sel = list.find((m) => m.id === market) ?? list[0]
  return (
    <>
      <h1>Trading</h1>
      <NetworkTabs page="trading" current={network} />
      {markets.error && !markets.data ? (
        <ErrorBox error={markets.error} retry={markets.reload} />
      ) : !markets.data ? (
        <Loading what="Loading markets" />
      ) : (
        <>
          <nav className="tabs" aria-label="market">
            {list.map((m) => (
              <a
                key={m.id}
                href={href('trading', network, m.id)}
                aria-current={m.id === sel?.id ? 'page' : undefined}
              >
                {m.id}
              </a>
            ))}
          </nav>
          {sel ? (
            <MarketWithUnits key={sel.id} network={network} m={sel} mods={mods} />
          ) : (
            <p className="lead">No markets on {network} yet: unlock a funded key and create one below.</p>
          )}
          <CreateMarket network={network} />
        </>
      )}
    </>
  )
}

function NoExchange({ network }: { network: string }) {
  const l = useLive()
  return (
    <Card title="No exchange here">
      <p>
        {network} does not run the exchange module. Pick another network above
        {orderedNetworks(l.networkIds).length > 1 ? '' : ' (this node hosts only this one)'}.
      </p>
    </Card>
  )
}

/** Loads the base and quote decimals first: nothing is shown in units that might be wrong. */
function MarketWithUnits({ network, m, mods }: { network: string; m: Market; mods: Set<string> }) {
  const d = useDecimals(network, [m.base, m.quote])
  if (d.error) return <ErrorBox error={`decimals of ${m.base} / ${m.quote}: ${d.error.message}`} />
  if (!d.decimals) return <Loading what="Loading the market's assets" />
  const u: MarketUnits = {
    lotSize: BigInt(m.lotSize),
    tickSize: BigInt(m.tickSize),
    baseDecimals: d.decimals[m.base]!,
    quoteDecimals: d.decimals[m.quote]!,
  }
  return <MarketPanel network={network} m={m} mods={mods} u={u} />
}

function MarketPanel({
  network,
  m,
  mods,
  u,
}: {
  network: string
  m: Market
  mods: Set<string>
  u: MarketUnits
}) {
  const book = useQuery(
    () =>
      client.moduleQuery<{ bids: Level[]; asks: Level[] }>(network, 'exchange', 'book', {
        market: m.id,
        levels: '1000',
      }),
    [network, m.id],
    { network, minGapMs: 500 },
  )
  const trades = useQuery(() => new ExchangeClient(client, network).trades(m.id, 200), [network, m.id], {
    network,
    minGapMs: 500,
  })
  const [interval, setInterval_] = useState<'1m' | '1h' | '1d'>('1m')
  const candles = useQuery(
    () => new ExchangeClient(client, network).candles(m.id, interval, 500),
    [network, m.id, interval],
    {
      network,
      minGapMs: 1000,
      enabled: mods.has('exchange/candles'),
    },
  )
  const pools = useQuery(
    () =>
      client.moduleQuery<{
        pools: { id: string; price: string | null; feeBps: string; reserveBase: string }[]
      }>(network, 'exchange', 'pools', { market: m.id }),
    [network, m.id, m.pool],
    { network, minGapMs: 3000, enabled: m.pool && mods.has('exchange/pools') },
  )
  const oracle = useQuery(
    () =>
      client.moduleQuery<{ price: string | null; ageBlocks?: string }>(network, 'exchange', 'price', {
        symbol: m.id,
      }),
    [network, m.id],
    { network, minGapMs: 3000 },
  )
  const [flash, setFlash] = useState<{ height: string; price: string; lots: string } | null>(null)
  useEffect(
    () =>
      live.onEvent((e) => {
        const ev = e.event as { type?: string; attributes?: { key: string; value: string }[] } | undefined
        if (e.network !== network || ev?.type !== 'exchange_fill') return
        const a = new Map((ev.attributes ?? []).map((x) => [x.key, x.value]))
        if (a.get('market') !== m.id) return
        setFlash({ height: e.height, price: a.get('price') ?? '', lots: a.get('lots') ?? '' })
      }),
    [network, m.id],
  )
  const ladder = useMemo(() => {
    const b = book.data?.result
    if (!b) return []
    return [
      ...[...b.asks].reverse().map((l) => ({ ...l, side: 'ask' as const })),
      ...b.bids.map((l) => ({ ...l, side: 'bid' as const })),
    ]
  }, [book.data])
  const candlePoints = useMemo(
    () =>
      [...(candles.data?.candles ?? [])].reverse().map((c) => ({
        time: Number(c.startMs) / 1000,
        open: priceNumber(c.open, u),
        high: priceNumber(c.high, u),
        low: priceNumber(c.low, u),
        close: priceNumber(c.close, u),
        volume: lotsNumber(c.volumeLots, u),
      })),
    [candles.data, u],
  )
  const poolList = pools.data?.result.pools ?? []
  const depth = useMemo(() => {
    const b = book.data?.result
    const conv = (ls: Level[]) =>
      ls.map((l) => ({ price: displayPrice(l.price, u, false), lots: String(lotsNumber(l.lots, u)) }))
    return b ? { bids: conv(b.bids), asks: conv(b.asks) } : undefined
  }, [book.data, u])
  const unitNote = `${m.quote} per ${m.base}`
  return (
    <div className="trading">
      <Card title={`${m.id} (${m.mode})`}>
        <dl className="stats">
          <div>
            <dt>best bid</dt>
            <dd className="up">{m.bestBid ? displayPrice(m.bestBid, u) : '–'}</dd>
          </div>
          <div>
            <dt>best ask</dt>
            <dd className="down">{m.bestAsk ? displayPrice(m.bestAsk, u) : '–'}</dd>
          </div>
          <div>
            <dt>last ({unitNote})</dt>
            <dd data-testid="last-price">{m.lastPrice ? displayPrice(m.lastPrice, u) : '–'}</dd>
          </div>
          <div>
            <dt>AMM pool price</dt>
            <dd>
              {!m.pool
                ? 'no pool'
                : poolList.length === 0
                  ? '…'
                  : poolList.map((p) => (
                      <span key={p.id} className="pill" title={`fee ${p.feeBps} bps`}>
                        {p.price === null
                          ? 'empty'
                          : formatNumber(Number(p.price) * 10 ** (u.baseDecimals - u.quoteDecimals), 6)}
                      </span>
                    ))}
            </dd>
          </div>
          <div>
            <dt>oracle</dt>
            {/* Oracle prices of a market's symbol are in its chain price unit (quote per lot). */}
            <dd data-testid="oracle-price">
              {oracle.data?.result.price ? displayPrice(oracle.data.result.price, u) : 'no report'}
              {oracle.data?.result.ageBlocks && (
                <span className="muted small"> ({oracle.data.result.ageBlocks} blocks old)</span>
              )}
            </dd>
          </div>
          <div>
            <dt>tick / lot</dt>
            <dd>
              {displayPrice(u.tickSize, u)} {m.quote} / {displaySize(u.lotSize, u)} {m.base}
            </dd>
          </div>
        </dl>
        {flash && (
          <p className="flash" role="status" data-testid="trade-flash">
            Trade at block #{flash.height}: {flash.lots ? displayLots(flash.lots, u) : ''} {m.base} at{' '}
            {flash.price ? displayPrice(flash.price, u) : ''} {m.quote}
          </p>
        )}
      </Card>
      <div className="two">
        <Card title="Order book">
          <Show q={book} what="Loading the book">
            {() => (
              <VirtualTable
                label="order book ladder"
                testId="book-ladder"
                rows={ladder}
                height={300}
                rowHeight={26}
                rowKey={(l) => `${l.side}-${l.price}`}
                rowClass={(l) => l.side}
                columns={[
                  {
                    key: 's',
                    header: 'Side',
                    width: '4rem',
                    render: (l) => (l.side === 'ask' ? 'sell' : 'buy'),
                  },
                  {
                    key: 'p',
                    header: `Price (${m.quote})`,
                    width: '1fr',
                    align: 'right',
                    render: (l) => displayPrice(l.price, u),
                  },
                  {
                    key: 'l',
                    header: `Size (${m.base})`,
                    width: '1fr',
                    align: 'right',
                    render: (l) => displayLots(l.lots, u),
                  },
                ]}
              />
            )}
          </Show>
          {depth && <DepthChart bids={depth.bids} asks={depth.asks} sizeUnit={m.base} />}
        </Card>
        <Card title="Recent trades">
          <Show q={trades} what="Loading trades">
            {(t) => (
              <VirtualTable
                label="recent trades"
                testId="trades-table"
                rows={t.trades}
                height={300}
                rowHeight={26}
                rowKey={(x) => `${x.height}-${x.buyOrder}-${x.sellOrder}-${x.lots}`}
                columns={[
                  {
                    key: 'p',
                    header: `Price (${m.quote})`,
                    width: '1fr',
                    align: 'right',
                    render: (x) => displayPrice(x.price, u),
                  },
                  {
                    key: 'l',
                    header: `Size (${m.base})`,
                    width: '1fr',
                    align: 'right',
                    render: (x) => displayLots(x.lots, u),
                  },
                  {
                    key: 'h',
                    header: 'Block',
                    width: '6rem',
                    render: (x) => <a href={href('explorer', network, 'block', x.height)}>#{x.height}</a>,
                  },
                  {
                    key: 't',
                    header: 'When',
                    width: '6rem',
                    render: (x) => timeAgo(Number(x.timeMs), Date.now()),
                  },
                ]}
              />
            )}
          </Show>
          <p className="muted small">The exchange keeps each market's last trades in chain state.</p>
        </Card>
      </div>
      <Card
        title="Candles"
        actions={
          <label>
            interval{' '}
            <select value={interval} onChange={(e) => setInterval_(e.target.value as '1m' | '1h' | '1d')}>
              <option value="1m">1 min</option>
              <option value="1h">1 hour</option>
              <option value="1d">1 day</option>
            </select>
          </label>
        }
      >
        {candles.error && <ErrorBox error={candles.error} />}
        <CandleChart candles={candlePoints} />
      </Card>
      <div className="two">
        <OrderForm network={network} m={m} u={u} />
        <MyOrders network={network} m={m} u={u} />
      </div>
    </div>
  )
}

function OrderForm({ network, m, u }: { network: string; m: Market; u: MarketUnits }) {
  const w = useWallet()
  const [side, setSide] = useState<'buy' | 'sell'>('buy')
  const [price, setPrice] = useState(m.lastPrice ? displayPrice(m.lastPrice, u, false) : '1')
  const [size, setSize] = useState(displayLots(10n, u).replace(/,/g, ''))
  const st = useQuery(() => client.status(network), [network])
  const prefix = st.data?.params.addressPrefix
  const me = w.unlocked && prefix ? wallet.myAddress(prefix) : undefined
  const bal = useQuery(() => client.balances(network, me!), [network, me], {
    network,
    minGapMs: 2000,
    enabled: me !== undefined,
  })
  const [pending, setPending] = useState<null | { price: bigint; size: bigint }>(null)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<{ ok: boolean; text: string; hash?: string } | null>(null)
  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    setResult(null)
    try {
      setPending({ price: parsePrice(price, u), size: parseSize(size, u) })
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message })
    }
  }
  const place = async () => {
    const p = pending!
    setPending(null)
    setBusy(true)
    try {
      const r = await wallet.submit(
        network,
        EXCHANGE_KIND.place,
        exchangePayloads.place({ market: m.id, side, price: p.price, size: p.size, stp: 'none' }),
      )
      if (r.tx.result?.ok === false) throw new Error(r.tx.result.error ?? 'order failed')
      const ev = (r.tx.result?.events ?? []) as {
        type: string
        attributes: { key: string; value: string }[]
      }[]
      const id = ev.find((x) => x.type === 'order_queued')?.attributes.find((a) => a.key === 'order')?.value
      setResult({ ok: true, text: `order ${id ?? ''} placed at block #${r.tx.height}`, hash: r.hash })
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message })
    } finally {
      setBusy(false)
    }
  }
  return (
    <Card title="Place an order">
      {!w.unlocked ? (
        <p>
          <a href="#/wallet">Unlock or import a key</a> to trade.
        </p>
      ) : (
        <form onSubmit={onSubmit} className="form" aria-label="place an order">
          <fieldset className="row gap">
            <legend className="sr-only">side</legend>
            <label>
              <input type="radio" name="side" checked={side === 'buy'} onChange={() => setSide('buy')} /> Buy
            </label>
            <label>
              <input type="radio" name="side" checked={side === 'sell'} onChange={() => setSide('sell')} />{' '}
              Sell
            </label>
          </fieldset>
          <label>
            Price ({m.quote} per {m.base}, step {displayPrice(u.tickSize, u)})
            <input
              name="price"
              inputMode="decimal"
              autoComplete="off"
              value={price}
              onChange={(e) => setPrice(e.target.value)}
            />
          </label>
          <label>
            Size ({m.base}, multiple of {displaySize(u.lotSize, u)})
            <input
              name="size"
              inputMode="decimal"
              autoComplete="off"
              value={size}
              onChange={(e) => setSize(e.target.value)}
            />
          </label>
          {bal.data && (
            <p className="muted small" data-testid="order-balances">
              Available: {formatUnits(bal.data.balances[m.base] ?? '0', u.baseDecimals)} {m.base},{' '}
              {formatUnits(bal.data.balances[m.quote] ?? '0', u.quoteDecimals)} {m.quote}
            </p>
          )}
          <button type="submit" className={side === 'buy' ? 'primary' : 'danger'} disabled={busy}>
            {busy ? 'Submitting…' : `Review ${side} order`}
          </button>
        </form>
      )}
      {result && (
        <p className={result.ok ? 'ok-text' : 'error-text'} role="status" data-testid="order-result">
          {result.text}
          {result.hash && (
            <>
              {' '}
              <a href={href('explorer', network, 'tx', result.hash)}>view tx</a>
            </>
          )}
        </p>
      )}
      <Confirm
        open={pending !== null}
        title={`Place a ${side} order`}
        confirmLabel={`Sign and place ${side}`}
        danger={side === 'sell'}
        onCancel={() => setPending(null)}
        onConfirm={place}
      >
        <p>
          {side === 'buy' ? 'Buy' : 'Sell'} {pending ? displaySize(pending.size, u) : ''} {m.base} at{' '}
          {pending ? displayPrice(pending.price, u) : ''} {m.quote} per {m.base} on {m.id} ({network}), signed
          by <strong>{w.unlocked?.name}</strong>. Funds are locked until the order fills or is cancelled; a
          fill is final. Your own orders can match each other.
        </p>
      </Confirm>
    </Card>
  )
}

function MyOrders({ network, m, u }: { network: string; m: Market; u: MarketUnits }) {
  const market = m.id
  const w = useWallet()
  const [cancel, setCancel] = useState<OrderView | null>(null)
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null)
  const st = useQuery(() => client.status(network), [network])
  const prefix = st.data?.params.addressPrefix
  const owner = w.unlocked && prefix ? wallet.myAddress(prefix) : undefined
  const pos = useQuery(
    () =>
      client.moduleQuery<{ orders: OrderView[]; locked: Record<string, string> }>(
        network,
        'exchange',
        'positions',
        { owner: owner! },
      ),
    [network, owner],
    { network, minGapMs: 1000, enabled: owner !== undefined },
  )
  const doCancel = async () => {
    const o = cancel!
    setCancel(null)
    try {
      const r = await wallet.submit(network, EXCHANGE_KIND.cancel, exchangePayloads.cancel(BigInt(o.id)))
      if (r.tx.result?.ok === false) throw new Error(r.tx.result.error ?? 'cancel failed')
      setMsg({ ok: true, text: `cancel of order ${o.id} committed at #${r.tx.height}` })
      pos.reload()
    } catch (e) {
      setMsg({ ok: false, text: (e as Error).message })
    }
  }
  const mine = (pos.data?.result.orders ?? []).filter((o) => o.market === market)
  return (
    <Card title="My open orders">
      {msg && (
        <p className={msg.ok ? 'ok-text' : 'error-text'} role="status">
          {msg.text}
        </p>
      )}
      {!owner ? (
        <p className="muted">
          <a href="#/wallet">Unlock a key</a> to see your orders.
        </p>
      ) : pos.data === undefined ? (
        pos.error ? (
          <ErrorBox error={pos.error} retry={pos.reload} />
        ) : (
          <Loading />
        )
      ) : mine.length === 0 ? (
        <p className="muted">No open orders on {market}.</p>
      ) : (
        <ul className="plain" data-testid="my-orders">
          {mine.map((o) => (
            <li key={o.id} className="row gap wrap">
              <Badge tone={o.side === 'buy' ? 'ok' : 'bad'}>{o.side}</Badge> #{o.id}: {displayLots(o.lots, u)}{' '}
              {m.base} {o.pending ? 'queued for the next batch' : `(${displayLots(o.resting, u)} resting)`} @{' '}
              {displayPrice(o.price, u)} {m.quote}
              <button type="button" onClick={() => setCancel(o)}>
                Cancel
              </button>
            </li>
          ))}
        </ul>
      )}
      <Confirm
        open={cancel !== null}
        title={`Cancel order #${cancel?.id}`}
        confirmLabel="Sign and cancel"
        onCancel={() => setCancel(null)}
        onConfirm={doCancel}
      >
        <p>
          Cancel your {cancel?.side} order #{cancel?.id} ({cancel ? displayLots(cancel.lots, u) : ''} {m.base}{' '}
          at {cancel ? displayPrice(cancel.price, u) : ''} {m.quote}) on {market}. Whatever filled before the
          cancel is committed stays filled.
        </p>
      </Confirm>
    </Card>
  )
}

/** Devnet helper: a new asset (minted to you) and a market against the fee asset. */
function CreateMarket({ network }: { network: string }) {
  const w = useWallet()
  const st = useQuery(() => client.status(network), [network])
  const fee = st.data?.params.feeAsset ?? 'pulse'
  const [asset, setAsset] = useState('usd')
  const [busy, setBusy] = useState(false)
  const [confirm, setConfirm] = useState(false)
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null)
  const run = async () => {
    setConfirm(false)
    setBusy(true)
    setMsg(null)
    try {
      const bal = await client.balances(network, wallet.myAddress(st.data!.params.addressPrefix))
      if (bal.balances[asset] === undefined) {
        const a = await wallet.submit(
          network,
          BANK_KIND.createAsset,
          createAssetPayload(asset, 6, 10n ** 18n, 10n ** 15n),
        )
        if (a.tx.result?.ok === false) throw new Error(`create asset: ${a.tx.result.error}`)
      }
      const r = await wallet.submit(
        network,
        EXCHANGE_KIND.createMarket,
        exchangePayloads.createMarket({ base: fee, quote: asset, tickSize: 1n, lotSize: 1n }),
      )
      if (r.tx.result?.ok === false) throw new Error(`create market: ${r.tx.result.error}`)
      setMsg({ ok: true, text: `market ${fee}:${asset} created at #${r.tx.height}` })
      navigate('trading', network, `${fee}:${asset}`)
    } catch (e) {
      setMsg({ ok: false, text: (e as Error).message })
    } finally {
      setBusy(false)
    }
  }
  return (
    <Card title="Create a market">
      {!w.unlocked ? (
        <p className="muted">
          <a href="#/wallet">Unlock a key</a> to create an asset and a market.
        </p>
      ) : (
        <form
          className="row gap wrap"
          onSubmit={(e) => {
            e.preventDefault()
            setConfirm(true)
          }}
        >
          <label>
            Quote asset id
            <input
              value={asset}
              onChange={(e) => setAsset(e.target.value.toLowerCase())}
              pattern="[a-z0-9]{2,16}"
              required
            />
          </label>
          <button type="submit" disabled={busy || !st.data}>
            {busy ? 'Creating…' : `Create ${fee}:${asset}`}
          </button>
        </form>
      )}
      {msg && (
        <p className={msg.ok ? 'ok-text' : 'error-text'} role="status">
          {msg.text}
        </p>
      )}
      <Confirm
        open={confirm}
        title="Create an asset and a market"
        confirmLabel="Sign and create"
        danger={false}
        onCancel={() => setConfirm(false)}
        onConfirm={run}
      >
        <p>
          If you do not hold <code>{asset}</code> yet, this creates it (6 decimals, 10^15 base units minted to
          you), then opens the market {fee}:{asset} on {network}. Two txs, each paying the network fee.
        </p>
      </Confirm>
    </Card>
  )
}
