/** Node test fixtures: a temp data dir with a funded genesis, and an in-thread signature verifier. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App, bankModule, type Genesis, genesisToJson } from '@pulsemesh/app'
import { verify } from '@pulsemesh/core'
import { NetworkNode, type SignatureVerifier } from '../src/chain/network-node.ts'
import { installNodeCrypto } from '../src/crypto/node-backend.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { keyFromByte, makeGenesis, validator } from '../../app/test/helpers.ts'

installNodeCrypto()

export const inlineVerifier: SignatureVerifier = {
  verify: async (j) => verify({ scheme: j.scheme, bytes: j.publicKey }, j.msg, j.sig),
}

export function tempDir(prefix = 'pm-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export async function openNetwork(dir: string, genesis: Genesis, now?: () => bigint) {
  const store = await ChainStore.open(join(dir, 'data'))
  const node = await NetworkNode.open({
    app: new App(genesis.params, [bankModule]),
    genesis,
    genesisJson: JSON.stringify(genesisToJson(genesis)),
    store: store.network(genesis.networkId),
    verifyPool: inlineVerifier,
    validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
    now,
  })
  return { store, node }
}

export { keyFromByte, makeGenesis, validator }
