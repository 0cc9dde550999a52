/**
 * `pulsemesh devnet --profile emotionalchain`: the EmotionalChain devnet (startEmotionDevnet: N
 * validators under BFT consensus in this process, one agent each on simulated devices with varied
 * personas, EMO token) behind the HTTP API of validator 0's node.
 *
 * The chain lives in <dataDir> and continues after a restart with the same options (the genesis is
 * deterministic); a different validator count, block interval or epoch length is another genesis,
 * so the default folder name carries them.
 */
import { PulseError } from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import { buildApi } from '../api/server.ts'
import { VerifyPool } from '../crypto/verify-pool.ts'
import { type EmotionDevnet, startEmotionDevnet } from './devnet.ts'
import { EMOTIONALCHAIN_ID } from './profile.ts'

export interface EmotionDevnetRunOptions {
  dataDir: string
  host?: string
  port: number
  /** 1..64, default 21. */
  validators?: number
  /** Block interval, 3 000..60 000 ms (default 10 000, as EmotionalChain). */
  blockIntervalMs?: number
  /** Blocks per emotion epoch (default 60: one score per validator every 10 minutes at 10 s). */
  blocksPerEpoch?: bigint
  log?: (msg: string) => void
}

export interface RunningEmotionDevnet {
  url: string
  devnet: EmotionDevnet
  api: FastifyInstance
  stop(): Promise<void>
}

export const EMOTION_DEVNET_DEFAULTS = {
  validators: 21,
  blockIntervalMs: 10_000,
  blocksPerEpoch: 60n,
} as const

export function checkEmotionDevnetOptions(
  o: Pick<EmotionDevnetRunOptions, 'validators' | 'blockIntervalMs' | 'blocksPerEpoch'>,
) {
  const n = o.validators ?? EMOTION_DEVNET_DEFAULTS.validators
  const ms = o.blockIntervalMs ?? EMOTION_DEVNET_DEFAULTS.blockIntervalMs
  const epoch = o.blocksPerEpoch ?? EMOTION_DEVNET_DEFAULTS.blocksPerEpoch
  if (!Number.isSafeInteger(n) || n < 1 || n > 64)
    throw new PulseError('BAD_OPTION', '--validators must be an integer in 1..64')
  if (!Number.isSafeInteger(ms) || ms < 3_000 || ms > 60_000)
    throw new PulseError('BAD_OPTION', '--block-interval must be 3000..60000 ms for emotionalchain')
  if (epoch < 4n || epoch > 100_000n) throw new PulseError('BAD_OPTION', '--epoch-blocks must be 4..100000')
  return { validators: n, blockIntervalMs: ms, blocksPerEpoch: epoch }
}

export async function runEmotionDevnet(o: EmotionDevnetRunOptions): Promise<RunningEmotionDevnet> {
  const c = checkEmotionDevnetOptions(o)
  const log = o.log ?? (() => {})
  const pool = new VerifyPool()
  let devnet: EmotionDevnet
  try {
    devnet = await startEmotionDevnet({
      dataDir: o.dataDir,
      verifyPool: pool,
      profile: {
        validators: c.validators,
        blockIntervalMs: c.blockIntervalMs,
        // the nonce window must cover the first half of an epoch, when agents attest
        emotion: {
          blocksPerEpoch: c.blocksPerEpoch,
          nonceWindowBlocks: Math.min(20, Number(c.blocksPerEpoch)),
        },
      },
      onError: (i, e) => log(`[agent v${i}] ${(e as Error).message}`),
    })
  } catch (e) {
    await pool.close()
    throw e
  }
  for (const v of devnet.net.validators)
    v?.driver.on('error', (e: Error) => log(`[${EMOTIONALCHAIN_ID}/v${v.index}] ${e.message}`))
  const api = buildApi({ networks: new Map([[EMOTIONALCHAIN_ID, devnet.net.validators[0]!.node]]) })
  try {
    await api.listen({ host: o.host ?? '127.0.0.1', port: o.port })
  } catch (e) {
    await devnet.stop()
    await pool.close()
    throw e
  }
  const addr = api.server.address()
  const url = `http://${o.host ?? '127.0.0.1'}:${typeof addr === 'object' && addr ? addr.port : o.port}`
  return {
    url,
    devnet,
    api,
    async stop() {
      await api.close()
      await devnet.stop()
      await pool.close()
    },
  }
}

/** What the CLI prints once the devnet runs. */
export function emotionDevnetBanner(
  url: string,
  d: EmotionDevnet,
  o: { blockIntervalMs: number; blocksPerEpoch: bigint },
) {
  const m = `${url}/v1/networks/${EMOTIONALCHAIN_ID}/modules`
  return [
    '',
    `EmotionalChain devnet is running: ${d.profile.validators.length} validators (BFT, one agent each on simulated devices), EMO token`,
    `  blocks every ${o.blockIntervalMs} ms, an emotion epoch every ${o.blocksPerEpoch} blocks (scores appear after the first)`,
    `  status:         ${url}/v1/networks/${EMOTIONALCHAIN_ID}/status`,
    `  scores:         ${m}/emotion/validators`,
    `  active set:     ${m}/emotion/activeSet`,
    `  history:        ${m}/emotion/attestations?address=${d.profile.validators[0].address}`,
    `  anti-gaming:    ${m}/emotion/antiGaming`,
    `  staking:        ${m}/staking/validators`,
    '',
  ].join('\n')
}

/**
 * The CLI's `devnet --profile <name>` (main.ts hands over its devnet command): emotionalchain only.
 * Defaults differ from the plain devnet (21 validators, 10 s blocks), so options the user did not
 * give are taken from EMOTION_DEVNET_DEFAULTS. Runs until SIGINT/SIGTERM.
 */
export async function runDevnetProfile(cmd: {
  opts(): Record<string, unknown>
  getOptionValueSource(key: string): string | undefined
  parent?: { opts(): Record<string, unknown>; getOptionValueSource(key: string): string | undefined } | null
}): Promise<void> {
  const o = cmd.opts() as {
    profile: string
    port: string
    validators?: string
    blockInterval?: string
    epochBlocks?: string
  }
  if (o.profile !== 'emotionalchain')
    throw new PulseError('BAD_OPTION', `unknown profile ${JSON.stringify(o.profile)} (known: emotionalchain)`)
  const given = (k: string) =>
    cmd.getOptionValueSource(k) !== 'default' && cmd.getOptionValueSource(k) !== undefined
  const int = (v: string, name: string) => {
    if (!/^[0-9]{1,7}$/.test(v)) throw new PulseError('BAD_OPTION', `${name} must be a positive integer`)
    return Number(v)
  }
  const c = checkEmotionDevnetOptions({
    validators: given('validators') ? int(o.validators!, '--validators') : undefined,
    blockIntervalMs: given('blockInterval') ? int(o.blockInterval!, '--block-interval') : undefined,
    blocksPerEpoch: given('epochBlocks') ? BigInt(int(o.epochBlocks!, '--epoch-blocks')) : undefined,
  })
  const parent = cmd.parent
  const home =
    parent && parent.getOptionValueSource('home') !== 'default'
      ? String(parent.opts().home)
      : `.data/emotionalchain-${c.validators}v-${c.blockIntervalMs}ms-${c.blocksPerEpoch}b`
  const r = await runEmotionDevnet({
    dataDir: home,
    port: int(o.port, '--port'),
    ...c,
    log: (m) => console.error(m),
  })
  console.log(emotionDevnetBanner(r.url, r.devnet, c))
  const node = r.devnet.net.validators[0]!.node
  node.on('block', (b: { height: bigint; txHashes: string[] }) => {
    if (!parent?.opts().json) console.log(`[emotionalchain] block ${b.height} ${b.txHashes.length} txs`)
  })
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.error('stopping…')
    await r.stop()
    process.exit(process.exitCode ?? 0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
