/**
 * The default devnet's layout without starting processes: homes, keys, genesis files and configs
 * of 4 validators x 4 networks; reuse on a second run; full nodes added later; refusal of foreign or
 * incompatible homes (typed errors, nothing written); the older one-validator home moved aside.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseGenesis } from '@pulsemesh/app'
import { addressFromPublicKey, toHex } from '@pulsemesh/core'
import { emotionalChainProfile } from '../src/emotion/profile.ts'
import { type HostConfig, initHome } from '../src/host.ts'
import { Keystore } from '../src/keys/keystore.ts'
import {
  DEVNET_NETWORKS,
  inspectDevnetDir,
  moveOldSingleDevnet,
  prepareMeshProcessDevnet,
} from '../src/mesh/devnet-processes.ts'
import { tempDir } from './fixtures.ts'

const cfgOf = (home: string) => JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as HostConfig
const genesisOf = (home: string, id: string) =>
  parseGenesis(JSON.parse(readFileSync(join(home, 'genesis', `${id}.json`), 'utf8')))

describe('default devnet layout', () => {
  it('writes 4 validator homes hosting the same 4 networks, and reuses them', async () => {
    const t = tempDir('pm-layout-')
    try {
      const dir = join(t.dir, 'devnet')
      const l = await prepareMeshProcessDevnet({ dir, basePort: 41000, epochBlocks: 6 })
      assert.equal(l.validators, 4)
      assert.deepEqual(
        l.members.map((m) => [m.name, m.apiPort, m.tcpPort, m.wsPort]),
        [0, 1, 2, 3].map((i) => [`v${i}`, 41000 + i, 41100 + i, 41200 + i]),
      )
      const demo = new Keystore(dir).load('demo')
      const relayer = new Keystore(dir).load('relayer')
      const profile = emotionalChainProfile({ validators: 4 })
      for (const [i, m] of l.members.entries()) {
        const cfg = cfgOf(m.home)
        assert.deepEqual(
          cfg.networks.map((n) => n.genesis),
          DEVNET_NETWORKS.map((n) => join('genesis', `${n.id}.json`)),
        )
        const ks = new Keystore(m.home)
        // Consensus keys: one for hub and tenants, the profile's validator i for emotionalchain.
        assert.equal(
          toHex(ks.load('validator-emotionalchain').publicKey.bytes),
          toHex(profile.validators[i]!.key.publicKey.bytes),
        )
        const ec = cfg.networks.find((n) => n.genesis.includes('emotionalchain'))!
        assert.equal(ec.validatorKey, 'validator-emotionalchain')
        assert.equal(ec.emotion?.agent?.validator, i)
        assert.equal(ec.timing?.emptyBlocksIntervalMs, 0)
        assert.ok((cfg.consensus?.emptyBlocksIntervalMs ?? 0) > 0, 'idle networks only heartbeat')
        // v0 alone relays, and holds the keys it signs with.
        assert.equal(cfg.meshRelay !== undefined, i === 0)
        assert.equal(ks.has('relayer'), i === 0)
        assert.equal(cfg.p2p?.bootstrap?.length, 3)
        for (const net of DEVNET_NETWORKS) {
          // Same bytes in every home.
          assert.equal(
            readFileSync(join(m.home, 'genesis', `${net.id}.json`), 'utf8'),
            readFileSync(join(l.members[0]!.home, 'genesis', `${net.id}.json`), 'utf8'),
          )
          const g = genesisOf(m.home, net.id)
          assert.equal(g.validators.length, 4)
          assert.equal(g.params.feeAsset, net.native)
          for (const k of [demo, relayer])
            assert.ok(
              g.balances.some((b) => b.address === addressFromPublicKey(k.publicKey, net.addressPrefix)),
              `${net.id} funds ${k.name}`,
            )
        }
      }
      assert.equal(l.demo.emotionalchain, addressFromPublicKey(demo.publicKey, 'emo'))
      // A second run reuses everything (same peers, same genesis, same settings).
      const again = await prepareMeshProcessDevnet({ dir, epochBlocks: 60 })
      assert.equal(cfgOf(l.members[0]!.home).networks[1]!.emotion?.blocksPerEpoch, 6)
      assert.deepEqual(again, l)
      // More full nodes later: no validator keys, same genesis, bootstrapped to the validators.
      const withFull = await prepareMeshProcessDevnet({ dir, fullNodes: 1 })
      assert.equal(withFull.members.length, 5)
      const f0 = withFull.members[4]!
      assert.equal(f0.name, 'f0')
      assert.equal(f0.apiPort, 41050)
      assert.ok(cfgOf(f0.home).networks.every((n) => n.validatorKey === undefined && !n.emotion?.agent))
      // Module parameters are the validators' (this run's defaults would be another chain).
      const fe = cfgOf(f0.home).networks.find((n) => n.genesis.includes('emotionalchain'))!
      assert.equal(fe.emotion?.blocksPerEpoch, 6)
      assert.deepEqual(cfgOf(f0.home).consensus, cfgOf(l.members[0]!.home).consensus)
      assert.equal(cfgOf(f0.home).p2p?.bootstrap?.length, 4)
      assert.equal(existsSync(join(f0.home, 'keys')), false)
    } finally {
      t.cleanup()
    }
  })

  it('refuses foreign and incompatible homes with typed errors, writing nothing', async () => {
    const t = tempDir('pm-layout-bad-')
    try {
      const dir = join(t.dir, 'devnet')
      await prepareMeshProcessDevnet({ dir, basePort: 0 })
      const before = readFileSync(join(dir, 'devnet.json'), 'utf8')
      await assert.rejects(prepareMeshProcessDevnet({ dir, validators: 5 }), { code: 'DEVNET_STALE' })
      assert.equal(readFileSync(join(dir, 'devnet.json'), 'utf8'), before)
      await assert.rejects(prepareMeshProcessDevnet({ dir: join(t.dir, 'x'), validators: 1 }), {
        code: 'BAD_OPTION',
      })
      await assert.rejects(prepareMeshProcessDevnet({ dir: join(t.dir, 'y'), fullNodes: 17 }), {
        code: 'BAD_OPTION',
      })
      assert.equal(existsSync(join(t.dir, 'x')) || existsSync(join(t.dir, 'y')), false)
      // The older one-network process layout.
      const old = join(t.dir, 'old')
      mkdirSync(old)
      writeFileSync(join(old, 'devnet.json'), JSON.stringify({ networkId: 'hub', members: [{}, {}, {}, {}] }))
      assert.equal(inspectDevnetDir(old).state, 'other')
      await assert.rejects(prepareMeshProcessDevnet({ dir: old }), { code: 'DEVNET_STALE' })
      // A one-validator home: refused as is; the CLI's migration moves it aside first.
      const single = join(t.dir, 'single')
      initHome(single, {
        networkId: 'hub',
        port: 0,
        blockIntervalMs: 500,
        addressPrefix: 'pm',
        feeAsset: 'pulse',
        nowMs: 1n,
      })
      await assert.rejects(prepareMeshProcessDevnet({ dir: single }), { code: 'DEVNET_STALE' })
      const aside = join(t.dir, 'single-aside')
      assert.match(moveOldSingleDevnet(single, aside) ?? '', /moved/)
      assert.ok(existsSync(join(aside, 'config.json')))
      assert.equal(inspectDevnetDir(single).state, 'empty')
      // Nothing to move, or the target is taken: left alone.
      assert.equal(moveOldSingleDevnet(single, join(t.dir, 'z')), undefined)
      assert.equal(moveOldSingleDevnet(old, aside), undefined)
      assert.equal((await prepareMeshProcessDevnet({ dir: single, basePort: 0 })).validators, 4)
    } finally {
      t.cleanup()
    }
  })
})
