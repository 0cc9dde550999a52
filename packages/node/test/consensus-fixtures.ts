/** Fixtures for the multi-validator consensus tests: a 4-validator genesis and fast timeouts. */
import { type Genesis, genesisToJson } from '@pulsemesh/app'
import { keyFromByte, makeGenesis } from '../../app/test/helpers.ts'
import type { ValidatorKey } from '../src/chain/network-node.ts'
import { LocalValidatorNetwork } from '../src/consensus/devnet.ts'
import { inlineVerifier } from './fixtures.ts'

export const validatorKeys = [0, 1, 2, 3].map((i) => keyFromByte(210 + i))
export const keysOf = (n: number): ValidatorKey[] =>
  validatorKeys.slice(0, n).map((k) => ({ seed: k.secretKey, publicKey: k.publicKey.bytes }))

export function fourValidatorGenesis(funded: ReturnType<typeof keyFromByte>[]): Genesis {
  const g = makeGenesis(funded)
  g.validators = validatorKeys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey.bytes, power: 10n }))
  g.params.blockIntervalMs = 20
  return g
}

/** Short timeouts so tests take seconds; liveness, not speed, is what they check. */
export const FAST_TIMEOUTS = {
  proposeBaseMs: 400,
  proposeDeltaMs: 200,
  prevoteBaseMs: 150,
  prevoteDeltaMs: 100,
  precommitBaseMs: 150,
  precommitDeltaMs: 100,
}

export function startLocal(genesis: Genesis, dataDir: string, n = 4) {
  return LocalValidatorNetwork.start({
    genesis,
    genesisJson: JSON.stringify(genesisToJson(genesis)),
    keys: keysOf(n),
    dataDir,
    verifyPool: inlineVerifier,
    timeouts: FAST_TIMEOUTS,
    commitDelayMs: 10,
  })
}

/** Polls `cond` until true (the test runner's timeout bounds the wait; no wall-clock assertions). */
export async function waitFor(cond: () => boolean, what: string, maxPolls = 3000): Promise<void> {
  for (let i = 0; i < maxPolls; i++) {
    if (cond()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}
