/**
 * The default devnet (`npm start` = `pulsemesh devnet`) as real processes: 4 validator processes,
 * each hosting hub, emotionalchain, tenant-a and tenant-b as 4-validator BFT networks. A newcomer's
 * session through the CLI: a transfer with its verified inclusion proof, tenant-a -> hub -> tenant-a
 * with conserved totals, Proof of Emotion scores on chain; then SIGTERM stops every process, and a
 * second start continues the same chains. Free ports, temp home; bounded waits everywhere.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { addressFromPublicKey } from '@pulsemesh/core'
import { Keystore } from '../src/keys/keystore.ts'
import { tempDir } from './fixtures.ts'

const CLI = join(import.meta.dirname, '../src/cli/main.ts')
// V8 code cache shared by the CLI runs below (start-up is mostly module compilation).
const ENV = {
  ...process.env,
  PULSEMESH_HOME: '',
  PULSEMESH_NODE: '',
  NODE_COMPILE_CACHE: join(tmpdir(), 'pulsemesh-compile-cache'),
}
const run = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Summary {
  home: string
  networks: string[]
  members: { name: string; api: string; pid: number; role: string }[]
  demo: Record<string, string>
}

let home: string
let cleanup: () => void
let devnet: ChildProcess | undefined
let summary: Summary
let stderr = ''

/** Starts `pulsemesh devnet` on free ports in `home`; resolves with its --json summary. */
async function startDevnet(...extra: string[]): Promise<Summary> {
  const child = spawn(
    process.execPath,
    [CLI, '--home', home, '--json', 'devnet', '--port', '0', '--epoch-blocks', '6', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: ENV },
  )
  devnet = child
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-20_000)
  })
  let out = ''
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`devnet did not start:\n${stderr.slice(-3000)}`)), 120_000)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(t)
        res(JSON.parse(line) as Summary)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(t)
      rej(new Error(`devnet exited ${code}:\n${stderr.slice(-3000)}`))
    })
  })
}

async function stopDevnet(): Promise<void> {
  const child = devnet
  if (!child || child.exitCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await exited
  clearTimeout(t)
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const r = await run(
    process.execPath,
    [CLI, '--home', home, '--node', summary.members[0]!.api, '--json', ...args],
    { timeout: 90_000, env: ENV },
  )
  return JSON.parse(r.stdout) as Record<string, unknown>
}

async function get<T>(url: string): Promise<T> {
  const r = await fetch(url)
  if (!r.ok) throw new Error(`${url}: ${r.status}`)
  return (await r.json()) as T
}

/** Polls `cond` every 250 ms until true (bounded). */
async function until(what: string, ms: number, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    try {
      if (await cond()) return
    } catch {}
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${stderr.slice(-3000)}`)
    await sleep(250)
  }
}

const heights = async (api: string) =>
  Object.fromEntries(
    (await get<{ networks: { id: string; height: string }[] }>(`${api}/v1/networks`)).networks.map((n) => [
      n.id,
      BigInt(n.height),
    ]),
  )

describe('default devnet: 4 validator processes x 4 networks', { timeout: 300_000 }, () => {
  before(async () => {
    const t = tempDir('pm-devnet-')
    home = t.dir
    cleanup = t.cleanup
    summary = await startDevnet()
  })
  after(async () => {
    await stopDevnet()
    cleanup()
  })

  it('every process commits all four networks', async () => {
    assert.deepEqual(summary.networks, ['hub', 'emotionalchain', 'tenant-a', 'tenant-b'])
    assert.equal(summary.members.length, 4)
    for (const m of summary.members) {
      assert.equal(m.role, 'validator')
      await until(`${m.name} commits every network`, 90_000, async () => {
        const h = await heights(m.api)
        return summary.networks.every((id) => (h[id] ?? 0n) >= 1n)
      })
    }
    // Each network is certified by the four validators.
    const st = await get<{ validators: unknown[] }>(
      `${summary.members[0]!.api}/v1/networks/tenant-b/validators`,
    )
    assert.equal(st.validators.length, 4)
  })

  it('sends a transfer with the CLI and verifies its inclusion proof', async () => {
    const bob = new Keystore(home).create('bob', 'ed25519')
    const bobAddress = addressFromPublicKey(bob.publicKey, 'pm')
    const sent = await cli('tx', 'send', '--from', 'demo', '--to', bobAddress, '--amount', '1.5')
    const hash = (sent.tx as { hash: string }).hash
    assert.equal((sent.result as { ok: boolean }).ok, true)
    const proof = await cli('proof', 'tx', hash)
    assert.equal(proof.verified, true)
    // Any validator process serves the same committed tx.
    await until('v3 has the tx', 30_000, async () => {
      const r = await fetch(`${summary.members[3]!.api}/v1/networks/hub/txs/${hash}`)
      return r.ok
    })
    // A bad input fails with a stable code and changes nothing.
    await assert.rejects(cli('tx', 'send', '--from', 'demo', '--to', 'not-an-address', '--amount', '1'))
  })

  it('moves acoin tenant-a -> hub -> tenant-a through the relayer; totals are conserved', async () => {
    const api = summary.members[0]!.api
    await until('light clients hub <-> tenant-a', 90_000, async () => {
      const onHub = await get<{ result: unknown[] }>(`${api}/v1/networks/hub/modules/mesh/clients`)
      const onA = await get<{ result: unknown[] }>(`${api}/v1/networks/tenant-a/modules/mesh/clients`)
      return onHub.result.length === 3 && onA.result.length === 1
    })
    const list = (await cli('network', 'list')) as unknown as { id: string }[]
    assert.deepEqual(list.map((n) => n.id).sort(), ['emotionalchain', 'tenant-a', 'tenant-b'])
    const demo = summary.demo.hub!
    const out = await cli(
      'transfer',
      '--from-network',
      'tenant-a',
      '--to-network',
      'hub',
      '--to',
      demo,
      '--base-units',
      '--amount',
      '1000',
      '--asset',
      'acoin',
      '--wait',
    )
    assert.equal(out.landingDenom, 'transfer/tenant-a/acoin')
    assert.equal((out.receipt as { received: boolean }).received, true)
    const back = await cli(
      'transfer',
      '--from-network',
      'hub',
      '--to-network',
      'tenant-a',
      '--to',
      summary.demo['tenant-a']!,
      '--base-units',
      '--amount',
      '400',
      '--asset',
      'transfer/tenant-a/acoin',
      '--wait',
    )
    assert.equal(back.landingDenom, 'acoin')
    await until('totals settle', 30_000, async () => {
      await sleep(1000)
      const rows = (await cli('mesh', 'totals', '--origin', 'tenant-a', '--asset', 'acoin')) as unknown as {
        network: string
        escrowed: string
        vouchers: string
        conserved: boolean
      }[]
      const hub = rows.find((r) => r.network === 'hub')
      return rows.every((r) => r.conserved) && hub?.escrowed === '600' && hub.vouchers === '600'
    })
  })

  it('emotionalchain: every validator process attests; scores are on chain', async () => {
    const api = summary.members[0]!.api
    await until('all four validators scored', 150_000, async () => {
      const r = await get<{ result: { scoreEpoch: string | null; multiplierPermille: number }[] }>(
        `${api}/v1/networks/emotionalchain/modules/emotion/validators`,
      )
      return (
        r.result.length === 4 && r.result.every((v) => v.scoreEpoch !== null && v.multiplierPermille >= 500)
      )
    })
  })

  it('SIGTERM stops every process; a second start continues the same chains, with a full node added', async () => {
    const before = await heights(summary.members[0]!.api)
    const pids = summary.members.map((m) => m.pid)
    await stopDevnet()
    assert.equal(devnet!.exitCode, 0)
    for (const pid of pids) await until(`process ${pid} exits`, 15_000, async () => !alive(pid))
    summary = await startDevnet('--full-nodes', '1')
    const after = await heights(summary.members[0]!.api)
    for (const id of summary.networks) assert.ok(after[id]! >= before[id]!, `${id} continues`)
    // The wallet and the chain state survived: bob still holds what he was sent.
    const bob = addressFromPublicKey(new Keystore(home).load('bob').publicKey, 'pm')
    const acct = await get<{ balances: Record<string, string> }>(
      `${summary.members[1]!.api}/v1/networks/hub/accounts/${bob}`,
    )
    assert.equal(acct.balances.pulse, '1500000')
    // The full node (no validator key) follows all four chains by block sync.
    const full = summary.members[4]!
    assert.deepEqual([full.name, full.role], ['f0', 'full node'])
    await until('f0 follows every network', 90_000, async () => {
      const h = await heights(full.api)
      return summary.networks.every((id) => (h[id] ?? 0n) >= before[id]!)
    })
  })
})
