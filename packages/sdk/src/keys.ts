/** Key and address helpers re-exported for apps that depend on the SDK alone (e.g. the web dashboard). */
export {
  addressFromPublicKey,
  fromHex,
  generateKeyPair,
  type KeyScheme,
  parseAddress,
  type PublicKey,
  PulseError,
  publicKeyFromSecret,
  sign,
  toHex,
  verify,
} from '@pulsemesh/core'
