/**
 * Web dashboard benchmark (`npm run bench -- web`), headless Debian Chromium via playwright-core:
 * 1. Bundle: raw and gzip KB of what the node serves (JS + CSS, all chunks), the initial part
 *    (what index.html loads before any page chunk) and the first page as opened (those plus the
 *    chunks the Networks page pulled in, from resource timings), build time; peer in the same run:
 *    gzip KB of react + react-dom's production builds alone (the floor of any React dashboard).
 * 2. Page load to first live block: from navigation start to the first block pushed over the
 *    WebSocket, on a devnet this bench starts (single validator) kept busy by a transfer every
 *    200 ms (an idle devnet only makes heartbeat blocks); peers in the same loads: the document's
 *    DOMContentLoaded, the WebSocket subscription being open, and the devnet's block interval.
 * 3. A 10,000-row table: first paint and the longest main-thread task while scrolling it top to
 *    bottom, virtualized (the dashboard's VirtualTable) vs the same rows as a plain <table>, and
 *    100 rows as the small-list reference. A freeze shows up as a long task of hundreds of ms.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import os from 'node:os'
import { gzipSync } from 'node:zlib'
import {
  addressFromPublicKey,
  BANK_KIND,
  fromHex,
  PulseClient,
  parseAddress,
  publicKeyFromSecret,
  signTx,
  transferPayload,
} from '@pulsemesh/sdk'
import type { Page } from 'playwright-core'
import { buildWeb } from '../packages/web/scripts/build.ts'
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, REPO, startDevnet } from '../packages/web/test/support.ts'

type RC = { __renderCheck?: { start: number; painted?: number } }
const LOADS = Number(process.env.WEB_BENCH_LOADS ?? 7)
const kb = (n: number) => Math.round((n / 1024) * 10) / 10
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const ASSETS = join(REPO, 'packages/web/dist/assets')
const gzipOf = (f: string) => gzipSync(readFileSync(join(ASSETS, f)), { level: 9 }).length

/** Gzip KB of the given asset files (names under dist/assets). */
const gzipKBOf = (names: Iterable<string>) => kb([...new Set(names)].reduce((s, f) => s + gzipOf(f), 0))

function bundle() {
  const dir = ASSETS
  let raw = 0
  let gz = 0
  const files: Record<string, { rawKB: number; gzipKB: number }> = {}
  for (const f of readdirSync(dir)) {
    const b = readFileSync(join(dir, f))
    const g = gzipSync(b, { level: 9 }).length
    raw += b.length
    gz += g
    files[f] = { rawKB: kb(b.length), gzipKB: kb(g) }
  }
  // What index.html makes the browser fetch before any page chunk: entry script, CSS, preloads.
  const html = readFileSync(join(REPO, 'packages/web/dist/index.html'), 'utf8')
  const initial = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!)
  const peerFiles = ['react/cjs/react.production.js', 'react-dom/cjs/react-dom-client.production.js']
  const peer = peerFiles.reduce(
    (s, f) => s + gzipSync(readFileSync(join(REPO, 'node_modules', f)), { level: 9 }).length,
    0,
  )
  return {
    rawKB: kb(raw),
    gzipKB: kb(gz),
    initialFiles: initial,
    initialGzipKB: gzipKBOf(initial),
    chunks: readdirSync(dir).filter((f) => f.endsWith('.js')).length,
    files,
    reactAloneGzipKB: kb(peer),
    ratioToReactAlone: Math.round((gz / peer) * 10) / 10,
  }
}

async function renderCheck(page: Page, base: string, rows: number, mode: 'virtual' | 'plain') {
  await page.goto('about:blank')
  await page.goto(`${base}/#/render-check/${rows}/${mode}`)
  await page.waitForFunction(() => (window as RC).__renderCheck?.painted !== undefined, undefined, {
    timeout: 120_000,
  })
  const firstPaintMs = await page.evaluate(
    () => (window as RC).__renderCheck!.painted! - (window as RC).__renderCheck!.start,
  )
  // Long tasks while scrolling from top to bottom in 40 steps, one per animation frame.
  const scroll = await page.evaluate(
    async (sel) => {
      const tasks: number[] = []
      const obs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) tasks.push(e.duration)
      })
      obs.observe({ type: 'longtask', buffered: false })
      const el = document.querySelector(sel) as HTMLElement
      const t0 = performance.now()
      for (let i = 1; i <= 40; i++) {
        el.scrollTop = (el.scrollHeight * i) / 40
        await new Promise((r) => requestAnimationFrame(() => r(null)))
      }
      const ms = performance.now() - t0
      await new Promise((r) => setTimeout(r, 100))
      obs.disconnect()
      return { ms, maxLongTaskMs: tasks.length ? Math.max(...tasks) : 0, longTasks: tasks.length }
    },
    mode === 'virtual' ? '[data-testid=render-table] tbody' : '[data-testid=render-scroll]',
  )
  const domRows = await page.evaluate(() => document.querySelectorAll('main tr').length)
  return {
    firstPaintMs: Math.round(firstPaintMs),
    scrollMs: Math.round(scroll.ms),
    maxLongTaskMs: Math.round(scroll.maxLongTaskMs),
    longTasks: scroll.longTasks,
    domRows,
  }
}

export async function run(): Promise<Record<string, unknown>> {
  if (!hasChromium()) return { skipped: `${CHROMIUM} missing (apt-get install -y chromium)` }
  const t0 = performance.now()
  await buildWeb(true)
  const buildSeconds = Math.round((performance.now() - t0) / 100) / 10
  const size = bundle()
  const load0 = os.loadavg()[0]
  const devnet = await startDevnet()
  const traffic = keepBusy(devnet.url, devnet.demoSecret)
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  try {
    const loads: {
      firstLiveBlockMs: number
      streamOpenMs: number
      domContentLoadedMs: number
      loadMs: number
    }[] = []
    let firstPageAssets: string[] = []
    for (let i = 0; i < LOADS; i++) {
      const ctx = await browser.newContext()
      const page = await ctx.newPage()
      await page.goto(`${devnet.url}/#/`)
      await page.waitForFunction(
        () => (window as { __pulsemeshFirstBlockMs?: number }).__pulsemeshFirstBlockMs,
        undefined,
        {
          timeout: 60_000,
        },
      )
      if (i === 0)
        firstPageAssets = await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .map((e) => new URL(e.name).pathname)
            .filter((p) => p.startsWith('/assets/'))
            .map((p) => p.slice('/assets/'.length)),
        )
      loads.push(
        await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
          const w = window as { __pulsemeshFirstBlockMs?: number; __pulsemeshStreamOpenMs?: number }
          return {
            firstLiveBlockMs: Math.round(w.__pulsemeshFirstBlockMs!),
            streamOpenMs: Math.round(w.__pulsemeshStreamOpenMs ?? Number.NaN),
            domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
            loadMs: Math.round(nav.loadEventEnd),
          }
        }),
      )
      await ctx.close()
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const table = {
      virtual100: await renderCheck(page, devnet.url, 100, 'virtual'),
      virtual10000: await renderCheck(page, devnet.url, 10_000, 'virtual'),
      plain10000: await renderCheck(page, devnet.url, 10_000, 'plain'),
    }
    return {
      bundle: {
        ...size,
        buildSeconds,
        // The Networks page (#/) as opened: index.html's assets plus the page chunks it pulled in.
        firstPageFiles: firstPageAssets,
        firstPageGzipKB: gzipKBOf(firstPageAssets),
      },
      pageLoad: {
        loads: LOADS,
        firstLiveBlockMsMedian: median(loads.map((l) => l.firstLiveBlockMs)),
        domContentLoadedMsMedian: median(loads.map((l) => l.domContentLoadedMs)),
        streamOpenMsMedian: median(loads.map((l) => l.streamOpenMs)),
        loadMsMedian: median(loads.map((l) => l.loadMs)),
        blockIntervalMsMeasured: await traffic.intervalMs(),
        samples: loads,
      },
      table: {
        ...table,
        virtualVsPlainFirstPaint:
          Math.round((table.plain10000.firstPaintMs / Math.max(table.virtual10000.firstPaintMs, 1)) * 10) /
          10,
        virtual10000Vs100FirstPaint:
          Math.round((table.virtual10000.firstPaintMs / Math.max(table.virtual100.firstPaintMs, 1)) * 10) /
          10,
      },
      loadAverage1m: { start: load0, end: os.loadavg()[0], cpus: os.availableParallelism() },
      note: 'shared 2-core machine under other load: absolute ms vary run to run; compare within a run',
    }
  } finally {
    traffic.stop()
    await browser.close()
    await devnet.stop()
    devnet.cleanup()
  }
}

/** A transfer from the demo key every 200 ms, so the devnet commits blocks at its pace. */
function keepBusy(url: string, secretHex: string) {
  const c = new PulseClient({ baseUrl: url })
  const secret = fromHex(secretHex)
  const publicKey = publicKeyFromSecret('ed25519', secret)
  const me = addressFromPublicKey(publicKey, 'pm')
  let stop = false
  let nonce: bigint | undefined
  const loop = async () => {
    while (!stop) {
      try {
        const st = await c.status('hub')
        nonce ??= BigInt((await c.account('hub', me)).nextNonce)
        const tx = signTx(
          { scheme: 'ed25519', publicKey, secret },
          { networkId: 'hub', nonce, fee: BigInt(st.params.minFee), expiresAt: BigInt(st.height) + 50n },
          BANK_KIND.transfer,
          transferPayload(parseAddress(me).bytes, 'pulse', 1n),
        )
        await c.submitTx('hub', tx.bytes)
        nonce++
      } catch {
        nonce = undefined
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  void loop()
  return {
    stop: () => {
      stop = true
    },
    /** Mean BFT interval of the last 20 blocks. */
    intervalMs: async () => {
      const p = await c.blocks('hub', { limit: 21 })
      const t = p.blocks.map((b) => Date.parse(b.time))
      return Math.round((t[0] - t[t.length - 1]) / Math.max(t.length - 1, 1))
    },
  }
}
