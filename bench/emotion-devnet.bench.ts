/**
 * The EmotionalChain devnet end to end: 21 validators under BFT consensus in one process, one agent
 * each (simulated devices, personas calm/focused/stressed), validator 5 on flat-signal devices and
 * 12 on perfect-sine devices. Reports blocks/s and CPU, each attacker's multiplier, jail height,
 * slashed stake and consensus power, and the honest validators' multipliers.
 * Same-run comparison: the same 21-validator network (same genesis, modules and timeouts) without
 * agents, so "Proof of Emotion overhead" is a ratio of block rates, robust to machine load.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accountIdOf, emotionMultiplierPermille, genesisToJson, getValidator } from '@pulsemesh/app'
import { toHex } from '@pulsemesh/core'
import { PERSONAS, SimulatedDevice } from '@pulsemesh/emotion'
import { LocalValidatorNetwork } from '../packages/node/src/consensus/devnet.ts'
import { installNodeCrypto } from '../packages/node/src/crypto/node-backend.ts'
import { VerifyPool } from '../packages/node/src/crypto/verify-pool.ts'
import { simulatedKit, startEmotionDevnet } from '../packages/node/src/emotion/devnet.ts'
import { emotionalChainProfile } from '../packages/node/src/emotion/profile.ts'

const N = 21
const B = 10n
const EPOCHS = 4n
const BLOCK_MS = 200
const TIMEOUTS = {
  proposeBaseMs: 1_000,
  proposeDeltaMs: 300,
  prevoteBaseMs: 300,
  prevoteDeltaMs: 200,
  precommitBaseMs: 300,
  precommitDeltaMs: 200,
}
const ATTACKERS = new Map<number, 'flat' | 'sine'>([
  [5, 'flat'],
  [12, 'sine'],
])
const profileOpts = {
  validators: N,
  blockIntervalMs: BLOCK_MS,
  emotion: { blocksPerEpoch: B, nonceWindowBlocks: Number(B) },
}

const fakeKit = (i: number, mode: 'flat' | 'sine') =>
  (['ble-hrm', 'e4', 'muse'] as const).map(
    (kind) =>
      new SimulatedDevice({
        id: `v${i}-${kind}`,
        kind,
        persona: PERSONAS.calm,
        seed: 9_000 + i,
        mode,
        tier: kind === 'e4' ? 'medical' : undefined,
      }),
  )

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 50))
}

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  const pool = new VerifyPool()
  const target = EPOCHS * B + 3n
  try {
    // 1. with agents and attackers
    const dir = mkdtempSync(join(tmpdir(), 'pm-bench-emo-'))
    const errors: string[] = []
    let t0 = performance.now()
    let c0 = process.cpuUsage()
    const d = await startEmotionDevnet({
      dataDir: dir,
      verifyPool: pool,
      profile: profileOpts,
      timeouts: TIMEOUTS,
      devices: (i) => (ATTACKERS.has(i) ? fakeKit(i, ATTACKERS.get(i)!) : simulatedKit(i)),
      onError: (i, e) => errors.push(`v${i}: ${(e as Error).message}`),
    })
    const node = d.net.validators[0]!.node
    const ops = d.profile.validators.map((v) => accountIdOf(v.key.publicKey))
    const jailedAt = new Map<number, bigint>()
    await until(() => {
      for (const i of ATTACKERS.keys())
        if (!jailedAt.has(i) && getValidator(node.state, ops[i])?.jailed) jailedAt.set(i, node.height)
      return node.height >= target
    })
    const height = node.height
    const secs = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(c0)
    const set = await node.validatorSetAt(height)
    const power = new Map(set.validators.map((v) => [toHex(v.publicKey), v.votingPower]))
    const mult = ops.map((op) => emotionMultiplierPermille(node.state, op))
    const personas = ['calm', 'focused', 'stressed']
    const honest = (p: string) => mult.filter((_, i) => !ATTACKERS.has(i) && personas[i % 3] === p)
    const withAgents = {
      blocks: Number(height),
      seconds: +secs.toFixed(1),
      blocksPerSecond: +(Number(height) / secs).toFixed(3),
      cpuSecondsPerBlock: +((cpu.user + cpu.system) / 1e6 / Number(height)).toFixed(3),
      agentErrors: errors.length,
    }
    const attackers = [...ATTACKERS].map(([i, mode]) => ({
      validator: i,
      mode,
      multiplierPermille: mult[i],
      jailedAtHeight: jailedAt.get(i) ?? null,
      bondedEmo: Number(getValidator(node.state, ops[i])!.tokens / 1_000_000n),
      consensusPower: power.get(toHex(d.profile.validators[i].key.publicKey.bytes)) ?? 0n,
    }))
    const honestMultipliers = Object.fromEntries(
      personas.map((p) => [
        p,
        {
          min: Math.min(...honest(p)),
          max: Math.max(...honest(p)),
          atFloor: honest(p).filter((m) => m === 500).length,
          of: honest(p).length,
        },
      ]),
    )
    await d.stop()
    rmSync(dir, { recursive: true, force: true })

    // 2. the same network without agents (no attestations: everyone at the floor)
    const dir2 = mkdtempSync(join(tmpdir(), 'pm-bench-emo-plain-'))
    const p = emotionalChainProfile(profileOpts)
    t0 = performance.now()
    c0 = process.cpuUsage()
    const net = await LocalValidatorNetwork.start({
      genesis: p.genesis,
      genesisJson: JSON.stringify(genesisToJson(p.genesis)),
      keys: p.validators.map((v) => ({ seed: v.key.secretKey, publicKey: v.key.publicKey.bytes })),
      dataDir: dir2,
      verifyPool: pool,
      modules: p.modules,
      timeouts: TIMEOUTS,
    })
    await until(() => net.validators[0]!.node.height >= target)
    const secs2 = (performance.now() - t0) / 1000
    const cpu2 = process.cpuUsage(c0)
    const h2 = net.validators[0]!.node.height
    await net.stop()
    rmSync(dir2, { recursive: true, force: true })
    const withoutAgents = {
      blocks: Number(h2),
      seconds: +secs2.toFixed(1),
      blocksPerSecond: +(Number(h2) / secs2).toFixed(3),
      cpuSecondsPerBlock: +((cpu2.user + cpu2.system) / 1e6 / Number(h2)).toFixed(3),
    }
    return {
      setup: { validators: N, blockIntervalMs: BLOCK_MS, blocksPerEpoch: Number(B), epochs: Number(EPOCHS) },
      withAgents,
      withoutAgents,
      blockRateRatio: +(withAgents.blocksPerSecond / withoutAgents.blocksPerSecond).toFixed(3),
      cpuPerBlockRatio: +(withAgents.cpuSecondsPerBlock / withoutAgents.cpuSecondsPerBlock).toFixed(3),
      attackers,
      honestMultipliers,
      consensusSet: { size: set.validators.length, totalPower: set.totalVotingPower },
    }
  } finally {
    await pool.close()
  }
}
