/**
 * End to end on the mesh devnet (hub, emotionalchain, tenant-a, tenant-b and relayers in one
 * process): the overview lists every network, and a cross-network transfer (made with the CLI)
 * shows up on the Cross-network page as it happens (send, receive, acknowledgement events), with
 * the escrow on tenant-a matching the vouchers on the hub afterwards. Screenshots in
 * packages/web/test-artifacts/. Skips only where /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  ARTIFACTS,
  cli,
  type Dashboard,
  type Devnet,
  openDashboard,
  skipWithoutChromium,
  until,
} from './support.ts'

const skip = skipWithoutChromium('web mesh e2e')

let devnet: Devnet | undefined
let dashboard: Dashboard | undefined
let page: Page
let consoleErrors: string[] = []

before(async () => {
  if (skip) return
  dashboard = await openDashboard({ mesh: true })
  ;({ devnet, page, consoleErrors } = dashboard)
})

after(async () => {
  await dashboard?.close()
})

test('mesh devnet: every network live, a cross-network transfer seen end to end', {
  skip,
  timeout: 170_000,
}, async () => {
  await page.goto(`${devnet!.url}/#/`)
  for (const id of ['hub', 'emotionalchain', 'tenant-a', 'tenant-b'])
    await until(async () => {
      const s = (await page.getByTestId(`height-${id}`).innerText()).replace(/,/g, '')
      return /^[0-9]+$/.test(s) ? s : undefined
    }, `a height for ${id}`)
  await page.screenshot({ path: join(ARTIFACTS, 'mesh-01-networks.png'), fullPage: true })

  await page.goto(`${devnet!.url}/#/mesh`)
  await page.getByRole('heading', { name: 'Asset totals per network' }).waitFor()
  await page.getByRole('table', { name: 'asset totals' }).waitFor()
  const to = devnet!.demoAddress
  await cli(devnet!, [
    'transfer',
    '--from-network',
    'tenant-a',
    '--to-network',
    'hub',
    '--to',
    to,
    '--base-units',
    '--amount',
    '1000',
    '--asset',
    'acoin',
    '--from',
    'demo',
    '--wait',
  ])
  // The live log shows the packet's life: sent on tenant-a, received on the hub, acknowledged.
  const log = page.getByRole('table', { name: 'packet events' })
  await log.getByText('tenant-a → hub #1').first().waitFor()
  await until(async () => {
    const t = await log.innerText()
    return /send/.test(t) && /recv/.test(t) && /ack/.test(t) ? true : undefined
  }, 'send, recv and ack events')
  // Totals: acoin escrowed on tenant-a for the hub equals the vouchers on the hub.
  const totals = page.getByRole('table', { name: 'asset totals' })
  await until(async () => {
    const row = totals.locator('tr', { hasText: 'acoin' }).filter({ hasText: 'hub' })
    const t = await row.innerText()
    return !/\b0\s+0\b/.test(t) && /conserved/.test(t) ? t : undefined
  }, 'the acoin escrow and vouchers to match')
  await page.screenshot({ path: join(ARTIFACTS, 'mesh-02-cross-network.png'), fullPage: true })
  assert.deepEqual(consoleErrors, [])
})
