/**
 * The dashboard's one connection to the node: a PulseClient for REST and one PulseStream (WebSocket)
 * that follows every network's blocks. Pages read `live` and re-render on `useLive()` ticks.
 * After a node restart the stream reconnects with backoff and resumes each network's blocks from
 * the height after the last one seen, so the block list has no gaps.
 */
import { PulseClient, type PulseStream, type StreamMessage } from '@pulsemesh/sdk'
import { useEffect, useRef, useState, useSyncExternalStore } from 'react'

export interface BlockRow {
  height: number
  hash: string
  timeMs: number
  txCount: number
  txs?: string[]
  /** performance.now() when this dashboard received it (page-load-to-first-block timing). */
  seenAt?: number
}

export interface NetLive {
  id: string
  /** Oldest first, at most BLOCKS_MAX. */
  blocks: BlockRow[]
  height: number
}

export const BLOCKS_MAX = 10_000
export type ConnState = 'connecting' | 'open' | 'reconnecting'

export const client = new PulseClient({ baseUrl: location.origin })

type Listener = () => void
class Live {
  conn: ConnState = 'connecting'
  readonly nets = new Map<string, NetLive>()
  networkIds: string[] = []
  error: string | null = null
  /** performance.now() of the first block pushed over the WebSocket (bench + e2e read it). */
  firstLiveBlockAt: number | null = null
  private stream: PulseStream | undefined
  private readonly listeners = new Set<Listener>()
  private version = 0
  private scheduled = false
  private readonly eventHandlers = new Set<(m: StreamMessage) => void>()

  subscribe = (l: Listener) => {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  getVersion = () => this.version

  /** Coalesces bursts of messages into one re-render per animation frame. */
  changed(): void {
    if (this.scheduled) return
    this.scheduled = true
    const flush = () => {
      this.scheduled = false
      this.version++
      for (const l of this.listeners) l()
    }
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible')
      requestAnimationFrame(flush)
    else setTimeout(flush, 50)
  }

  async start(): Promise<void> {
    for (;;) {
      try {
        const { networks } = await client.networks()
        this.networkIds = networks.map((n) => n.id)
        this.error = null
        break
      } catch (e) {
        this.error = (e as Error).message
        this.conn = 'reconnecting'
        this.changed()
        await new Promise((r) => setTimeout(r, 1500))
      }
    }
    const s = client.stream()
    this.stream = s
    s.onStatus = (st) => {
      const w = window as unknown as { __pulsemeshStreamOpenMs?: number }
      if (st === 'open' && w.__pulsemeshStreamOpenMs === undefined)
        w.__pulsemeshStreamOpenMs = performance.now()
      this.conn = st === 'open' ? 'open' : 'reconnecting'
      if (st === 'open') void this.refreshNetworks()
      this.changed()
    }
    s.onError = (e) => {
      this.error = e.message
      this.changed()
    }
    for (const id of this.networkIds) this.follow(id)
    for (;;) {
      try {
        await s.connect()
        break
      } catch {
        this.conn = 'reconnecting'
        this.changed()
        await new Promise((r) => setTimeout(r, 1500))
      }
    }
    for (const id of this.networkIds) void this.backfill(id)
  }

  /** Networks added while running (a tenant registered on the hub) are followed too. */
  private async refreshNetworks(): Promise<void> {
    try {
      const { networks } = await client.networks()
      for (const n of networks)
        if (!this.networkIds.includes(n.id)) {
          this.networkIds = [...this.networkIds, n.id]
          this.follow(n.id)
          void this.backfill(n.id)
        }
      this.error = null
    } catch (e) {
      this.error = (e as Error).message
    }
    this.changed()
  }

  net(id: string): NetLive {
    let n = this.nets.get(id)
    if (n === undefined) {
      n = { id, blocks: [], height: 0 }
      this.nets.set(id, n)
    }
    return n
  }

  private follow(id: string): void {
    this.net(id)
    this.stream!.subscribe({ channel: 'blocks', network: id }, (m) => {
      const row: BlockRow = {
        height: Number(m.height),
        hash: String(m.hash),
        timeMs: Number(m.timeMs),
        txCount: Array.isArray(m.txs) ? m.txs.length : 0,
        txs: Array.isArray(m.txs) ? (m.txs as string[]) : [],
        seenAt: performance.now(),
      }
      if (this.firstLiveBlockAt === null) {
        this.firstLiveBlockAt = row.seenAt!
        ;(window as unknown as { __pulsemeshFirstBlockMs?: number }).__pulsemeshFirstBlockMs = row.seenAt
      }
      this.push(id, row)
    })
    this.stream!.subscribe({ channel: 'events', network: id }, (m) => {
      for (const h of this.eventHandlers) h(m)
    })
  }

  private push(id: string, row: BlockRow): void {
    const n = this.net(id)
    const last = n.blocks[n.blocks.length - 1]
    if (last !== undefined && row.height <= last.height) {
      // A replay after reconnect may repeat what the backfill already holds.
      if (n.blocks.some((b) => b.height === row.height)) return
      n.blocks.push(row)
      n.blocks.sort((a, b) => a.height - b.height)
    } else n.blocks.push(row)
    if (n.blocks.length > BLOCKS_MAX) n.blocks.splice(0, n.blocks.length - BLOCKS_MAX)
    if (row.height > n.height) n.height = row.height
    this.changed()
  }

  /** The last page of blocks from REST, so the lists are not empty before the next block. */
  private async backfill(id: string): Promise<void> {
    try {
      const page = await client.blocks(id, { limit: 100 })
      const n = this.net(id)
      const have = new Set(n.blocks.map((b) => b.height))
      for (const b of page.blocks) {
        const h = Number(b.height)
        if (have.has(h)) continue
        n.blocks.push({ height: h, hash: b.hash, timeMs: Date.parse(b.time), txCount: b.txCount })
        if (h > n.height) n.height = h
      }
      n.blocks.sort((a, b) => a.height - b.height)
      this.changed()
    } catch (e) {
      this.error = (e as Error).message
      this.changed()
    }
  }

  /** Chain events of every network (fills, packets, ...): returns an unsubscribe. */
  onEvent(h: (m: StreamMessage) => void): () => void {
    this.eventHandlers.add(h)
    return () => this.eventHandlers.delete(h)
  }
}

export const live = new Live()

/** Re-renders the caller whenever live data changed (at most once per frame). */
export function useLive(): Live {
  useSyncExternalStore(live.subscribe, live.getVersion)
  return live
}

export interface Loadable<T> {
  data: T | undefined
  error: Error | undefined
  loading: boolean
  reload: () => void
}

/**
 * Loads `f()` and reloads it when `deps` change, when a new block of `network` arrives (at most
 * every `minGapMs`), and on `reload()`. Keeps the last data while reloading; errors are kept
 * next to the last good data so a page can show both.
 */
export function useQuery<T>(
  f: () => Promise<T>,
  deps: unknown[],
  o: { network?: string; minGapMs?: number; enabled?: boolean } = {},
): Loadable<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true })
  const [nonce, setNonce] = useState(0)
  const l = useLive()
  const height = o.network ? (l.nets.get(o.network)?.height ?? 0) : 0
  const gap = o.minGapMs ?? 1000
  const [tick, setTick] = useState(0)
  const lastRun = useRef(0)
  const mounted = useRef(false)
  // A block arriving inside the gap schedules one trailing reload instead of dropping it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new height is the trigger
  useEffect(() => {
    if (!o.network) return
    if (!mounted.current) {
      mounted.current = true
      return
    }
    const wait = lastRun.current + gap - Date.now()
    const t = setTimeout(() => setTick((x) => x + 1), Math.max(0, wait))
    return () => clearTimeout(t)
  }, [height])
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what f depends on
  useEffect(() => {
    if (o.enabled === false) return
    let cancelled = false
    setState((s) => (s.loading ? s : { ...s, loading: true }))
    lastRun.current = Date.now()
    f().then(
      (data) => !cancelled && setState({ data, loading: false }),
      (error: Error) => !cancelled && setState((s) => ({ data: s.data, error, loading: false })),
    )
    return () => {
      cancelled = true
    }
  }, [...deps, nonce, tick, o.enabled])
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: () => setNonce((n) => n + 1),
  }
}

/** Network ids in display order: hub first, then the rest alphabetically. */
export function orderedNetworks(ids: string[]): string[] {
  return [...ids].sort((a, b) => (a === 'hub' ? -1 : b === 'hub' ? 1 : a.localeCompare(b)))
}

const modulesCache = new Map<string, Promise<Set<string>>>()
/** "module/query" names a network answers (from GET .../modules), fetched once per network. */
export function modulesOf(network: string): Promise<Set<string>> {
  let p = modulesCache.get(network)
  if (p === undefined) {
    p = client
      .modules(network)
      .then((r) => new Set(r.modules.flatMap((m) => m.queries.map((q) => `${m.name}/${q}`))))
    p.catch(() => modulesCache.delete(network))
    modulesCache.set(network, p)
  }
  return p
}

/** The queries `network` answers; undefined while loading (so pages never probe with failing requests). */
export function useModules(network: string | undefined): Set<string> | undefined {
  const q = useQuery(async () => ({ network, set: await modulesOf(network!) }), [network], {
    enabled: network !== undefined,
  })
  // useQuery keeps the last data while reloading: never answer for another network.
  return network !== undefined && q.data?.network === network ? q.data.set : undefined
}
