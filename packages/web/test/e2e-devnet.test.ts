/**
 * End to end against the default devnet (`pulsemesh devnet`: 4 validator processes over libp2p,
 * each hosting hub, emotionalchain, tenant-a, tenant-b as 4-validator BFT networks): what a
 * newcomer opens after `npm start`. PULSEMESH_E2E_DEVNET=0 skips it (4 node processes). Checks every network live on the overview, and on each network a block
 * certificate verified in the browser against the 4-validator set the light client pinned.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { addressFromPublicKey, generateKeyPair } from '@pulsemesh/sdk'
import type { Browser, Page } from 'playwright-core'
import { buildWeb } from '../scripts/build.ts'
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, hasChromium, REPO, until } from './support.ts'

const NETWORKS = ['hub', 'emotionalchain', 'tenant-a', 'tenant-b']
const skip =
  process.env.PULSEMESH_E2E_DEVNET === '0'
    ? 'PULSEMESH_E2E_DEVNET=0: the dashboard against the 4-process devnet is skipped'
    : hasChromium()
      ? false
      : `${CHROMIUM} is missing`
if (skip) console.log(`# SKIP web e2e (process devnet): ${skip}`)

let child: ChildProcess | undefined
let home = ''
let url = ''
let out = ''
let browser: Browser | undefined
let page: Page
const consoleErrors: string[] = []

before(async () => {
  if (skip) return
  mkdirSync(ARTIFACTS, { recursive: true })
  await buildWeb()
  home = mkdtempSync(join(tmpdir(), 'pm-web-devnet4-'))
  // --port 0: every process, API and libp2p, on free ports (no clash with a running devnet).
  child = spawn(
    process.execPath,
    [join(REPO, 'packages/node/src/cli/main.ts'), '--home', home, 'devnet', '--port', '0'],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  const onData = (d: Buffer) => {
    out = (out + String(d)).slice(-30_000)
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  url = await until(
    async () => {
      if (child?.exitCode !== null) throw new Error(`devnet exited: ${out.slice(-3000)}`)
      return /Dashboard: (http:\/\/[0-9.:]+)\//.exec(out)?.[1]
    },
    'the devnet to print its Dashboard URL',
    240_000,
  )
  await until(
    async () => {
      const r = await fetch(`${url}/v1/networks`)
      if (!r.ok) return undefined
      const { networks } = (await r.json()) as { networks: { id: string; height: string }[] }
      return NETWORKS.every((id) => Number(networks.find((n) => n.id === id)?.height ?? 0) >= 1)
        ? true
        : undefined
    },
    'every network to commit a block',
    120_000,
  )
  const { chromium } = await import('playwright-core')
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(60_000)
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`))
})

after(async () => {
  await browser?.close()
  const c = child
  if (c && c.exitCode === null && c.pid !== undefined) {
    const exited = new Promise<void>((r) => c.once('exit', () => r()))
    // The devnet forwards SIGTERM to its validator processes; SIGKILL the group as a last resort.
    c.kill('SIGTERM')
    const t = setTimeout(() => {
      try {
        process.kill(-c.pid!, 'SIGKILL')
      } catch {}
    }, 15_000)
    await exited
    clearTimeout(t)
  }
  if (home) rmSync(home, { recursive: true, force: true })
})

test('the dashboard on the 4-process devnet', { skip, timeout: 600_000 }, async (t) => {
  await t.test('every network is live on the overview', async () => {
    await page.goto(`${url}/#/`)
    for (const id of NETWORKS) {
      const h = page.getByTestId(`height-${id}`)
      const first = Number(
        await until(async () => {
          const s = (await h.innerText()).replace(/,/g, '')
          return /^[0-9]+$/.test(s) ? s : undefined
        }, `a ${id} height`),
      )
      assert.ok(first >= 1)
    }
    await page.screenshot({ path: join(ARTIFACTS, 'devnet4-01-networks.png'), fullPage: true })
  })

  await t.test('each network: a block certificate verified against the pinned 4-validator set', async () => {
    for (const id of NETWORKS) {
      await page.goto(`${url}/#/explorer/${id}/block/1`)
      await page.getByText('certificate verified in your browser (4 trusted validators)').waitFor()
      assert.match(await page.getByTestId('trust-pin').innerText(), /block #1 .* 4 validators/)
    }
    await page.screenshot({ path: join(ARTIFACTS, 'devnet4-02-explorer.png'), fullPage: true })
  })

  await t.test('hub: send from the demo key, the tx proof verified against the tracked set', async () => {
    const demo = JSON.parse(readFileSync(join(home, 'keys', 'demo.json'), 'utf8')) as { secret: string }
    await page.goto(`${url}/#/wallet`)
    const form = page.getByRole('form', { name: 'import a key' })
    await form.locator('input[name=import-name]').fill('demo')
    await form.locator('input[name=import-secret]').fill(demo.secret)
    const pass = form.locator('input[type=password][autocomplete=new-password]')
    await pass.nth(0).fill('e2e passphrase')
    await pass.nth(1).fill('e2e passphrase')
    await form.getByRole('button', { name: 'Import' }).click()
    await form.getByText('Imported and unlocked demo').waitFor()
    const kp = generateKeyPair('ed25519', crypto.getRandomValues(new Uint8Array(32)))
    await page.getByTestId('balances').getByText(/pulse/).first().waitFor()
    const send = page.getByRole('form', { name: 'send' })
    await send.locator('select[name=send-network]').selectOption('hub')
    await send.locator('select[name=send-asset]').selectOption('pulse')
    await send.locator('input[name=send-to]').fill(addressFromPublicKey(kp.publicKey, 'pm'))
    await send.locator('input[name=send-amount]').fill('1.5')
    await send.getByRole('button', { name: 'Review transfer' }).click()
    await page
      .getByRole('dialog', { name: 'Send this transfer?' })
      .getByRole('button', { name: 'Sign and send' })
      .click()
    await page
      .getByTestId('send-result')
      .getByText(/Confirmed in block #[0-9]+/)
      .waitFor({ timeout: 120_000 })
    await page.getByTestId('send-tx-link').click()
    await page.getByTestId('verified-badge').waitFor()
    assert.match(await page.locator('main').innerText(), /the 4 validators this browser tracks/)
    await page.screenshot({ path: join(ARTIFACTS, 'devnet4-03-tx-verified.png'), fullPage: true })
  })

  await t.test('no console errors', () => {
    assert.deepEqual(consoleErrors, [])
  })
})
