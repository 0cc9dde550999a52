/**
 * One window of the validator's local agent: features, quantized record and the salted commitment
 * to the raw bytes. Signing the attestation (device key + validator key, with the block-hash nonce)
 * belongs to the app module's attestation type; this returns what goes into it.
 */
import { commitToWindow } from './commit.ts'
import { type WindowFeatures, extractFeatures } from './extract.ts'
import { DEFAULT_EMOTION_PARAMS, type EmotionParams } from './params.ts'
import { type BiometricDevice, type RawWindow, encodeWindowBundle } from './window.ts'

export interface ProcessedWindow {
  readonly features: WindowFeatures
  readonly commitment: Uint8Array
}

export function processWindow(
  windows: readonly RawWindow[],
  salt: Uint8Array,
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): ProcessedWindow {
  const features = extractFeatures(windows, p)
  return { features, commitment: commitToWindow(encodeWindowBundle(windows), salt) }
}

/** Reads every device for the same window length (in id order, so the result is deterministic). */
export async function readDevices(
  devices: readonly BiometricDevice[],
  windowMs: number,
): Promise<RawWindow[]> {
  const sorted = [...devices].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const out: RawWindow[] = []
  for (const d of sorted) out.push(await d.read(windowMs))
  return out
}
