/**
 * `pulsemesh devnet --validators N`: a home directory for an N-validator BFT devnet in one process
 * (LocalValidatorNetwork behind the host, see host.ts `consensus.validatorKeys`). Keys
 * validator-<network>-<i> and "demo" live in <home>/keys; the demo account and every validator's
 * operator account are funded. Idempotent: existing keys, genesis and config are reused, so a restart
 * continues the chain.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Genesis, genesisToJson } from '@pulsemesh/app'
import { addressFromPublicKey } from '@pulsemesh/core'
import type { HostConfig, InitOptions } from '../host.ts'
import { Keystore } from '../keys/keystore.ts'

export interface BftDevnetHome {
  demoAddress: string
  validators: { name: string; address: string }[]
}

export function initBftDevnetHome(home: string, o: InitOptions & { validators: number }): BftDevnetHome {
  if (!Number.isSafeInteger(o.validators) || o.validators < 2 || o.validators > 64)
    throw new Error('--validators must be between 2 and 64')
  mkdirSync(join(home, 'genesis'), { recursive: true })
  const keys = new Keystore(home)
  const load = (name: string) => (keys.has(name) ? keys.load(name) : keys.create(name, 'ed25519'))
  const demo = load('demo')
  const demoAddress = addressFromPublicKey(demo.publicKey, o.addressPrefix)
  const vals = Array.from({ length: o.validators }, (_, i) => {
    const name = `validator-${o.networkId}-${i}`
    const k = load(name)
    return { name, key: k, address: addressFromPublicKey(k.publicKey, o.addressPrefix) }
  })
  const out = { demoAddress, validators: vals.map((v) => ({ name: v.name, address: v.address })) }
  if (existsSync(join(home, 'config.json'))) return out
  const genesis: Genesis = {
    networkId: o.networkId,
    genesisTimeMs: o.nowMs,
    params: {
      networkId: o.networkId,
      addressPrefix: o.addressPrefix,
      feeAsset: o.feeAsset,
      minFee: 1000n,
      blockIntervalMs: o.blockIntervalMs,
      txLifetimeBlocksMax: 10_000n,
      blockTxsMax: 20_000,
      blockBytesMax: 8 * 1024 * 1024,
    },
    assets: [{ id: o.feeAsset, decimals: 6, maxSupply: 0n }],
    balances: [
      { address: demoAddress, asset: o.feeAsset, amount: 1_000_000_000_000_000n },
      // Operators pay fees for unjail / rotate-key.
      ...vals.map((v) => ({ address: v.address, asset: o.feeAsset, amount: 1_000_000_000n })),
    ],
    // Power = bonded base units (powerReduction 1): 1000 PULSE each, so a demo create-validator or
    // delegation of a few PULSE cannot take over the set (and halt it with a key nobody runs).
    validators: vals.map((v) => ({ name: v.name, publicKey: v.key.publicKey.bytes, power: 1_000_000_000n })),
  }
  const file = join('genesis', `${o.networkId}.json`)
  writeFileSync(join(home, file), `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`)
  const cfg: HostConfig = {
    api: { host: '127.0.0.1', port: o.port },
    networks: [
      { genesis: file, consensus: { validatorKeys: vals.map((v) => v.name), checkpointInterval: 100 } },
    ],
  }
  writeFileSync(join(home, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`)
  return out
}
