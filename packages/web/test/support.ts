/**
 * For the dashboard's e2e test and bench: a real devnet in a temp home on a free port, and Debian's
 * Chromium driven by playwright-core (flags from ../shared/DEPENDENCIES.md).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { addressFromPublicKey, fromHex } from '@pulsemesh/sdk'
import type { Browser, Page } from 'playwright-core'
import { freePort } from '../../node/src/p2p/free-port.ts'
import { buildWeb } from '../scripts/build.ts'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
export const REPO = fileURLToPath(new URL('../../../', import.meta.url))
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url))

export const hasChromium = () => existsSync(CHROMIUM)

export { freePort }

/** Polls `f` until it returns a value (not undefined) or throws after `ms`. */
export async function until<T>(
  f: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Runs the `pulsemesh` CLI against a devnet; resolves with its stdout, rejects on a non-zero exit. */
export function cli(d: { home: string; url: string }, args: string[], ms = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [join(REPO, 'packages/node/src/cli/main.ts'), '--home', d.home, '--node', d.url, ...args],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    c.stdout.on('data', (x) => {
      out += String(x)
    })
    c.stderr.on('data', (x) => {
      out += String(x)
    })
    const t = setTimeout(() => c.kill('SIGKILL'), ms)
    c.on('exit', (code) => {
      clearTimeout(t)
      if (code === 0) resolve(out)
      else reject(new Error(`pulsemesh ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))
    })
  })
}

export interface Devnet {
  url: string
  home: string
  port: number
  demoSecret: string
  /** The demo key's address on networks with prefix pm. */
  demoAddress: string
  /** Stops the node (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>
  /** Starts the node again on the same home and port. */
  restart(): Promise<void>
  /** Removes the temp home (after stop). */
  cleanup(): void
  log(): string
}

/**
 * `pulsemesh devnet --single` (one validator, network hub, with the exchange) in a temp home, or
 * with `mesh` the one-process mesh devnet (hub, emotionalchain, tenant-a, tenant-b, relayers).
 */
export async function startDevnet(o: { mesh?: boolean } = {}): Promise<Devnet> {
  const home = mkdtempSync(join(tmpdir(), 'pm-web-devnet-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let out = ''
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn(
      process.execPath,
      [
        join(REPO, 'packages/node/src/cli/main.ts'),
        '--home',
        home,
        'devnet',
        ...(o.mesh ? ['--mesh', '--block-interval', '500'] : ['--single']),
        '--port',
        String(port),
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout?.on('data', (d) => {
      out = (out + String(d)).slice(-20_000)
    })
    child.stderr?.on('data', (d) => {
      out = (out + String(d)).slice(-20_000)
    })
    await until(
      async () => {
        if (child?.exitCode !== null) throw new Error(`devnet exited: ${out.slice(-2000)}`)
        const r = await fetch(`${url}/v1/networks`)
        if (!r.ok) return undefined
        const { networks } = (await r.json()) as { networks: { id: string; height: string }[] }
        const ready = networks.length >= (o.mesh ? 4 : 1) && networks.every((n) => Number(n.height) >= 1)
        return ready ? true : undefined
      },
      'the devnet to commit its first block',
      90_000,
    )
  }
  const stop = async () => {
    const c = child
    if (!c || c.exitCode !== null) return
    const exited = new Promise<void>((r) => c.once('exit', () => r()))
    c.kill('SIGTERM')
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(t)
  }
  try {
    await launch()
  } catch (e) {
    // Never leave a half-started node behind (its pipes would also keep the test process alive).
    await stop()
    rmSync(home, { recursive: true, force: true })
    throw new Error(`${(e as Error).message}\n--- devnet output ---\n${out.slice(-3000)}`)
  }
  const demo = JSON.parse(readFileSync(join(home, 'keys', 'demo.json'), 'utf8')) as {
    secret: string
    publicKey: string
  }
  return {
    url,
    home,
    port,
    demoSecret: demo.secret,
    demoAddress: addressFromPublicKey({ scheme: 'ed25519', bytes: fromHex(demo.publicKey) }, 'pm'),
    stop,
    restart: launch,
    cleanup: () => rmSync(home, { recursive: true, force: true }),
    log: () => out,
  }
}

/** false where Chromium is installed, else the reason to skip `what` (also printed as a TAP comment). */
export function skipWithoutChromium(what: string): false | string {
  if (hasChromium()) return false
  const why = `${CHROMIUM} is missing: install it (apt-get install -y chromium) to run the e2e test`
  console.log(`# SKIP ${what}: ${why}`)
  return why
}

export interface Dashboard {
  devnet: Devnet
  browser: Browser
  page: Page
  /** Console errors and uncaught page errors so far (an e2e test ends by asserting none). */
  consoleErrors: string[]
  /** Closes the browser, stops the devnet and removes its home. */
  close(): Promise<void>
}

/**
 * What every dashboard e2e test starts from: the bundle built (if stale), a devnet serving it
 * (`startDevnet(o)`), Chromium on a 1280×900 page with `waitMs` as its default timeout, and the
 * artifacts dir for screenshots. Nothing is left running if any step fails.
 */
export async function openDashboard(o: { mesh?: boolean; waitMs?: number } = {}): Promise<Dashboard> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await buildWeb()
  const devnet = await startDevnet({ mesh: o.mesh })
  let browser: Browser | undefined
  const close = async () => {
    await browser?.close()
    await devnet.stop()
    devnet.cleanup()
  }
  try {
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(o.waitMs ?? 60_000)
    const consoleErrors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`))
    // Chromium's console line for a failed fetch has no URL; record which request it was.
    page.on('response', (r) => {
      if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`)
    })
    return { devnet, browser, page, consoleErrors, close }
  } catch (e) {
    await close()
    throw e
  }
}
