/** Shared fixtures for app tests: deterministic keys, a genesis, signed tx builders. */
import {
  addressFromPublicKey,
  blockHash,
  type Commit,
  encodeTx,
  equalBytes,
  generateKeyPair,
  type Header,
  type PublicKey,
  sign,
  type TxBody,
  txSignBytes,
  VoteType,
  voteSignBytes,
} from '@pulsemesh/core'
import {
  App,
  bankModule,
  type DecodedTx,
  decodeTxBytes,
  type Genesis,
  MemoryStore,
  Overlay,
} from '../src/index.ts'
import { validatorSetOf } from '../src/validators.ts'

export function keyFromByte(b: number, scheme: 'ed25519' | 'secp256k1' = 'ed25519') {
  const kp = generateKeyPair(scheme, new Uint8Array(32).fill(b))
  return { ...kp, address: addressFromPublicKey(kp.publicKey, 'pm') }
}
export type TestKey = ReturnType<typeof keyFromByte>

export const validator = keyFromByte(200)

export function makeGenesis(funded: TestKey[], amount = 1_000_000_000n): Genesis {
  return {
    networkId: 'hub',
    genesisTimeMs: 1_700_000_000_000n,
    params: {
      networkId: 'hub',
      addressPrefix: 'pm',
      feeAsset: 'pulse',
      minFee: 10n,
      blockIntervalMs: 500,
      txLifetimeBlocksMax: 100n,
      blockTxsMax: 1000,
      blockBytesMax: 1 << 20,
    },
    assets: [
      { id: 'pulse', decimals: 6, maxSupply: 0n },
      { id: 'gold', decimals: 0, maxSupply: 0n, issuer: funded[0]?.address },
    ],
    balances: funded.flatMap((k) => [
      { address: k.address, asset: 'pulse', amount },
      { address: k.address, asset: 'gold', amount: 1000n },
    ]),
    validators: [{ name: 'v0', publicKey: validator.publicKey.bytes, power: 10n }],
  }
}

export function setup(funded: TestKey[]) {
  const genesis = makeGenesis(funded)
  const app = new App(genesis.params, [bankModule])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  return { genesis, app, store }
}

export function signed(
  key: { secretKey: Uint8Array; publicKey: PublicKey; scheme: 'ed25519' | 'secp256k1' },
  body: Partial<TxBody> & { kind: number; payload: Uint8Array },
): DecodedTx {
  const full: TxBody = {
    networkId: 'hub',
    sender: key.publicKey,
    nonce: 0n,
    fee: 10n,
    expiresAt: 50n,
    memo: '',
    ...body,
  }
  const bytes = encodeTx({ body: full, signature: sign(key.scheme, key.secretKey, txSignBytes(full)) })
  return decodeTxBytes(bytes)
}

export const ctx = (height = 1n) => ({
  networkId: 'hub',
  height,
  timeMs: 1_700_000_001_000n,
  proposer: validator.publicKey.bytes,
  prevHash: new Uint8Array(32),
  params: makeGenesis([]).params,
})

/**
 * A round-0 precommit certificate for `header` on `networkId`, signed at the header's time by those
 * of `signers` that are in `validators` (in the set's order) — whatever the header says, so tests
 * use it for honest chains and for forged or conflicting headers alike.
 */
export function certifyHeader(
  networkId: string,
  header: Header,
  validators: { publicKey: Uint8Array; power: bigint }[],
  signers: { publicKey: PublicKey; secretKey: Uint8Array }[],
): Commit {
  const hash = blockHash(header)
  const vote = {
    type: VoteType.Precommit,
    height: header.height,
    round: 0,
    blockHash: hash,
    timestampMs: header.timeMs,
    extension: new Uint8Array(0),
  }
  const signatures = validatorSetOf(validators).validators.flatMap((sv, i) => {
    const key = signers.find((k) => equalBytes(k.publicKey.bytes, sv.publicKey))
    if (key === undefined) return []
    const signature = sign('ed25519', key.secretKey, voteSignBytes(networkId, vote))
    return [{ validatorIndex: i, timestampMs: header.timeMs, extension: new Uint8Array(0), signature }]
  })
  return { height: header.height, round: 0, blockHash: hash, signatures }
}

export { MemoryStore, Overlay }
