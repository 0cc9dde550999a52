/**
 * The EmotionalChain profile: genesis (EMO token, 21 validators), the module list (bank, staking
 * bonded in EMO, emotion) and deterministic devnet keys (validators, their devices, a simulated
 * manufacturer root with device certificates). `--profile emotionalchain` in the CLI and the host's
 * App construction are meant to call this (hooks listed in packages/app/README.md, emotion module).
 *
 * Devnet keys are derived from a public seed: fine for a local devnet, never for real value.
 */
import {
  type AppModule,
  bankModule,
  createEmotionModule,
  createStakingModule,
  DEFAULT_EMOTION_STAKING_PARAMS,
  deviceCertificateSignBytes,
  type EmotionModule,
  type EmotionModuleParams,
  type EmotionStakingParams,
  type Genesis,
  type ManufacturerRoot,
  meshModule,
} from '@pulsemesh/app'
import { addressFromPublicKey, generateKeyPair, type KeyPair, sha256, sign, utf8 } from '@pulsemesh/core'

export const EMOTIONALCHAIN_ID = 'emotionalchain'
export const EMO = 'emo'
/** 1 EMO in base units (6 decimals). */
export const EMO_UNIT = 1_000_000n

export interface ProfileValidator {
  name: string
  /** Consensus key = operator account key (genesis validators' operator is the key's account). */
  key: KeyPair
  address: string
  device: KeyPair
  /** Manufacturer certificate of the device at tier 'medical'. */
  certificate: Uint8Array
}

export interface EmotionalChainProfile {
  genesis: Genesis
  modules: AppModule[]
  emotion: EmotionModule
  manufacturer: KeyPair
  validators: ProfileValidator[]
}

export interface ProfileOptions {
  validators?: number
  seed?: string
  genesisTimeMs?: bigint
  /** Liquid EMO per validator operator at genesis (fees), base units. */
  operatorBalance?: bigint
  /** Bonded EMO per genesis validator, whole EMO (its initial voting power). */
  stakeEmo?: bigint
  /** Treasury account's genesis EMO, base units. */
  treasury?: bigint
  emotion?: Partial<EmotionModuleParams>
  /** Target block interval (default 10 s, as EmotionalChain). */
  blockIntervalMs?: number
  /** Staking's use of the emotion module (violations to jail, window, slash, jail time). */
  staking?: Partial<Omit<EmotionStakingParams, 'blocksPerEpoch'>>
  /** More EMO at genesis (devnets: a demo account, a relayer), base units. */
  extraBalances?: { address: string; amount: bigint }[]
}

const keyOf = (seed: string, what: string) => generateKeyPair('ed25519', sha256(utf8(`${seed}/${what}`)))

export function emotionalChainProfile(o: ProfileOptions = {}): EmotionalChainProfile {
  const n = o.validators ?? 21
  const seed = o.seed ?? 'pulsemesh-emotionalchain-devnet'
  const manufacturer = keyOf(seed, 'manufacturer')
  const treasury = keyOf(seed, 'treasury')
  const roots: ManufacturerRoot[] = [{ name: 'pulsemesh-simulator', key: manufacturer.publicKey }]
  const validators: ProfileValidator[] = []
  for (let i = 0; i < n; i++) {
    const key = keyOf(seed, `validator/${i}`)
    const device = keyOf(seed, `device/${i}`)
    validators.push({
      name: `emo-validator-${String(i).padStart(2, '0')}`,
      key,
      address: addressFromPublicKey(key.publicKey, EMO),
      device,
      certificate: sign(
        manufacturer.scheme,
        manufacturer.secretKey,
        deviceCertificateSignBytes(EMOTIONALCHAIN_ID, device.publicKey, 'medical'),
      ),
    })
  }
  const params = {
    networkId: EMOTIONALCHAIN_ID,
    addressPrefix: EMO,
    feeAsset: EMO,
    minFee: 1_000n,
    blockIntervalMs: o.blockIntervalMs ?? 10_000,
    txLifetimeBlocksMax: 100n,
    blockTxsMax: 5_000,
    blockBytesMax: 4 * 1024 * 1024,
  }
  const genesis: Genesis = {
    networkId: EMOTIONALCHAIN_ID,
    genesisTimeMs: o.genesisTimeMs ?? 1_767_225_600_000n,
    params,
    assets: [{ id: EMO, decimals: 6, maxSupply: 0n }],
    balances: [
      {
        address: addressFromPublicKey(treasury.publicKey, EMO),
        asset: EMO,
        amount: o.treasury ?? 100_000_000n * EMO_UNIT,
      },
      ...validators.map((v) => ({
        address: v.address,
        asset: EMO,
        amount: o.operatorBalance ?? 10_000n * EMO_UNIT,
      })),
      ...(o.extraBalances ?? []).map((b) => ({ ...b, asset: EMO })),
    ],
    validators: validators.map((v) => ({
      name: v.name,
      publicKey: v.key.publicKey.bytes,
      power: o.stakeEmo ?? 1_000n,
    })),
  }
  const emotion = createEmotionModule({ params: { manufacturers: roots, ...o.emotion } })
  // Voting power = bonded EMO × the emotion multiplier (per mille), set ranked by the same weight.
  const staking = createStakingModule({
    bondAsset: EMO,
    maxValidators: 21,
    powerReduction: EMO_UNIT,
    emotion: {
      ...DEFAULT_EMOTION_STAKING_PARAMS,
      ...o.staking,
      blocksPerEpoch: emotion.keeper.params.blocksPerEpoch,
    },
  })
  return { genesis, modules: [bankModule, staking, emotion], emotion, manufacturer, validators }
}

/**
 * The module list a node builds for a genesis: for the EmotionalChain network id the profile's
 * modules plus mesh (so EMO and vouchers cross to the hub), else undefined. Epoch length and nonce
 * window are module parameters, not genesis fields: every validator of the network must pass the
 * same `emotion` options (the host takes them from the network entry of config.json).
 */
export function emotionModulesFor(
  genesis: Genesis,
  o: { emotion?: Partial<EmotionModuleParams> } = {},
): AppModule[] | undefined {
  if (genesis.networkId !== EMOTIONALCHAIN_ID) return undefined
  return [...emotionalChainProfile({ validators: 1, emotion: o.emotion }).modules, meshModule]
}
