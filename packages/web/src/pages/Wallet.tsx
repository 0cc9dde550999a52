/**
 * The browser wallet: create or import an Ed25519 key (kept in IndexedDB, encrypted with your
 * passphrase via WebCrypto), balances on every network, send with a confirmation, sign messages.
 */
import { BANK_KIND, parseAddress, toHex, transferPayload } from '@pulsemesh/sdk'
import { type FormEvent, useState } from 'react'
import { Confirm } from '../components/Confirm.tsx'
import { Badge, Card, ErrorBox, Loading } from '../components/Status.tsx'
import { formatUnits, parseUnits, shortHash } from '../lib/format.ts'
import { client, orderedNetworks, useLive, useQuery } from '../lib/live.ts'
import { href } from '../lib/router.ts'
import { useWallet, wallet } from '../lib/wallet.ts'
import { decryptSecret, PASSPHRASE_MIN, parseSecretHex } from '../lib/wallet-crypto.ts'

export function WalletPage() {
  const w = useWallet()
  if (!w.loaded) return <Loading what="Opening the wallet" />
  return (
    <>
      <h1>Wallet</h1>
      <p className="lead">
        Keys never leave this browser: they are stored in IndexedDB, encrypted with your passphrase (PBKDF2 →
        AES-GCM), and only the unlocked key is held in memory until you lock it or close the tab.
      </p>
      {w.error && <ErrorBox error={w.error} />}
      {w.unlocked ? <Unlocked /> : null}
      <Keys />
      <div className="two">
        <CreateKey />
        <ImportKey />
      </div>
    </>
  )
}

function Keys() {
  const w = useWallet()
  const [unlocking, setUnlocking] = useState<string | null>(w.keys.length === 1 ? w.keys[0].name : null)
  const [pass, setPass] = useState('')
  const [err, setErr] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [del, setDel] = useState<string | null>(null)
  if (w.keys.length === 0) return null
  const unlock = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setErr(null)
    try {
      await wallet.unlock(unlocking!, pass)
      setPass('')
    } catch (x) {
      setErr((x as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Card title="Your keys">
      <ul className="plain">
        {w.keys.map((k) => (
          <li key={k.name} className="row gap wrap">
            <strong>{k.name}</strong> <code>{shortHash(wallet.addressOf(k, 'pm'), 12)}</code>
            {w.unlocked?.name === k.name ? (
              <>
                <Badge tone="ok">unlocked</Badge>
                <button type="button" onClick={() => wallet.lock()}>
                  Lock
                </button>
              </>
            ) : (
              <button type="button" onClick={() => setUnlocking(k.name)}>
                Unlock
              </button>
            )}
            <button type="button" className="link danger-text" onClick={() => setDel(k.name)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {unlocking && w.unlocked?.name !== unlocking && (
        <form onSubmit={unlock} className="row gap wrap" aria-label={`unlock ${unlocking}`}>
          <label>
            Passphrase for {unlocking}
            <input
              type="password"
              name="unlock-passphrase"
              value={pass}
              onChange={(e) => setPass(e.target.value)}
              autoComplete="current-password"
              required
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Unlocking…' : 'Unlock'}
          </button>
        </form>
      )}
      {err && (
        <p className="error-text" role="alert">
          {err}
        </p>
      )}
      <Confirm
        open={del !== null}
        title={`Delete key ${del}?`}
        confirmLabel="Delete from this browser"
        onCancel={() => setDel(null)}
        onConfirm={() => {
          const n = del!
          setDel(null)
          void wallet.remove(n)
        }}
      >
        <p>
          The encrypted key is erased from this browser. Without a backup of its secret, funds held by its
          address are lost for good.
        </p>
      </Confirm>
    </Card>
  )
}

function PassFields({
  p1,
  p2,
  set1,
  set2,
}: {
  p1: string
  p2: string
  set1: (s: string) => void
  set2: (s: string) => void
}) {
  return (
    <>
      <label>
        Passphrase (at least {PASSPHRASE_MIN} characters)
        <input
          type="password"
          value={p1}
          onChange={(e) => set1(e.target.value)}
          autoComplete="new-password"
          required
        />
      </label>
      <label>
        Repeat passphrase
        <input
          type="password"
          value={p2}
          onChange={(e) => set2(e.target.value)}
          autoComplete="new-password"
          required
        />
      </label>
    </>
  )
}

function CreateKey() {
  const [name, setName] = useState('me')
  const [p1, setP1] = useState('')
  const [p2, setP2] = useState('')
  const [secret, setSecret] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  const [err, setErr] = useState<string | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setErr(null)
    if (p1 !== p2) return setErr('the passphrases differ')
    try {
      setSecret(toHex(await wallet.create(name, p1)))
      setP1('')
      setP2('')
    } catch (x) {
      setErr((x as Error).message)
    }
  }
  return (
    <Card title="Create a key">
      {secret && !saved ? (
        <div className="warnbox" role="alert">
          <p>
            <strong>Back up this secret now.</strong> It is shown once; anyone who has it controls the
            account, and without it a forgotten passphrase or a cleared browser loses the funds.
          </p>
          <code className="wrap">{secret}</code>
          <label className="row gap">
            <input type="checkbox" onChange={(e) => setSaved(e.target.checked)} /> I have saved it somewhere
            safe
          </label>
        </div>
      ) : (
        <form onSubmit={submit} className="form" aria-label="create a key">
          <label>
            Name
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              pattern="[A-Za-z0-9_-]{1,32}"
            />
          </label>
          <PassFields p1={p1} p2={p2} set1={setP1} set2={setP2} />
          <button type="submit" className="primary">
            Create
          </button>
          {err && (
            <p className="error-text" role="alert">
              {err}
            </p>
          )}
        </form>
      )}
    </Card>
  )
}

function ImportKey() {
  const [name, setName] = useState('demo')
  const [sec, setSec] = useState('')
  const [p1, setP1] = useState('')
  const [p2, setP2] = useState('')
  const [err, setErr] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setErr(null)
    if (p1 !== p2) return setErr('the passphrases differ')
    try {
      await wallet.add(name, parseSecretHex(sec), p1)
      setSec('')
      setP1('')
      setP2('')
      setDone(name)
    } catch (x) {
      setErr((x as Error).message)
    }
  }
  return (
    <Card title="Import a key">
      <form onSubmit={submit} className="form" aria-label="import a key">
        <label>
          Name
          <input name="import-name" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Secret key (64 hex digits, e.g. <code>secret</code> in <code>.data/devnet/keys/demo.json</code>)
          <input
            name="import-secret"
            type="password"
            value={sec}
            onChange={(e) => setSec(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            required
          />
        </label>
        <PassFields p1={p1} p2={p2} set1={setP1} set2={setP2} />
        <button type="submit" className="primary">
          Import
        </button>
        {err && (
          <p className="error-text" role="alert">
            {err}
          </p>
        )}
        {done && (
          <p className="ok-text" role="status">
            Imported and unlocked {done}.
          </p>
        )}
      </form>
    </Card>
  )
}

interface NetBalances {
  network: string
  prefix: string
  address: string
  balances: Record<string, string>
  decimals: Record<string, number>
  error?: string
}

function Unlocked() {
  const w = useWallet()
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  const u = w.unlocked!
  const bal = useQuery(
    () =>
      Promise.all(
        ids.map(async (network): Promise<NetBalances> => {
          try {
            const st = await client.status(network)
            const address = wallet.myAddress(st.params.addressPrefix)
            const a = await client.account(network, address)
            const decimals: Record<string, number> = {}
            await Promise.all(
              Object.keys(a.balances).map(async (asset) => {
                try {
                  decimals[asset] = (
                    await client.moduleQuery<{ decimals: number }>(network, 'bank', 'asset', { asset })
                  ).result.decimals
                } catch {
                  decimals[asset] = 0
                }
              }),
            )
            return { network, prefix: st.params.addressPrefix, address, balances: a.balances, decimals }
          } catch (e) {
            return {
              network,
              prefix: '',
              address: '',
              balances: {},
              decimals: {},
              error: (e as Error).message,
            }
          }
        }),
      ),
    [ids.join(','), u.name],
    { network: ids[0], minGapMs: 2000 },
  )
  return (
    <>
      <Card title={`Balances of ${u.name}`}>
        {bal.data === undefined ? (
          bal.error ? (
            <ErrorBox error={bal.error} />
          ) : (
            <Loading />
          )
        ) : (
          <table className="table" data-testid="balances">
            <thead>
              <tr>
                <th>Network</th>
                <th>Address</th>
                <th>Balances</th>
              </tr>
            </thead>
            <tbody>
              {bal.data.map((b) => (
                <tr key={b.network}>
                  <td>{b.network}</td>
                  <td>
                    {b.address ? (
                      <a href={href('explorer', b.network, 'account', b.address)}>
                        <code>{shortHash(b.address, 10)}</code>
                      </a>
                    ) : (
                      '–'
                    )}
                  </td>
                  <td>
                    {b.error ? (
                      <span className="error-text">{b.error}</span>
                    ) : Object.keys(b.balances).length === 0 ? (
                      <span className="muted">empty</span>
                    ) : (
                      Object.entries(b.balances).map(([asset, v]) => (
                        <span key={asset} className="pill">
                          {formatUnits(v, b.decimals[asset] ?? 0)} {asset}
                        </span>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <div className="two">
        <Send nets={bal.data ?? []} onSent={bal.reload} />
        <SignMessage />
      </div>
      <RevealSecret />
    </>
  )
}

function Send({ nets, onSent }: { nets: NetBalances[]; onSent: () => void }) {
  const w = useWallet()
  const [network, setNetwork] = useState('')
  const [to, setTo] = useState('')
  const [asset, setAsset] = useState('')
  const [amount, setAmount] = useState('')
  const [review, setReview] = useState<null | {
    network: string
    to: string
    asset: string
    units: bigint
    decimals: number
  }>(null)
  const [busy, setBusy] = useState(false)
  const [res, setRes] = useState<{ ok: boolean; text: string; hash?: string; network?: string } | null>(null)
  const net = nets.find((n) => n.network === network) ?? nets[0]
  const assets = net ? Object.keys(net.balances) : []
  const a = assets.includes(asset) ? asset : (assets[0] ?? '')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setRes(null)
    try {
      if (!net) throw new Error('no network')
      parseAddress(to.trim(), net.prefix)
      const decimals = net.decimals[a] ?? 0
      const units = parseUnits(amount, decimals)
      if (BigInt(net.balances[a] ?? '0') < units) throw new Error('amount exceeds your balance')
      setReview({ network: net.network, to: to.trim(), asset: a, units, decimals })
    } catch (x) {
      setRes({ ok: false, text: (x as Error).message })
    }
  }
  const send = async () => {
    const r = review!
    setReview(null)
    setBusy(true)
    try {
      const out = await wallet.submit(
        r.network,
        BANK_KIND.transfer,
        transferPayload(parseAddress(r.to).bytes, r.asset, r.units),
      )
      if (out.tx.result?.ok === false) throw new Error(`the network refused it: ${out.tx.result.error}`)
      setRes({ ok: true, text: `Confirmed in block #${out.tx.height}.`, hash: out.hash, network: r.network })
      setAmount('')
      onSent()
    } catch (x) {
      setRes({ ok: false, text: (x as Error).message })
    } finally {
      setBusy(false)
    }
  }
  return (
    <Card title="Send">
      <form onSubmit={submit} className="form" aria-label="send">
        <label>
          Network
          <select name="send-network" value={net?.network ?? ''} onChange={(e) => setNetwork(e.target.value)}>
            {nets.map((n) => (
              <option key={n.network} value={n.network}>
                {n.network}
              </option>
            ))}
          </select>
        </label>
        <label>
          To address
          <input
            name="send-to"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            placeholder={`${net?.prefix ?? 'pm'}1…`}
            required
            spellCheck={false}
          />
        </label>
        <label>
          Asset
          <select name="send-asset" value={a} onChange={(e) => setAsset(e.target.value)}>
            {assets.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </label>
        <label>
          Amount
          <input
            name="send-amount"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            inputMode="decimal"
            required
          />
        </label>
        <button type="submit" className="primary" disabled={busy || !a}>
          {busy ? 'Sending… (waiting for a block)' : 'Review transfer'}
        </button>
      </form>
      {res && (
        <p className={res.ok ? 'ok-text' : 'error-text'} role="status" data-testid="send-result">
          {res.text}{' '}
          {res.hash && (
            <a href={href('explorer', res.network!, 'tx', res.hash)} data-testid="send-tx-link">
              View tx {shortHash(res.hash)} and its proof
            </a>
          )}
        </p>
      )}
      <Confirm
        open={review !== null}
        title="Send this transfer?"
        confirmLabel="Sign and send"
        onCancel={() => setReview(null)}
        onConfirm={send}
      >
        {review && (
          <dl className="kv">
            <dt>from</dt>
            <dd>{w.unlocked?.name}</dd>
            <dt>to</dt>
            <dd>
              <code className="wrap">{review.to}</code>
            </dd>
            <dt>amount</dt>
            <dd>
              <strong>
                {formatUnits(review.units, review.decimals)} {review.asset}
              </strong>{' '}
              on {review.network} (plus the network fee)
            </dd>
          </dl>
        )}
        <p>Check the address: a transfer to a wrong address cannot be reversed.</p>
      </Confirm>
    </Card>
  )
}

function SignMessage() {
  const [msg, setMsg] = useState('')
  const [sig, setSig] = useState<string | null>(null)
  return (
    <Card title="Sign a message">
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault()
          setSig(await wallet.signMessage(msg))
        }}
      >
        <label>
          Message
          <textarea value={msg} onChange={(e) => setMsg(e.target.value)} rows={3} />
        </label>
        <button type="submit">Sign</button>
      </form>
      {sig && (
        <p>
          Ed25519 signature over "PulseMesh signed message:\n" + message: <code className="wrap">{sig}</code>
        </p>
      )}
    </Card>
  )
}

function RevealSecret() {
  const w = useWallet()
  const [pass, setPass] = useState('')
  const [secret, setSecret] = useState<string | null>(null)
  const [err, setErr] = useState<string | null>(null)
  const rec = w.keys.find((k) => k.name === w.unlocked?.name)
  if (!rec) return null
  return (
    <Card title="Back up the secret">
      {secret ? (
        <div className="warnbox">
          <p>Anyone who sees this controls the account. Store it offline.</p>
          <code className="wrap">{secret}</code>
          <button type="button" onClick={() => setSecret(null)}>
            Hide
          </button>
        </div>
      ) : (
        <form
          className="row gap wrap"
          onSubmit={async (e) => {
            e.preventDefault()
            setErr(null)
            try {
              setSecret(toHex(await decryptSecret(rec.encrypted, pass)))
              setPass('')
            } catch (x) {
              setErr((x as Error).message)
            }
          }}
        >
          <label>
            Passphrase
            <input
              type="password"
              value={pass}
              onChange={(e) => setPass(e.target.value)}
              autoComplete="current-password"
            />
          </label>
          <button type="submit">Reveal secret</button>
          {err && <span className="error-text">{err}</span>}
        </form>
      )}
    </Card>
  )
}
