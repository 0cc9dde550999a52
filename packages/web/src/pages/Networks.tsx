/** Every network the node hosts: height, block interval, tx/s, validators and finality, live. */
import { Badge, Card, ErrorBox, Loading } from '../components/Status.tsx'
import { formatMs, formatNumber, meanInterval, shortHash, timeAgo, txRate } from '../lib/format.ts'
import { client, orderedNetworks, useLive, useQuery } from '../lib/live.ts'
import { href } from '../lib/router.ts'

function NetworkCard({ id }: { id: string }) {
  const l = useLive()
  const n = l.nets.get(id)
  const st = useQuery(() => client.status(id), [id], { network: id, minGapMs: 5000 })
  const blocks = n?.blocks ?? []
  const last = blocks[blocks.length - 1]
  const interval = meanInterval(blocks)
  const rate = txRate(blocks, 30_000)
  const s = st.data
  const halted = s?.halted === true
  return (
    <section className="card net" aria-labelledby={`net-${id}`} data-testid={`network-${id}`}>
      <header>
        <h2 id={`net-${id}`}>
          <a href={href('explorer', id)}>{id}</a>
        </h2>
        {halted ? (
          <Badge tone="bad" title={s?.haltReason ?? undefined}>
            halted
          </Badge>
        ) : s ? (
          <Badge tone="ok" title="BFT: a block is final once > 2/3 of the voting power signed its commit">
            final on commit
          </Badge>
        ) : null}
      </header>
      {st.error && !s && <ErrorBox error={st.error} retry={st.reload} />}
      <dl className="stats">
        <div>
          <dt>height</dt>
          <dd data-testid={`height-${id}`}>{n && n.height > 0 ? formatNumber(n.height, 0) : '…'}</dd>
        </div>
        <div>
          <dt>block interval</dt>
          <dd>
            {formatMs(interval)}
            {s && <span className="muted small"> (target {formatMs(s.params.blockIntervalMs)})</span>}
          </dd>
        </div>
        <div>
          <dt>tx/s (30 s)</dt>
          <dd>{formatNumber(rate, 2)}</dd>
        </div>
        <div>
          <dt>validators</dt>
          <dd>{s?.validators?.length ?? '…'}</dd>
        </div>
        <div>
          <dt>mempool</dt>
          <dd>{s ? `${s.mempool.txs} txs` : '…'}</dd>
        </div>
        <div>
          <dt>fee asset</dt>
          <dd>{s?.params.feeAsset ?? '…'}</dd>
        </div>
      </dl>
      {last ? (
        <p className="small muted">
          last block{' '}
          <a href={href('explorer', id, 'block', last.height)}>
            #{last.height} {shortHash(last.hash)}
          </a>{' '}
          {timeAgo(last.timeMs, Date.now())}, {last.txCount} txs
        </p>
      ) : (
        <Loading what="waiting for the first block" />
      )}
      <ol className="ticker" aria-label={`latest blocks of ${id}`}>
        {blocks
          .slice(-12)
          .reverse()
          .map((b) => (
            <li
              key={b.height}
              title={`#${b.height}: ${b.txCount} txs`}
              className={b.txCount > 0 ? 'hastx' : ''}
            >
              <a
                href={href('explorer', id, 'block', b.height)}
                aria-label={`block ${b.height}, ${b.txCount} txs`}
              >
                {b.txCount}
              </a>
            </li>
          ))}
      </ol>
    </section>
  )
}

export function Networks() {
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  return (
    <>
      <h1>Networks</h1>
      <p className="lead">
        This node hosts {ids.length || '…'} network{ids.length === 1 ? '' : 's'}. Every block below arrived
        over the WebSocket stream the moment it was committed.
      </p>
      {ids.length === 0 &&
        (l.error ? <ErrorBox error={l.error} /> : <Loading what="Connecting to the node" />)}
      <div className="grid">
        {ids.map((id) => (
          <NetworkCard key={id} id={id} />
        ))}
      </div>
      <Card title="Start here">
        <ol className="steps">
          <li>
            <a href="#/wallet">Wallet</a>: import the devnet's funded <code>demo</code> key (its secret is in{' '}
            <code>.data/devnet/keys/demo.json</code>) or create a new one.
          </li>
          <li>
            Send a transfer, then open it in the <a href="#/explorer">Explorer</a>: its inclusion proof is
            verified in your browser.
          </li>
          <li>
            <a href="#/trading">Trading</a>: create a market, place a buy and a sell that cross, and watch the
            trade.
          </li>
        </ol>
      </Card>
    </>
  )
}
