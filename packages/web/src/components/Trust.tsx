/** What this browser trusts for a network: the pinned checkpoint and the latest verified one. */
import { shortHash, timeAgo } from '../lib/format.ts'
import { forgetTrust, lightClient, useTrust } from '../lib/trust.ts'
import { Card } from './Status.tsx'

export function TrustCard({ network }: { network: string }) {
  const t = useTrust(network)
  return (
    <Card
      title="Trusted validator set"
      actions={
        t ? (
          <button type="button" onClick={() => forgetTrust(network)} title="after a devnet reset, pin afresh">
            Forget and re-pin
          </button>
        ) : (
          <button type="button" onClick={() => void lightClient(network).catch(() => {})}>
            Pin now
          </button>
        )
      }
    >
      {!t ? (
        <p className="muted small">
          Not pinned yet: the first proof checked on {network} pins the set that certified block 1 (its
          genesis validators) in this browser.
        </p>
      ) : (
        <dl className="kv small" data-testid="trust-pin">
          <dt>pinned</dt>
          <dd>
            block #{t.pin.height} <code title={t.pin.hash}>{shortHash(t.pin.hash)}</code>,{' '}
            {t.pin.validators.length} validator{t.pin.validators.length === 1 ? '' : 's'} (set{' '}
            <code title={t.pin.validatorsHash}>{shortHash(t.pin.validatorsHash)}</code>
            ), {timeAgo(t.pinnedAtMs, Date.now())}
          </dd>
          <dt>followed to</dt>
          <dd>
            block #{t.latest.height}, set{' '}
            <code title={t.latest.validatorsHash}>{shortHash(t.latest.validatorsHash)}</code>
            {t.latest.validatorsHash === t.pin.validatorsHash
              ? ' (unchanged)'
              : ' (changed, verified by certificate chain)'}
          </dd>
        </dl>
      )}
    </Card>
  )
}
