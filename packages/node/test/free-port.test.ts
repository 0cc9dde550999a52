/** Ports for test and dev devnets: never handed out twice on the machine while a claim is fresh. */
import assert from 'node:assert/strict'
import { existsSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { claimPort, freePort, PORT_REGISTRY } from '../src/p2p/free-port.ts'

test('freePort: distinct ports below the ephemeral range, each claimed machine-wide', async () => {
  const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()))
  assert.equal(new Set(ports).size, ports.length)
  for (const p of ports) {
    assert.ok(p >= 10_000 && p < 65_536)
    assert.ok(existsSync(join(PORT_REGISTRY, String(p))), `claim file for ${p}`)
    assert.equal(claimPort(p), false, 'a fresh claim of another user is refused')
  }
})

test('claimPort: a stale claim (a finished run) is taken over', async () => {
  const p = await freePort()
  const old = new Date(Date.now() - 7 * 3600_000)
  utimesSync(join(PORT_REGISTRY, String(p)), old, old)
  assert.equal(claimPort(p), true)
  assert.equal(claimPort(p), false, 'and is fresh again')
})
