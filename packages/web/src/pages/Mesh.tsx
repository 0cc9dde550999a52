/**
 * Cross-network transfers: packets in flight per (source, destination) with their acknowledgement
 * state, a commitment proof verified in the browser on demand, the live packet event log, and per
 * network asset totals (escrowed on the origin vs vouchers outstanding elsewhere).
 */
import {
  decodeMeshPacket,
  type MeshProofResponse,
  meshPacketKey,
  type StreamMessage,
  toHex,
  verifyMeshProof,
} from '@pulsemesh/sdk'
import { useEffect, useState } from 'react'
import { Badge, Card, ErrorBox, Loading, Show } from '../components/Status.tsx'
import { VirtualTable } from '../components/VirtualTable.tsx'
import { shortHash, timeAgo } from '../lib/format.ts'
import { client, live, modulesOf, orderedNetworks, useLive, useQuery } from '../lib/live.ts'
import { href } from '../lib/router.ts'
import { lightClient } from '../lib/trust.ts'

interface InFlight {
  source: string
  dest: string
  sequence: string
  denom: string
  amount: string
  receiver: string
  received: boolean
  ack: string | null
}
interface LogRow {
  key: string
  at: number
  type: string
  source: string
  dest: string
  sequence: string
  amount: string
  denom: string
  height: string
  network: string
  tx: string | null
}

const short = (t: string) =>
  t
    .replace(/^mesh_/, '')
    .replace(/_packet$/, '')
    .replace('acknowledge', 'ack')

export function Mesh() {
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  const meshOn = useQuery(async () => {
    const on: string[] = []
    await Promise.all(
      ids.map(async (id) => {
        if ((await modulesOf(id)).has('mesh/packets')) on.push(id)
      }),
    )
    return orderedNetworks(on)
  }, [ids.join(',')])
  if (ids.length === 0) return <Loading what="Connecting to the node" />
  return (
    <>
      <h1>Cross-network</h1>
      <Show q={meshOn} what="Finding mesh networks">
        {(on) =>
          on.length < 2 ? (
            <Card title="Mesh">
              <p className="lead">
                This node hosts {ids.length === 1 ? 'one network' : `${on.length} mesh-enabled network(s)`},
                so nothing crosses networks here. Run <code>pulsemesh devnet --mesh</code> for hub,
                EmotionalChain and two tenants with relayers.
              </p>
            </Card>
          ) : (
            <>
              <InFlightPackets nets={on} />
              <PacketLog />
              <Totals nets={on} />
            </>
          )
        }
      </Show>
    </>
  )
}

function InFlightPackets({ nets }: { nets: string[] }) {
  const q = useQuery(
    async () => {
      const rows: InFlight[] = []
      await Promise.all(
        nets.flatMap((src) =>
          nets
            .filter((d) => d !== src)
            .map(async (dst) => {
              const p = await client.moduleQuery<{ sequence: string; packet: string }[]>(
                src,
                'mesh',
                'packets',
                {
                  dest: dst,
                  limit: '200',
                },
              )
              await Promise.all(
                p.result.map(async (x) => {
                  const pk = decodeMeshPacket(x.packet)
                  let r = { received: false, ack: null as string | null }
                  try {
                    r = (
                      await client.moduleQuery<typeof r>(dst, 'mesh', 'receipt', {
                        source: src,
                        seq: x.sequence,
                      })
                    ).result
                  } catch {
                    /* destination unreachable: shown as not received */
                  }
                  rows.push({
                    source: src,
                    dest: dst,
                    sequence: x.sequence,
                    denom: pk.denom,
                    amount: pk.amount.toString(),
                    receiver: toHex(pk.receiver),
                    received: r.received,
                    ack: r.ack,
                  })
                }),
              )
            }),
        ),
      )
      return rows.sort(
        (a, b) =>
          `${a.source}${a.dest}`.localeCompare(`${b.source}${b.dest}`) ||
          Number(a.sequence) - Number(b.sequence),
      )
    },
    [nets.join(',')],
    { network: nets[0], minGapMs: 2000 },
  )
  return (
    <Card title="Transfers in flight">
      <p className="muted small">
        A packet stays committed on its source until the source has verified the destination's
        acknowledgement.
      </p>
      <Show q={q} what="Scanning packets" empty={(r) => r.length === 0}>
        {(rows) => (
          <VirtualTable
            label="packets in flight"
            testId="inflight-table"
            rows={rows}
            rowKey={(r) => `${r.source}-${r.dest}-${r.sequence}`}
            columns={[
              { key: 'r', header: 'Route', width: '12rem', render: (r) => `${r.source} → ${r.dest}` },
              { key: 's', header: 'Seq', width: '4rem', align: 'right', render: (r) => r.sequence },
              {
                key: 'a',
                header: 'Amount',
                width: '1fr',
                align: 'right',
                render: (r) => `${r.amount} ${r.denom}`,
              },
              {
                key: 'st',
                header: 'State',
                width: '9rem',
                render: (r) =>
                  r.ack ? (
                    <Badge tone="ok">acked, relaying ack</Badge>
                  ) : r.received ? (
                    <Badge tone="info">received</Badge>
                  ) : (
                    <Badge tone="warn">sent</Badge>
                  ),
              },
              { key: 'p', header: 'Proof', width: '10rem', render: (r) => <ProofCheck row={r} /> },
            ]}
          />
        )}
      </Show>
    </Card>
  )
}

function ProofCheck({ row }: { row: InFlight }) {
  const [st, setSt] = useState<{ ok: boolean; text: string } | 'busy' | null>(null)
  const check = async () => {
    setSt('busy')
    try {
      const key = meshPacketKey(row.source, row.dest, BigInt(row.sequence))
      const r = await client.request<MeshProofResponse>(
        'GET',
        `/v1/networks/${row.source}/mesh/proof/${toHex(key)}`,
      )
      // The certificate must chain from this browser's pinned set of the source network.
      const lc = await lightClient(row.source)
      await lc.verifyHeader(r)
      const v = verifyMeshProof(key, r)
      setSt({
        ok: v.value !== null,
        text: v.value !== null ? `committed at #${v.height}` : `absent at #${v.height}`,
      })
    } catch (e) {
      const untrusted = (e as { code?: string }).code === 'VALIDATORS_UNTRUSTED'
      setSt({
        ok: false,
        text: `${untrusted ? 'NOT verified: validator set not trusted: ' : ''}${(e as Error).message}`,
      })
    }
  }
  if (st === null)
    return (
      <button type="button" className="link" onClick={check}>
        verify commitment
      </button>
    )
  if (st === 'busy') return <span className="muted">verifying…</span>
  return (
    <Badge tone={st.ok ? 'ok' : 'warn'} title={st.text}>
      {st.ok ? '✓ verified in browser' : st.text}
    </Badge>
  )
}

function PacketLog() {
  const [rows, setRows] = useState<LogRow[]>([])
  useEffect(
    () =>
      live.onEvent((m: StreamMessage) => {
        const ev = m.event as { type?: string; attributes?: { key: string; value: string }[] } | undefined
        if (!ev?.type?.startsWith('mesh_') || !ev.type.endsWith('_packet')) return
        const a = new Map((ev.attributes ?? []).map((x) => [x.key, x.value]))
        const row: LogRow = {
          key: `${m.network}-${m.height}-${ev.type}-${a.get('source')}-${a.get('sequence')}`,
          at: Date.now(),
          type: ev.type,
          source: a.get('source') ?? '',
          dest: a.get('dest') ?? '',
          sequence: a.get('sequence') ?? '',
          amount: a.get('amount') ?? '',
          denom: a.get('denom') ?? '',
          height: m.height,
          network: m.network,
          tx: (m.tx as string | null) ?? null,
        }
        setRows((old) => (old.some((r) => r.key === row.key) ? old : [row, ...old].slice(0, 5000)))
      }),
    [],
  )
  return (
    <Card title="Packet events (live)">
      {rows.length === 0 ? (
        <p className="muted">
          Waiting for transfers: sends, receipts, acknowledgements and timeouts appear here as they commit.
        </p>
      ) : (
        <VirtualTable
          label="packet events"
          rows={rows}
          rowKey={(r) => r.key}
          height={300}
          columns={[
            { key: 't', header: 'Event', width: '6rem', render: (r) => short(r.type) },
            {
              key: 'r',
              header: 'Route',
              width: '12rem',
              render: (r) => `${r.source} → ${r.dest} #${r.sequence}`,
            },
            {
              key: 'a',
              header: 'Amount',
              width: '1fr',
              align: 'right',
              render: (r) => `${r.amount} ${r.denom}`,
            },
            {
              key: 'on',
              header: 'On',
              width: '10rem',
              render: (r) =>
                r.tx ? (
                  <a href={href('explorer', r.network, 'tx', r.tx)}>
                    {r.network} {shortHash(r.tx, 6)}
                  </a>
                ) : (
                  `${r.network} #${r.height}`
                ),
            },
            { key: 'w', header: 'When', width: '6rem', render: (r) => timeAgo(r.at, Date.now()) },
          ]}
        />
      )}
    </Card>
  )
}

function Totals({ nets }: { nets: string[] }) {
  const q = useQuery(
    async () => {
      const natives = await Promise.all(
        nets.map(async (id) => [id, (await client.status(id)).params.feeAsset] as const),
      )
      const rows: { origin: string; asset: string; network: string; escrowed: string; vouchers: string }[] =
        []
      await Promise.all(
        natives.flatMap(([origin, asset]) =>
          nets
            .filter((n) => n !== origin)
            .map(async (network) => {
              const esc = await client.moduleQuery<{ amount: string }>(origin, 'mesh', 'escrow', {
                network,
                asset,
              })
              // The mesh `vouchers` query answers 0 before the first arrival (a packet in flight
              // leaves escrow ahead of vouchers), so nothing is probed with a 4xx.
              const vouchers = (
                await client.moduleQuery<{ supply: string }>(network, 'mesh', 'vouchers', { origin, asset })
              ).result.supply
              rows.push({ origin, asset, network, escrowed: esc.result.amount, vouchers })
            }),
        ),
      )
      return rows.sort((a, b) => a.origin.localeCompare(b.origin) || a.network.localeCompare(b.network))
    },
    [nets.join(',')],
    { network: nets[0], minGapMs: 3000 },
  )
  return (
    <Card title="Asset totals per network">
      <p className="muted small">
        Each native asset escrowed on its origin for a counterparty should equal the vouchers outstanding
        there; a difference is a transfer in flight.
      </p>
      <Show q={q} what="Reading escrows and voucher supplies">
        {(rows) => (
          <table className="table" aria-label="asset totals">
            <thead>
              <tr>
                <th>Asset</th>
                <th>Counterparty</th>
                <th className="num">Escrowed on origin (base units)</th>
                <th className="num">Vouchers there</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.origin}-${r.network}`}>
                  <td>
                    {r.asset} <span className="muted">({r.origin})</span>
                  </td>
                  <td>{r.network}</td>
                  <td className="num">{r.escrowed}</td>
                  <td className="num">{r.vouchers}</td>
                  <td>
                    {r.escrowed === r.vouchers ? (
                      <Badge tone="ok">conserved</Badge>
                    ) : (
                      <Badge tone="warn">in flight</Badge>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      {q.error && <ErrorBox error={q.error} />}
    </Card>
  )
}
