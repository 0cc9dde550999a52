import { lazy, Suspense } from 'react'
import { Badge } from './components/Status.tsx'
import { orderedNetworks, useLive } from './lib/live.ts'
import { href, useRoute } from './lib/router.ts'
import { useWallet } from './lib/wallet.ts'

// One chunk per page: the first load fetches the shell, the live store and the page it opens on;
// charts, the virtualized tables and the wallet's crypto load with the pages that use them.
const Analytics = lazy(() => import('./pages/Analytics.tsx').then((m) => ({ default: m.Analytics })))
const Explorer = lazy(() => import('./pages/Explorer.tsx').then((m) => ({ default: m.Explorer })))
const Mesh = lazy(() => import('./pages/Mesh.tsx').then((m) => ({ default: m.Mesh })))
const Networks = lazy(() => import('./pages/Networks.tsx').then((m) => ({ default: m.Networks })))
const RenderCheck = lazy(() => import('./pages/RenderCheck.tsx').then((m) => ({ default: m.RenderCheck })))
const Trading = lazy(() => import('./pages/Trading.tsx').then((m) => ({ default: m.Trading })))
const Validators = lazy(() => import('./pages/Validators.tsx').then((m) => ({ default: m.Validators })))
const WalletPage = lazy(() => import('./pages/Wallet.tsx').then((m) => ({ default: m.WalletPage })))

const PAGES = [
  { id: '', label: 'Networks' },
  { id: 'explorer', label: 'Explorer' },
  { id: 'validators', label: 'Validators' },
  { id: 'trading', label: 'Trading' },
  { id: 'mesh', label: 'Cross-network' },
  { id: 'analytics', label: 'Analytics' },
  { id: 'wallet', label: 'Wallet' },
]

function ConnBadge() {
  const l = useLive()
  if (l.conn === 'open') return <Badge tone="ok">live</Badge>
  if (l.conn === 'connecting') return <Badge tone="info">connecting…</Badge>
  return (
    <Badge tone="warn" title={l.error ?? undefined}>
      reconnecting…
    </Badge>
  )
}

/** The network a page shows: from the route, else the first the node hosts. */
export function useNetworkParam(param: string | undefined): string | undefined {
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  return param && ids.includes(param) ? param : (param ?? ids[0])
}

export function NetworkTabs({ page, current }: { page: string; current: string | undefined }) {
  const l = useLive()
  const ids = orderedNetworks(l.networkIds)
  if (ids.length < 2) return null
  return (
    <nav className="tabs" aria-label="network">
      {ids.map((id) => (
        <a key={id} href={href(page, id)} aria-current={id === current ? 'page' : undefined}>
          {id}
        </a>
      ))}
    </nav>
  )
}

export function App() {
  const route = useRoute()
  const page = route[0] ?? ''
  const w = useWallet()
  let body: React.ReactNode
  switch (page) {
    case 'explorer':
      body = <Explorer route={route.slice(1)} />
      break
    case 'validators':
      body = <Validators network={route[1]} />
      break
    case 'trading':
      body = <Trading network={route[1]} market={route[2]} />
      break
    case 'mesh':
      body = <Mesh />
      break
    case 'analytics':
      body = <Analytics />
      break
    case 'wallet':
      body = <WalletPage />
      break
    case 'render-check':
      body = <RenderCheck rows={route[1]} mode={route[2]} />
      break
    default:
      body = <Networks />
  }
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href="#/">
          <span aria-hidden="true">◆</span> PulseMesh
        </a>
        <nav className="mainnav" aria-label="pages">
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div className="row gap small">
          <ConnBadge />
          <a href="#/wallet" className="walletchip">
            {w.unlocked ? `key: ${w.unlocked.name}` : 'wallet locked'}
          </a>
        </div>
      </header>
      {/* Keyed by page and network: switching network starts the page afresh (no stale data shown). */}
      <main id="main" tabIndex={-1} key={`${page}/${route[1] ?? ''}`}>
        <Suspense fallback={<p className="muted">Loading…</p>}>{body}</Suspense>
      </main>
      <footer className="muted small">
        Talks only to this node's public API (<a href="/docs">/docs</a>) and its WebSocket streams, through
        @pulsemesh/sdk.
      </footer>
    </>
  )
}
