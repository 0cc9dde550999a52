/** Fixtures for the emotion module tests: a small chain with a hash chain and real simulated windows. */
import {
  type ChainEvent,
  fromHex,
  type KeyPair,
  parseAddress,
  sha256,
  sign,
  toHex,
  u64be,
  utf8,
} from '@pulsemesh/core'
import {
  type BiometricDevice,
  encodeQuantizedFeatures,
  PERSONAS,
  processWindow,
  readDevices,
  type SimMode,
  SimulatedDevice,
} from '@pulsemesh/emotion'
import {
  App,
  accountIdOf,
  attestationSignBytes,
  bankModule,
  createEmotionModule,
  type DecodedTx,
  EMOTION_KIND,
  type EmotionModule,
  type EmotionModuleParams,
  encodeAttest,
  encodeRegisterDevice,
  encodeRevokeDevice,
  type Genesis,
  MemoryStore,
  NO_MANUFACTURER,
  Overlay,
  type Tier,
} from '../src/index.ts'
import { keyFromByte, makeGenesis, signed, type TestKey, validator } from './helpers.ts'

export const WINDOW_MS = 60_000
/** A funded account that is not a validator. */
export const outsider = keyFromByte(1)
export type Persona = keyof typeof PERSONAS

export interface SimWindow {
  features: Uint8Array
  commitment: Uint8Array
  tier: Tier
  score: number
  raw: Awaited<ReturnType<typeof readDevices>>
}

export function kit(
  name: string,
  persona: Persona,
  seed: number,
  mode: SimMode = 'honest',
): BiometricDevice[] {
  const p = PERSONAS[persona]
  return [
    new SimulatedDevice({ id: `${name}-hrm`, kind: 'ble-hrm', persona: p, seed, mode }),
    new SimulatedDevice({ id: `${name}-e4`, kind: 'e4', persona: p, seed, mode, tier: 'medical' }),
    new SimulatedDevice({ id: `${name}-eeg`, kind: 'muse', persona: p, seed, mode }),
  ]
}

export async function windowOf(devices: BiometricDevice[], salt: Uint8Array): Promise<SimWindow> {
  const raw = await readDevices(devices, WINDOW_MS)
  const r = processWindow(raw, salt)
  return {
    features: encodeQuantizedFeatures(r.features.quantized),
    commitment: r.commitment,
    tier: r.features.tier,
    score: 0,
    raw,
  }
}

export const salt = (n: number) => sha256(utf8(`salt-${n}`)).slice(0, 16)

export interface ChainOptions {
  params?: Partial<EmotionModuleParams>
  validators?: TestKey[]
  stake?: bigint
  genesis?: (g: Genesis) => Genesis
}

/** Genesis with a fee asset and the EMO asset; the fee collector (proposer) is `validator`. */
export function emoGenesis(funded: TestKey[]): Genesis {
  const g = makeGenesis(funded)
  return {
    ...g,
    assets: [...g.assets, { id: 'emo', decimals: 6, maxSupply: 0n }],
    balances: [...g.balances, ...funded.map((k) => ({ address: k.address, asset: 'emo', amount: 1_000n }))],
  }
}

export function emotionChain(opts: ChainOptions = {}) {
  const vals = opts.validators ?? [keyFromByte(11), keyFromByte(12), keyFromByte(13)]
  const stakes = new Map(
    vals.map((k, i) => [toHex(parseAddress(k.address).bytes), (opts.stake ?? 1000n) + BigInt(i)]),
  )
  const emotion: EmotionModule = createEmotionModule({
    params: { blocksPerEpoch: 10n, nonceWindowBlocks: 5, ...opts.params },
    stakeOf: (_s, op) => stakes.get(toHex(op)),
  })
  const genesis = (opts.genesis ?? ((g) => g))(emoGenesis([...vals, outsider]))
  const app = new App(genesis.params, [bankModule, emotion])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  const nonces = new Map<string, bigint>()
  const hashes: Uint8Array[] = [new Uint8Array(32)]
  const events: ChainEvent[] = []
  const blocks: DecodedTx[][] = []
  let height = 0n
  const c = {
    app,
    store,
    emotion,
    genesis,
    vals,
    stakes,
    events,
    blocks,
    hashes,
    get height() {
      return height
    },
    get epoch() {
      return emotion.keeper.epochOf(height + 1n)
    },
    hashOf: (h: bigint) => hashes[Number(h)],
    tx(k: TestKey, kind: number, payload: Uint8Array): DecodedTx {
      const n = nonces.get(k.address) ?? 0n
      nonces.set(k.address, n + 1n)
      return signed(k, { kind, payload, nonce: n, expiresAt: 1_000_000n })
    },
    /** Executes one block (validate mode) and returns its results. */
    block(txs: DecodedTx[] = []) {
      height++
      const o = new Overlay(store)
      const exec = app.executeBlock(
        o,
        txs,
        {
          networkId: genesis.networkId,
          height,
          timeMs: 1_700_000_000_000n + height * 1000n,
          proposer: validator.publicKey.bytes,
          params: genesis.params,
          prevHash: hashes[Number(height) - 1],
        },
        { mode: 'validate', verifySignatures: true },
      )
      o.commit()
      hashes.push(sha256(u64be(height)))
      blocks.push(txs)
      for (const r of exec.results) events.push(...r.events)
      events.push(...exec.endEvents)
      return exec
    },
    /** Runs empty blocks until the next block is the first of a new epoch. */
    toEpochEnd() {
      const b = emotion.keeper.params.blocksPerEpoch
      while (height % b !== 0n || height === 0n) c.block()
    },
    registerDevice(
      k: TestKey,
      dev: KeyPair,
      tier: Tier = 'consumer',
      manufacturer = NO_MANUFACTURER,
      cert: Uint8Array = new Uint8Array(),
    ) {
      return c.tx(
        k,
        EMOTION_KIND.registerDevice,
        encodeRegisterDevice({ key: dev.publicKey, tier, manufacturer, certificate: cert }),
      )
    },
    revokeDevice(k: TestKey, dev: KeyPair) {
      return c.tx(k, EMOTION_KIND.revokeDevice, encodeRevokeDevice({ device: accountIdOf(dev.publicKey) }))
    },
    /** A signed attestation for the next block, with the latest block hash as nonce. */
    attest(
      k: TestKey,
      dev: KeyPair,
      w: { features: Uint8Array; commitment: Uint8Array; tier?: Tier },
      over: Partial<{ epoch: bigint; nonceHeight: bigint; nonceHash: Uint8Array; signWith: KeyPair }> = {},
    ) {
      const nonceHeight = over.nonceHeight ?? height
      const body = {
        epoch: over.epoch ?? emotion.keeper.epochOf(height + 1n),
        nonceHeight,
        nonceHash: over.nonceHash ?? hashes[Number(nonceHeight)] ?? new Uint8Array(32),
        features: w.features,
        commitment: w.commitment,
        tier: w.tier ?? 'medical',
        claimedScore: 80,
        device: accountIdOf(dev.publicKey),
      }
      const s = over.signWith ?? dev
      const sig = sign(
        s.scheme,
        s.secretKey,
        attestationSignBytes(genesis.networkId, parseAddress(k.address).bytes, body),
      )
      return c.tx(k, EMOTION_KIND.attest, encodeAttest({ ...body, deviceSignature: sig }))
    },
  }
  return c
}

/** The emotion module's part of the state, as sorted hex pairs (for "nothing changed" checks). */
export function emotionState(store: MemoryStore): string[] {
  return [...store.map.entries()]
    .filter(([k]) => k.charCodeAt(0) === 0x05)
    .map(([k, v]) => `${toHex(Uint8Array.from(k, (ch) => ch.charCodeAt(0)))}=${toHex(v)}`)
    .sort()
}

export const deviceKey = (b: number, scheme: 'ed25519' | 'secp256k1' = 'ed25519') => keyFromByte(b, scheme)
export const idOf = (k: TestKey) => parseAddress(k.address).bytes
export { fromHex }
