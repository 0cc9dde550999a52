/**
 * Protocol size limits, in one place (DESIGN §2.4: bounded everything). Decoders refuse anything
 * larger before parsing. Changing one is a protocol change.
 */
export const LIMITS = {
  /** Network ids are human-readable names: ^[a-z][a-z0-9-]{0,31}$ */
  networkIdBytesMax: 32,
  txBytesMax: 32 * 1024,
  txPayloadBytesMax: 16 * 1024,
  txMemoBytesMax: 256,
  blockTxsMax: 50_000,
  blockBytesMax: 16 * 1024 * 1024,
  validatorsMax: 1024,
  voteExtensionBytesMax: 4 * 1024,
  voteBytesMax: 5 * 1024,
  evidenceMax: 64,
  evidenceBytesMax: 16 * 1024,
  eventsPerTxMax: 64,
  eventAttributesMax: 32,
  eventKeyBytesMax: 64,
  eventValueBytesMax: 512,
  errorCodeBytesMax: 64,
  assetIdBytesMax: 64,
  publicKeyBytesMax: 65,
  signatureBytesMax: 64,
} as const

const NETWORK_ID = /^[a-z][a-z0-9-]{0,31}$/
export function isValidNetworkId(id: string): boolean {
  return NETWORK_ID.test(id)
}

/** Asset ids: a base denom (`pulse`, `emo`) or a voucher trace (`transfer/hub/emo`). */
const ASSET_ID = /^[a-z][a-z0-9/_.-]{1,63}$/
export function isValidAssetId(id: string): boolean {
  return ASSET_ID.test(id)
}
