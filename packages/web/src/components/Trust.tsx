/**
 * What this browser trusts for a network: the pinned checkpoint and how far the light client has
 * followed it. Opening it follows the chain to the node's latest block (certificate chain from the
 * pin, bisecting across validator-set changes), so a set the pin does not reach shows at once.
 */
import { useEffect, useState } from 'react'
import { shortHash, timeAgo } from '../lib/format.ts'
import { client } from '../lib/live.ts'
import { forgetTrust, lightClient, useTrust } from '../lib/trust.ts'
import { Badge, Card } from './Status.tsx'

type Sync = { state: 'syncing' } | { state: 'ok' } | { state: 'failed'; untrusted: boolean; error: string }

export function TrustCard({ network }: { network: string }) {
  const t = useTrust(network)
  const [sync, setSync] = useState<Sync>({ state: 'syncing' })
  const [round, setRound] = useState(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: `round` re-runs the sync on re-pin
  useEffect(() => {
    let live = true
    setSync({ state: 'syncing' })
    ;(async () => {
      const lc = await lightClient(network)
      await lc.verifyHeader(await client.commit(network, 'latest'))
    })().then(
      () => live && setSync({ state: 'ok' }),
      (e: Error & { code?: string }) =>
        live && setSync({ state: 'failed', untrusted: e.code === 'VALIDATORS_UNTRUSTED', error: e.message }),
    )
    return () => {
      live = false
    }
  }, [network, round])
  return (
    <Card
      title="Trusted validator set"
      actions={
        <button
          type="button"
          onClick={() => {
            forgetTrust(network)
            setRound((r) => r + 1)
          }}
          title="drop the pinned set and pin the node's genesis set afresh (e.g. after a devnet reset)"
        >
          Forget and re-pin
        </button>
      }
    >
      {sync.state === 'failed' && (
        <p>
          <Badge tone="bad" title={sync.error}>
            <span data-testid="trust-untrusted">
              {sync.untrusted ? 'NOT verified: validator set not trusted' : 'could not follow the chain'}
            </span>
          </Badge>{' '}
          <span className="small">{sync.error}</span>
        </p>
      )}
      {!t ? (
        <p className="muted small">
          {sync.state === 'syncing' ? 'Pinning' : 'Not pinned'}: the set that certified block 1 of {network}{' '}
          (its genesis validators) is pinned in this browser on first contact.
        </p>
      ) : (
        <dl className="kv small" data-testid="trust-pin">
          <dt>pinned</dt>
          <dd>
            block #{t.pin.height} <code title={t.pin.hash}>{shortHash(t.pin.hash)}</code>,{' '}
            {t.pin.validators.length} validator{t.pin.validators.length === 1 ? '' : 's'} (set{' '}
            <code title={t.pin.validatorsHash}>{shortHash(t.pin.validatorsHash)}</code>),{' '}
            {timeAgo(t.pinnedAtMs, Date.now())}
          </dd>
          <dt>followed to</dt>
          <dd>
            block #{t.latest.height}, set{' '}
            <code title={t.latest.validatorsHash}>{shortHash(t.latest.validatorsHash)}</code>
            {t.latest.validatorsHash === t.pin.validatorsHash
              ? ' (unchanged since the pin)'
              : ' (changed since the pin, verified by certificate chain)'}
            {sync.state === 'syncing' && <span className="muted"> · following…</span>}
          </dd>
        </dl>
      )}
    </Card>
  )
}
