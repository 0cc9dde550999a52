/**
 * Validators: consensus set (voting power), staking (stake, uptime, jails, slashes seen) and, where
 * the Proof of Emotion module runs, each validator's score, multiplier, last attestation outcome and
 * anti-gaming flags, charted over epochs. Only derived scores and reason codes are shown: the chain
 * holds no raw biometric samples, and feature vectors are not displayed.
 */
import type { StreamMessage } from '@pulsemesh/sdk'
import { useEffect, useMemo, useState } from 'react'
import { NetworkTabs, useNetworkParam } from '../App.tsx'
import { TimeChart } from '../components/Charts.tsx'
import { Badge, Card, ErrorBox, Loading, Show } from '../components/Status.tsx'
import { VirtualTable } from '../components/VirtualTable.tsx'
import { formatNumber, shortHash } from '../lib/format.ts'
import { client, live, useModules, useQuery } from '../lib/live.ts'

/** Staking's default signed-blocks window (packages/app staking params): uptime = 1 - missed / window. */
const SIGNED_WINDOW = 100

interface StakingValidator {
  operator: string
  consensusKey: string
  tokens: string
  selfStake: string
  power: string
  jailed: boolean
  jailedUntil: string
  tombstoned: boolean
  missedBlocks: number
}
interface EmotionValidator {
  address: string
  score: number
  eligible: boolean
  scoreEpoch: string | null
  multiplierPermille: number
  stake: string | null
  weightedStake: string | null
  violations: number
  lastReasons: string[]
}
interface EpochOutcome {
  epoch: string
  status: 'scored' | 'flagged' | 'missing'
  score: number
  eligible: boolean
  multiplierPermille: number
  reasons: string[]
}

/** Slash events seen over the stream since the page opened, by operator address. */
function useSlashes(network: string): Map<string, number> {
  const [m, setM] = useState(() => new Map<string, number>())
  useEffect(
    () =>
      live.onEvent((e: StreamMessage) => {
        const ev = e.event as { type?: string; attributes?: { key: string; value: string }[] } | undefined
        if (e.network !== network || ev?.type !== 'slash') return
        const op = ev.attributes?.find((a) => a.key === 'operator' || a.key === 'validator')?.value ?? '?'
        setM((old) => new Map(old).set(op, (old.get(op) ?? 0) + 1))
      }),
    [network],
  )
  return m
}

export function Validators({ network: param }: { network?: string }) {
  const network = useNetworkParam(param)
  if (network === undefined) return <Loading what="Connecting to the node" />
  return (
    <>
      <h1>Validators</h1>
      <NetworkTabs page="validators" current={network} />
      <ValidatorsOf network={network} />
    </>
  )
}

function ValidatorsOf({ network }: { network: string }) {
  const mods = useModules(network)
  const hasStaking = mods?.has('staking/validators') === true
  const hasEmotion = mods?.has('emotion/validators') === true
  const st = useQuery(() => client.validators(network), [network], { network, minGapMs: 3000 })
  const staking = useQuery(
    () => client.moduleQuery<StakingValidator[]>(network, 'staking', 'validators'),
    [network],
    { network, minGapMs: 3000, enabled: hasStaking },
  )
  const emotion = useQuery(
    () => client.moduleQuery<EmotionValidator[]>(network, 'emotion', 'validators'),
    [network],
    { network, minGapMs: 3000, enabled: hasEmotion },
  )
  const slashes = useSlashes(network)
  const stakingByKey = useMemo(
    () => new Map((staking.data?.result ?? []).map((v) => [v.consensusKey, v])),
    [staking.data],
  )
  return (
    <>
      <Card title="Consensus set">
        <Show q={st} what="Loading validators">
          {(v) => (
            <>
              <p className="muted small">
                Total voting power {v.totalPower} at height {v.height}; set hash{' '}
                <code>{shortHash(v.validatorsHash)}</code>
              </p>
              <VirtualTable
                label="validators"
                testId="validators-table"
                rows={v.validators}
                rowKey={(x) => x.publicKey}
                columns={[
                  {
                    key: 'n',
                    header: 'Validator',
                    width: 'minmax(8rem,1fr)',
                    render: (x) => x.name ?? shortHash(x.publicKey),
                  },
                  {
                    key: 'p',
                    header: 'Power',
                    width: '7rem',
                    align: 'right',
                    render: (x) =>
                      `${x.power} (${formatNumber((Number(x.power) * 100) / Number(v.totalPower || 1), 1)}%)`,
                  },
                  {
                    key: 's',
                    header: 'Stake',
                    width: '8rem',
                    align: 'right',
                    render: (x) => stakingByKey.get(x.publicKey)?.tokens ?? '–',
                  },
                  {
                    key: 'u',
                    header: 'Uptime',
                    width: '6rem',
                    align: 'right',
                    render: (x) => {
                      const s = stakingByKey.get(x.publicKey)
                      return s ? `${formatNumber(100 - (s.missedBlocks * 100) / SIGNED_WINDOW, 0)}%` : '–'
                    },
                  },
                ]}
              />
            </>
          )}
        </Show>
      </Card>
      <Card title="Staking">
        {mods !== undefined && !hasStaking ? (
          <p className="muted">No staking module on {network}: its validator set is fixed at genesis.</p>
        ) : staking.data ? (
          <VirtualTable
            label="staking validators"
            rows={staking.data.result}
            rowKey={(x) => x.operator}
            columns={[
              {
                key: 'o',
                header: 'Operator',
                width: 'minmax(8rem,1fr)',
                render: (x) => <code>{shortHash(x.operator, 10)}</code>,
              },
              { key: 't', header: 'Stake', width: '8rem', align: 'right', render: (x) => x.tokens },
              { key: 'self', header: 'Self', width: '7rem', align: 'right', render: (x) => x.selfStake },
              {
                key: 'up',
                header: `Uptime (${SIGNED_WINDOW})`,
                width: '7rem',
                align: 'right',
                render: (x) => `${formatNumber(100 - (x.missedBlocks * 100) / SIGNED_WINDOW, 0)}%`,
              },
              {
                key: 'sl',
                header: 'Slashes seen',
                width: '6rem',
                align: 'right',
                render: (x) => slashes.get(x.operator) ?? 0,
              },
              {
                key: 'j',
                header: 'Status',
                width: '8rem',
                render: (x) =>
                  x.tombstoned ? (
                    <Badge tone="bad">tombstoned</Badge>
                  ) : x.jailed ? (
                    <Badge tone="warn" title={`until #${x.jailedUntil}`}>
                      jailed
                    </Badge>
                  ) : (
                    <Badge tone="ok">active</Badge>
                  ),
              },
            ]}
          />
        ) : staking.error ? (
          <ErrorBox error={staking.error} retry={staking.reload} />
        ) : (
          <Loading />
        )}
        <p className="muted small">
          Slashes are counted from the live event stream since this page opened; jails from state.
        </p>
      </Card>
      {emotion.data ? (
        <EmotionPanel network={network} validators={emotion.data.result} />
      ) : emotion.error ? (
        <ErrorBox error={emotion.error} retry={emotion.reload} />
      ) : mods !== undefined && !hasEmotion ? (
        <Card title="Proof of Emotion">
          <p className="muted">
            The Proof of Emotion module is not active on {network}
            {network === 'emotionalchain'
              ? ' in this devnet (run `pulsemesh devnet --profile emotionalchain`)'
              : ''}
            .
          </p>
        </Card>
      ) : null}
    </>
  )
}

function EmotionPanel({ network, validators }: { network: string; validators: EmotionValidator[] }) {
  const [sel, setSel] = useState<string | undefined>(validators[0]?.address)
  const flags = useQuery(
    () =>
      client.moduleQuery<{ epoch: string; validator: string; reasons: string[]; at: string }[]>(
        network,
        'emotion',
        'antiGaming',
        { limit: '50' },
      ),
    [network],
    { network, minGapMs: 5000 },
  )
  return (
    <>
      <Card title="Proof of Emotion">
        <p className="muted small">
          Voting power = stake × multiplier; the multiplier follows the validator's attested score. Scores and
          reason codes only — no biometric samples or feature values are shown or stored on chain.
        </p>
        <VirtualTable
          label="emotion validators"
          testId="emotion-table"
          rows={validators}
          rowKey={(v) => v.address}
          rowClass={(v) => (v.address === sel ? 'selected' : '')}
          columns={[
            {
              key: 'a',
              header: 'Validator',
              width: 'minmax(8rem,1fr)',
              render: (v) => (
                <button
                  type="button"
                  className="link"
                  onClick={() => setSel(v.address)}
                  aria-pressed={v.address === sel}
                >
                  {shortHash(v.address, 10)}
                </button>
              ),
            },
            { key: 's', header: 'Score', width: '5rem', align: 'right', render: (v) => v.score },
            {
              key: 'm',
              header: 'Multiplier',
              width: '6rem',
              align: 'right',
              render: (v) => `×${(v.multiplierPermille / 1000).toFixed(3)}`,
            },
            { key: 'st', header: 'Stake', width: '7rem', align: 'right', render: (v) => v.stake ?? '–' },
            {
              key: 'w',
              header: 'Weighted',
              width: '7rem',
              align: 'right',
              render: (v) => v.weightedStake ?? '–',
            },
            {
              key: 'f',
              header: 'Flags',
              width: '10rem',
              render: (v) =>
                v.violations > 0 ? (
                  <Badge tone="warn" title={v.lastReasons.join(', ')}>
                    {v.violations} · {v.lastReasons[0] ?? ''}
                  </Badge>
                ) : v.eligible ? (
                  <Badge tone="ok">eligible</Badge>
                ) : (
                  <Badge tone="info">not scored</Badge>
                ),
            },
          ]}
        />
      </Card>
      {sel && <EmotionHistory network={network} address={sel} />}
      <Card title="Anti-gaming flags">
        <Show q={flags} what="Loading flags" empty={(d) => d.result.length === 0}>
          {(d) => (
            <ul className="plain">
              {d.result.map((f) => (
                <li key={`${f.epoch}-${f.validator}-${f.at}-${f.reasons.join()}`}>
                  epoch {f.epoch}: <code>{shortHash(f.validator, 10)}</code> — {f.reasons.join(', ')} ({f.at})
                </li>
              ))}
            </ul>
          )}
        </Show>
      </Card>
    </>
  )
}

function EmotionHistory({ network, address }: { network: string; address: string }) {
  const log = useQuery(
    () => client.moduleQuery<EpochOutcome[]>(network, 'emotion', 'attestations', { address }),
    [network, address],
    { network, minGapMs: 5000 },
  )
  const one = useQuery(
    () =>
      client.moduleQuery<{
        epoch: string
        lastAttestation: {
          epoch: string
          tier: number
          claimedScore: number
          status: string
          reasons: string[]
          tx: string
        } | null
      }>(network, 'emotion', 'validator', { address }),
    [network, address],
    { network, minGapMs: 5000 },
  )
  // Epochs on the chart's time axis: epoch n at n seconds (the library plots time series only).
  const series = useMemo(() => {
    const rows = [...(log.data?.result ?? [])].reverse()
    return [
      { name: 'score', color: '#38bdf8', data: rows.map((r) => ({ time: Number(r.epoch), value: r.score })) },
      {
        name: 'multiplier ‰',
        color: '#f59e0b',
        data: rows.map((r) => ({ time: Number(r.epoch), value: r.multiplierPermille / 10 })),
      },
    ]
  }, [log.data])
  const la = one.data?.result.lastAttestation
  return (
    <Card title={`Over epochs: ${shortHash(address, 10)}`}>
      {log.error && <ErrorBox error={log.error} />}
      <TimeChart
        series={series}
        label="score and multiplier per epoch"
        height={200}
        xLabel={(e) => `epoch ${e}`}
      />
      <p className="muted small">x: epoch number; orange: multiplier in % (‰ / 10).</p>
      {la ? (
        <p>
          Last attestation: epoch {la.epoch}, device tier {la.tier}, claimed score {la.claimedScore},{' '}
          <Badge tone={la.status === 'accepted' || la.status === 'scored' ? 'ok' : 'warn'}>{la.status}</Badge>
          {la.reasons.length > 0 && ` (${la.reasons.join(', ')})`}
        </p>
      ) : (
        <p className="muted">No attestation yet.</p>
      )}
    </Card>
  )
}
