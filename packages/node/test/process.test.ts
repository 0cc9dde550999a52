/**
 * Real processes: the CLI initialises a node, `pulsemesh start` runs it, `tx send` moves funds,
 * `proof tx` verifies; then the node is SIGKILLed under load, at arbitrary moments, and must
 * restart at its last committed block with the same state root.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { BANK_KIND } from '@pulsemesh/app'
import { parseAddress } from '@pulsemesh/core'
import { PulseClient, signTx, transferPayload } from '@pulsemesh/sdk'
import { Keystore } from '../src/keys/keystore.ts'
import { tempDir } from './fixtures.ts'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '../src/cli/main.ts')
const t = tempDir('pm-proc-')
after(t.cleanup)
const home = t.dir
let port = 0

async function cli(...args: string[]): Promise<unknown> {
  const { stdout } = await run(
    process.execPath,
    [CLI, '--home', home, '--node', `http://127.0.0.1:${port}`, '--json', ...args],
    {
      timeout: 60_000,
    },
  )
  return JSON.parse(stdout)
}

function startNode(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, '--home', home, 'start'], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`node did not start: ${err}`)), 30_000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = /node API at (http:\/\/[0-9.:]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ child, url: m[1] })
      }
    })
    child.stderr!.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code}: ${err}`))
    })
  })
}

const exited = (c: ChildProcess) =>
  new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))

describe('node process', () => {
  test('init, start, send with the CLI, prove, stop cleanly', async () => {
    port = 20000 + (process.pid % 20000)
    const init = (await cli('init', '--port', String(port), '--block-interval', '100')) as {
      demoAddress: string
    }
    assert.match(init.demoAddress, /^pm1/)
    const k = (await cli('keys', 'new', 'bob')) as { address: string }
    const { child, url } = await startNode()
    port = Number(new URL(url).port)
    try {
      const sent = (await cli('tx', 'send', '--from', 'demo', '--to', k.address, '--amount', '2.5')) as {
        status: string
        tx: { hash: string }
      }
      assert.equal(sent.status, 'committed')
      const acct = (await cli('query', 'account', k.address)) as { balances: Record<string, string> }
      assert.equal(acct.balances.pulse, '2500000')
      const p = (await cli('proof', 'tx', sent.tx.hash)) as { verified: boolean }
      assert.equal(p.verified, true)
      const ap = (await cli('proof', 'account', k.address)) as { verified: boolean; value: string }
      assert.equal(ap.verified, true)
      // Human-readable error for bad input, exit code 1.
      await assert.rejects(
        cli('tx', 'send', '--from', 'demo', '--to', 'pm1nope', '--amount', '1'),
        (e: { stdout?: string }) => /INVALID_ADDRESS/.test(e.stdout ?? ''),
      )
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
    assert.equal(child.exitCode, 0)
  })

  test('SIGKILL at arbitrary moments under load: restart at the last committed block, same state root', async () => {
    const keys = new Keystore(home)
    const demo = keys.load('demo')
    const bob = parseAddress(keys.address('bob', 'pm')).bytes
    let lastSeen = 0n
    for (let round = 0; round < 3; round++) {
      const { child, url } = await startNode()
      const c = new PulseClient({ baseUrl: url })
      const st = await c.status('hub')
      // The restarted node's head must be at least what we saw committed before the kill.
      assert.ok(BigInt(st.height) >= lastSeen, `height went back: ${st.height} < ${lastSeen}`)
      if (st.height !== '0') {
        const b = (await c.block('hub', 'latest')) as { header: { stateRoot: string } }
        assert.equal(st.stateRoot, b.header.stateRoot, 'state root equals the last block header state root')
      }
      let nonce = BigInt((await c.account('hub', keys.address('demo', 'pm'))).nextNonce)
      const submit = async () => {
        for (;;) {
          const s = signTx(
            { scheme: demo.scheme, publicKey: demo.publicKey, secret: demo.secret },
            { networkId: 'hub', nonce, fee: 1000n, expiresAt: BigInt(st.height) + 5000n },
            BANK_KIND.transfer,
            transferPayload(bob, 'pulse', 1n),
          )
          try {
            await c.submitTx('hub', s.bytes)
            nonce++
          } catch {
            return
          }
        }
      }
      const load = submit()
      // Kill after a varying number of committed blocks.
      for (;;) {
        const h = BigInt((await c.status('hub')).height)
        if (h >= BigInt(st.height) + BigInt(2 + round * 2)) {
          lastSeen = h
          break
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      child.kill('SIGKILL')
      await exited(child)
      await load
    }
    const { child, url } = await startNode()
    const st = await new PulseClient({ baseUrl: url }).status('hub')
    assert.ok(BigInt(st.height) >= lastSeen)
    child.kill('SIGTERM')
    await exited(child)
  })
})
