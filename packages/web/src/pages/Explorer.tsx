/** Blocks, txs and accounts of one network; each tx's inclusion proof is verified in the browser. */
import { ApiError, type BlockPage } from '@pulsemesh/sdk'
import { type FormEvent, useState } from 'react'
import { NetworkTabs, useNetworkParam } from '../App.tsx'
import { Badge, Card, ErrorBox, Loading, Show } from '../components/Status.tsx'
import { type Column, VirtualTable } from '../components/VirtualTable.tsx'
import { useDecimals } from '../lib/assets.ts'
import { classifySearch, formatUnits, shortHash, timeAgo } from '../lib/format.ts'
import { type BlockRow, client, useLive, useQuery } from '../lib/live.ts'
import { href, navigate } from '../lib/router.ts'
import { checkTrusted, type Verdict } from '../lib/trust.ts'
import { TrustCard } from '../components/Trust.tsx'

export function Explorer({ route }: { route: string[] }) {
  const net = useNetworkParam(route[0])
  if (net === undefined) return <Loading what="Connecting to the node" />
  const [, kind, id] = route
  return (
    <>
      <h1>Explorer</h1>
      <NetworkTabs page="explorer" current={net} />
      <Search network={net} />
      {net !== undefined && <TrustCard network={net} />}
      {kind === 'block' && id ? (
        <BlockView network={net} id={id} />
      ) : kind === 'tx' && id ? (
        <TxView network={net} hash={id} />
      ) : kind === 'account' && id ? (
        <AccountView network={net} address={id} />
      ) : (
        <BlockList network={net} />
      )}
    </>
  )
}

function Search({ network }: { network: string }) {
  const [q, setQ] = useState('')
  const [err, setErr] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const st = useQuery(() => client.status(network), [network])
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault()
    const t = classifySearch(q, st.data?.params.addressPrefix ?? 'pm')
    setErr(null)
    if (t.kind === 'invalid') return setErr(t.reason)
    if (t.kind === 'height') return navigate('explorer', network, 'block', t.height)
    if (t.kind === 'address') return navigate('explorer', network, 'account', t.address)
    setBusy(true)
    try {
      await client.tx(network, t.hash)
      navigate('explorer', network, 'tx', t.hash)
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) setErr((e as Error).message)
      else
        try {
          const b = (await client.blockByHash(network, t.hash)) as { header: { height: string } }
          navigate('explorer', network, 'block', b.header.height)
        } catch {
          setErr(`no tx or block ${shortHash(t.hash)} on ${network}`)
        }
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="search" onSubmit={onSubmit} aria-label="search">
      <label htmlFor="search" className="sr-only">
        Search by height, hash or address
      </label>
      <input
        id="search"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        placeholder="height, tx or block hash, or address"
        autoComplete="off"
        spellCheck={false}
      />
      <button type="submit" disabled={busy}>
        Search
      </button>
      {err && (
        <span className="error-text" role="alert">
          {err}
        </span>
      )}
    </form>
  )
}

function BlockList({ network }: { network: string }) {
  const l = useLive()
  const [older, setOlder] = useState<BlockRow[]>([])
  const [cursor, setCursor] = useState<string | null | undefined>(undefined)
  const [loadErr, setLoadErr] = useState<Error | null>(null)
  const liveRows = l.nets.get(network)?.blocks ?? []
  const seen = new Set(liveRows.map((b) => b.height))
  const rows = [...liveRows].reverse().concat(older.filter((b) => !seen.has(b.height)))
  const now = Date.now()
  const cols: Column<BlockRow>[] = [
    {
      key: 'h',
      header: 'Height',
      width: '7rem',
      render: (b) => <a href={href('explorer', network, 'block', b.height)}>#{b.height}</a>,
    },
    {
      key: 'hash',
      header: 'Hash',
      width: 'minmax(8rem,1fr)',
      render: (b) => <code>{shortHash(b.hash, 10)}</code>,
    },
    { key: 'txs', header: 'Txs', width: '4rem', align: 'right', render: (b) => b.txCount },
    { key: 't', header: 'Time', width: '7rem', align: 'right', render: (b) => timeAgo(b.timeMs, now) },
  ]
  const loadOlder = async () => {
    try {
      const start = cursor === undefined ? String((rows[rows.length - 1]?.height ?? 1) - 1) : cursor
      if (start === null || Number(start) < 1) return setCursor(null)
      const page: BlockPage = await client.blocks(network, { limit: 500, cursor: start })
      setOlder((o) => [
        ...o,
        ...page.blocks.map((b) => ({
          height: Number(b.height),
          hash: b.hash,
          timeMs: Date.parse(b.time),
          txCount: b.txCount,
        })),
      ])
      setCursor(page.nextCursor)
      setLoadErr(null)
    } catch (e) {
      setLoadErr(e as Error)
    }
  }
  return (
    <Card
      title={`Blocks (${rows.length.toLocaleString()})`}
      actions={
        <button type="button" onClick={loadOlder} disabled={cursor === null}>
          {cursor === null ? 'No older blocks' : 'Load 500 older'}
        </button>
      }
    >
      {loadErr && <ErrorBox error={loadErr} />}
      {rows.length === 0 ? (
        <Loading what="waiting for blocks" />
      ) : (
        <VirtualTable
          rows={rows}
          columns={cols}
          rowKey={(b) => String(b.height)}
          label={`blocks of ${network}`}
          testId="blocks-table"
          height={520}
        />
      )}
    </Card>
  )
}

interface BlockJson {
  hash: string
  header: Record<string, string | number>
  txs: string[]
  commit: { round: number; signatures: unknown[] }
}

function BlockView({ network, id }: { network: string; id: string }) {
  const q = useQuery(
    () => client.block(network, BigInt(id)) as Promise<unknown> as Promise<BlockJson>,
    [network, id],
  )
  const cert = useQuery(async () => {
    const c = await client.commit(network, BigInt(id))
    return checkTrusted(network, async (lc) => {
      const cp = await lc.verifyHeader(c)
      return { height: BigInt(cp.height), checkpoint: cp }
    })
  }, [network, id])
  return (
    <Show q={q} what="Loading block">
      {(b) => (
        <Card
          title={`Block #${id}`}
          actions={
            cert.data?.ok ? (
              <Badge
                tone="ok"
                title="the commit certificate was checked in this browser against the tracked set"
              >
                ✓ certificate verified in your browser ({cert.data.trustedSetSize} trusted validators)
              </Badge>
            ) : cert.data ? (
              <Badge tone="bad" title={cert.data.error}>
                {cert.data.untrusted ? 'NOT verified: validator set not trusted' : 'certificate not verified'}
              </Badge>
            ) : cert.error ? (
              <Badge tone="bad" title={cert.error.message}>
                certificate not verified
              </Badge>
            ) : null
          }
        >
          <dl className="kv">
            <dt>hash</dt>
            <dd>
              <code>{b.hash}</code>
            </dd>
            {Object.entries(b.header).map(([k, v]) => (
              <Frag key={k} k={k} v={String(v)} />
            ))}
            <dt>commit</dt>
            <dd>
              round {b.commit.round}, {b.commit.signatures.length} signatures
            </dd>
          </dl>
          <h3>Transactions ({b.txs.length})</h3>
          {b.txs.length === 0 ? (
            <p className="muted">No txs in this block.</p>
          ) : (
            <ul className="mono-list">
              {b.txs.map((t) => (
                <li key={t}>
                  <a href={href('explorer', network, 'tx', t)}>{t}</a>
                </li>
              ))}
            </ul>
          )}
          <p className="row gap">
            {Number(id) > 1 && (
              <a href={href('explorer', network, 'block', Number(id) - 1)}>← #{Number(id) - 1}</a>
            )}
            <a href={href('explorer', network, 'block', Number(id) + 1)}>#{Number(id) + 1} →</a>
          </p>
        </Card>
      )}
    </Show>
  )
}

/** Balances in tokens (each asset's decimals); raw base units on hover. */
function Balances({ network, balances }: { network: string; balances: Record<string, string> }) {
  const assets = Object.keys(balances)
  const d = useDecimals(network, assets)
  return (
    <>
      {assets.map((asset) => (
        <Frag
          key={asset}
          k={asset}
          v={d.decimals ? formatUnits(balances[asset]!, d.decimals[asset]!) : balances[asset]!}
          title={`${balances[asset]} base units`}
        />
      ))}
    </>
  )
}

function Frag({ k, v, title }: { k: string; v: string; title?: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>
        <code title={title}>{v}</code>
      </dd>
    </>
  )
}

function TxView({ network, hash }: { network: string; hash: string }) {
  const q = useQuery(() => client.tx(network, hash), [network, hash], { network, minGapMs: 1000 })
  const committed = q.data?.status === 'committed'
  const proof = useQuery(
    async () => {
      const r = await client.txProof(network, hash)
      const t0 = performance.now()
      const verified: Verdict = await checkTrusted(network, (lc) => lc.verifyTx(r))
      return { r, verified, ms: performance.now() - t0 }
    },
    [network, hash, committed],
    { enabled: committed },
  )
  return (
    <Show q={q} what="Loading tx">
      {(t) => {
        const tx = t.tx as Record<string, unknown>
        return (
          <>
            <Card
              title="Transaction"
              actions={
                t.status === 'committed' ? (
                  t.result?.ok ? (
                    <Badge tone="ok">committed at #{t.height}</Badge>
                  ) : (
                    <Badge tone="bad">failed: {t.result?.error}</Badge>
                  )
                ) : (
                  <Badge tone="warn">pending in the mempool</Badge>
                )
              }
            >
              <dl className="kv">
                <dt>hash</dt>
                <dd>
                  <code data-testid="tx-hash">{hash}</code>
                </dd>
                {t.height && (
                  <>
                    <dt>block</dt>
                    <dd>
                      <a href={href('explorer', network, 'block', t.height)}>#{t.height}</a> (index {t.index})
                    </dd>
                  </>
                )}
                <dt>from</dt>
                <dd>
                  <a href={href('explorer', network, 'account', String(tx.sender))}>{String(tx.sender)}</a>
                </dd>
                <dt>kind</dt>
                <dd>{String(tx.kind)}</dd>
                <dt>nonce / fee</dt>
                <dd>
                  {String(tx.nonce)} / {String(tx.fee)}
                </dd>
                <dt>payload</dt>
                <dd>
                  <pre>{JSON.stringify(tx.payload, null, 2)}</pre>
                </dd>
                {tx.memo ? (
                  <>
                    <dt>memo</dt>
                    <dd>{String(tx.memo)}</dd>
                  </>
                ) : null}
                {t.result && (
                  <>
                    <dt>events</dt>
                    <dd>
                      <ul className="plain small">
                        {(
                          t.result.events as { type: string; attributes: { key: string; value: string }[] }[]
                        ).map((e, i) => (
                          // biome-ignore lint/suspicious/noArrayIndexKey: events are positional within a tx
                          <li key={i}>
                            <strong>{e.type}</strong>{' '}
                            {e.attributes.map((a) => (
                              <span key={a.key} className="pill">
                                {a.key}={a.value}
                              </span>
                            ))}
                          </li>
                        ))}
                      </ul>
                    </dd>
                  </>
                )}
              </dl>
            </Card>
            {committed && (
              <Card title="Inclusion proof">
                <Show q={proof} what="Fetching and verifying the proof">
                  {(p) => (
                    <>
                      {p.verified.ok ? (
                        <p>
                          <Badge tone="ok">
                            <span data-testid="verified-badge">✓ verified in your browser</span>
                          </Badge>{' '}
                          in {p.ms.toFixed(1)} ms: the tx's Merkle path leads to the tx root of block #
                          {p.verified.height}, whose header carries a commit certificate signed by more than
                          2/3 of the voting power of the {p.verified.trustedSetSize} validator
                          {p.verified.trustedSetSize === 1 ? '' : 's'} this browser tracks from its pinned
                          checkpoint (Ed25519 checked here, by @pulsemesh/sdk).
                        </p>
                      ) : p.verified.untrusted ? (
                        <p>
                          <Badge tone="bad">
                            <span data-testid="verify-untrusted">
                              ✗ NOT verified: validator set not trusted
                            </span>
                          </Badge>{' '}
                          {p.verified.error}
                        </p>
                      ) : (
                        <p>
                          <Badge tone="bad">
                            <span data-testid="verify-failed">✗ proof did not verify</span>
                          </Badge>{' '}
                          {p.verified.error}
                        </p>
                      )}
                      <dl className="kv">
                        <dt>leaf index</dt>
                        <dd>{p.r.index}</dd>
                        <dt>Merkle proof</dt>
                        <dd>
                          <code className="wrap">{p.r.proof}</code>
                        </dd>
                        <dt>header</dt>
                        <dd>
                          <code className="wrap">{shortHash(p.r.header, 24)}</code>
                        </dd>
                        <dt>commit</dt>
                        <dd>
                          <code className="wrap">{shortHash(p.r.commit, 24)}</code>
                        </dd>
                      </dl>
                      <p className="muted small">
                        Trust note: the validator set sent with the proof is used only if this browser's light
                        client reaches it from the set it pinned on first contact (see "Trusted validator set"
                        on the Explorer page), through certificates of each validator-set change.
                      </p>
                    </>
                  )}
                </Show>
              </Card>
            )}
          </>
        )
      }}
    </Show>
  )
}

function AccountView({ network, address }: { network: string; address: string }) {
  const acct = useQuery(() => client.account(network, address), [network, address], {
    network,
    minGapMs: 2000,
  })
  const txs = useQuery(() => client.accountTxs(network, address, { limit: 100 }), [network, address], {
    network,
    minGapMs: 2000,
  })
  const proof = useQuery(async () => {
    const r = await client.accountProof(network, address)
    const v = await checkTrusted(network, (lc) => lc.verifyAccount(r))
    return v.ok ? { ...v, asset: r.asset } : v
  }, [network, address])
  return (
    <>
      <Card
        title="Account"
        actions={
          proof.data?.ok ? (
            <Badge
              tone="ok"
              title={`state proof of the ${proof.data.asset} balance at #${proof.data.height}`}
            >
              ✓ balance proof verified in your browser
            </Badge>
          ) : proof.data ? (
            <Badge tone="bad" title={proof.data.error}>
              {proof.data.untrusted ? 'NOT verified: validator set not trusted' : 'balance proof failed'}
            </Badge>
          ) : null
        }
      >
        <Show q={acct} what="Loading account">
          {(a) => (
            <dl className="kv">
              <dt>address</dt>
              <dd>
                <code>{address}</code>
              </dd>
              <dt>nonce</dt>
              <dd>{a.nonce}</dd>
              <Balances network={network} balances={a.balances} />
              {Object.keys(a.balances).length === 0 && (
                <>
                  <dt>balances</dt>
                  <dd className="muted">none</dd>
                </>
              )}
            </dl>
          )}
        </Show>
      </Card>
      <Card title="Transactions">
        <Show q={txs} what="Loading txs">
          {(p) => (
            <VirtualTable
              rows={p.txs}
              label="account txs"
              rowKey={(t) => t.hash}
              columns={[
                {
                  key: 'h',
                  header: 'Tx',
                  width: '1fr',
                  render: (t) => (
                    <a href={href('explorer', network, 'tx', t.hash)}>{shortHash(t.hash, 12)}</a>
                  ),
                },
                {
                  key: 'b',
                  header: 'Block',
                  width: '7rem',
                  render: (t) => <a href={href('explorer', network, 'block', t.height)}>#{t.height}</a>,
                },
              ]}
            />
          )}
        </Show>
      </Card>
    </>
  )
}
