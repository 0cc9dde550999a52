/**
 * Feature-extraction throughput of @pulsemesh/emotion for one 60 s window: BLE HR strap (RR),
 * Empatica E4 EDA at 4 Hz, Muse EEG 4 channels × 256 Hz. Reports windows/s on one core, split by
 * stage, and compares the EEG stage with the physical reference measured in the same run: a plain
 * float radix-2 FFT of the same size (256 points) with precomputed twiddles, times the number of FFTs
 * a window needs (4 channels × 119 Welch segments).
 */
import { performance } from 'node:perf_hooks'
import { sha256 } from '@pulsemesh/core/crypto/index.ts'
import {
  MUSE_CHANNELS,
  PERSONAS,
  SimulatedDevice,
  assembleMuseChannel,
  bitReversal,
  channelQuality,
  commitToWindow,
  decodeHeartRateMeasurement,
  decodeMuseEegPacket,
  detectAnomalies,
  edaFeatures,
  encodeQuantizedFeatures,
  encodeWindowBundle,
  extractFeatures,
  fftFixed,
  hrvFeatures,
  parseE4Signal,
  processWindow,
  readDevices,
  sampleEntropyMilli,
  scoreFeatures,
  welchBandPowers,
  type MuseEegPacket,
  type RawWindow,
} from '@pulsemesh/emotion'

const WINDOW_MS = 60_000
const FFT_N = 256

/** Runs f repeatedly for about `ms` milliseconds; returns operations per second. */
function rate(f: () => unknown, ms = 800): number {
  for (let i = 0; i < 3; i++) f() // warm-up
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    f()
    n++
    t = performance.now()
  }
  return (n * 1000) / (t - t0)
}

function floatFftPlan(n: number) {
  const cos = new Float64Array(n / 2)
  const sin = new Float64Array(n / 2)
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n)
    sin[k] = -Math.sin((2 * Math.PI * k) / n)
  }
  const rev = bitReversal(n)
  return (re: Float64Array, im: Float64Array) => {
    for (let i = 0; i < n; i++) {
      const j = rev[i]
      if (j > i) {
        let t = re[i]
        re[i] = re[j]
        re[j] = t
        t = im[i]
        im[i] = im[j]
        im[j] = t
      }
    }
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2
      const step = n / size
      for (let s = 0; s < n; s += size) {
        for (let j = 0; j < half; j++) {
          const wr = cos[j * step]
          const wi = sin[j * step]
          const a = s + j
          const b = a + half
          const tr = re[b] * wr - im[b] * wi
          const ti = re[b] * wi + im[b] * wr
          re[b] = re[a] - tr
          im[b] = im[a] - ti
          re[a] += tr
          im[a] += ti
        }
      }
    }
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const persona = PERSONAS.calm
  const devices = [
    new SimulatedDevice({ id: 'hrm', kind: 'ble-hrm', persona, seed: 1 }),
    new SimulatedDevice({ id: 'e4', kind: 'e4', persona, seed: 1 }),
    new SimulatedDevice({ id: 'muse', kind: 'muse', persona, seed: 1 }),
  ]
  const windows: RawWindow[] = await readDevices(devices, WINDOW_MS)
  const hrm = windows.find((w) => w.kind === 'ble-hrm')!
  const e4 = windows.find((w) => w.kind === 'e4')!
  const muse = windows.find((w) => w.kind === 'muse')!
  const salt = new Uint8Array(16).fill(3)
  const rawBytes = encodeWindowBundle(windows).length

  // prepared intermediate values so each stage is timed on its own
  const rr: number[] = []
  for (const c of hrm.chunks) rr.push(...decodeHeartRateMeasurement(c.bytes).rrUs)
  const eda = parseE4Signal('EDA', e4.chunks[0].bytes).values
  const byCh = new Map<string, MuseEegPacket[]>(MUSE_CHANNELS.map((c) => [c, []]))
  for (const c of muse.chunks) byCh.get(c.tag)!.push(decodeMuseEegPacket(c.bytes))
  const eeg = MUSE_CHANNELS.map((c) => assembleMuseChannel(byCh.get(c)!, 1 << 20).samples)
  const q = extractFeatures(windows).quantized
  const hrv = hrvFeatures(rr)
  const segmentsPerChannel = Math.floor((eeg[0].length - FFT_N) / (FFT_N / 2)) + 1
  const fftsPerWindow = 4 * segmentsPerChannel

  const stages = {
    decode_hrm: rate(() => {
      for (const c of hrm.chunks) decodeHeartRateMeasurement(c.bytes)
    }),
    decode_muse: rate(() => {
      const m = new Map<string, MuseEegPacket[]>(MUSE_CHANNELS.map((c) => [c, []]))
      for (const c of muse.chunks) m.get(c.tag)!.push(decodeMuseEegPacket(c.bytes))
      for (const c of MUSE_CHANNELS) assembleMuseChannel(m.get(c)!, 1 << 20)
    }),
    decode_e4_eda_csv: rate(() => parseE4Signal('EDA', e4.chunks[0].bytes)),
    hrv: rate(() => hrvFeatures(rr)),
    sample_entropy: rate(() => sampleEntropyMilli(hrv.acceptedRrUs, 7_000)),
    eda_features: rate(() => edaFeatures(eda, 4)),
    eeg_quality: rate(() => {
      for (const x of eeg)
        channelQuality(x, { flatRunMin: 16, railLo: -2048, railHi: 2047, minValue: -1024, maxValue: 1024 })
    }),
    eeg_welch_4ch: rate(() => {
      for (const x of eeg) welchBandPowers(x, 256, { num: 125, den: 256 }, FFT_N)
    }),
    score_and_detect: rate(() =>
      scoreFeatures(q, { tier: 'consumer', anomalies: detectAnomalies(q, { previous: [q] }) }),
    ),
    quantize_encode: rate(() => encodeQuantizedFeatures(q)),
    commit_sha256: rate(() => commitToWindow(encodeWindowBundle(windows), salt)),
  }
  const full = rate(() => processWindow(windows, salt), 2_000)

  // physical reference: one FFT of the same size, float and fixed-point
  const fre = new Float64Array(FFT_N)
  const fim = new Float64Array(FFT_N)
  const floatFft = floatFftPlan(FFT_N)
  const src = Float64Array.from(eeg[0].subarray(0, FFT_N), (v) => v * 16384)
  const floatFftPerS = rate(() => {
    fre.set(src)
    fim.fill(0)
    floatFft(fre, fim)
  })
  const fixedFftPerS = rate(() => {
    fre.set(src)
    fim.fill(0)
    fftFixed(fre, fim)
  })
  const sha = new Uint8Array(rawBytes)
  const sha256MBps = (rate(() => sha256(sha)) * rawBytes) / 1e6

  const ms = (perS: number) => Number((1000 / perS).toFixed(3))
  const stageMs = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, ms(v)]))
  const sumMs = Object.values(stageMs).reduce((a, b) => a + b, 0)
  const fftBoundWindowsPerS = floatFftPerS / fftsPerWindow
  return {
    window: {
      seconds: WINDOW_MS / 1000,
      beats: rr.length,
      edaSamples: eda.length,
      eegSamplesPerChannel: eeg[0].length,
      eegChannels: 4,
      rawBytes,
      fftSize: FFT_N,
      fftsPerWindow,
    },
    windowsPerSecondPerCore: Number(full.toFixed(1)),
    msPerWindow: ms(full),
    stageMsPerWindow: stageMs,
    stageSumMs: Number(sumMs.toFixed(3)),
    reference: {
      floatFft256PerSecond: Math.round(floatFftPerS),
      fixedFft256PerSecond: Math.round(fixedFftPerS),
      fixedOverFloatFftRatio: Number((fixedFftPerS / floatFftPerS).toFixed(3)),
      fftBoundWindowsPerSecond: Number(fftBoundWindowsPerS.toFixed(1)),
      pipelineOverFftBoundRatio: Number((full / fftBoundWindowsPerS).toFixed(3)),
      eegStageOverFftBoundRatio: Number((stages.eeg_welch_4ch / fftBoundWindowsPerS).toFixed(3)),
      sha256MBps: Number(sha256MBps.toFixed(1)),
    },
    notes:
      'windows/s on one core for a 60 s bundle (HR strap RR + E4 EDA 4 Hz + Muse 4x256 Hz). fftBound = float FFT/s of the same size divided by the FFTs a window needs (4 channels x 119 Welch segments): the cost of the spectral part alone with the fastest plain float transform. Ratios < 1 mean slower than that bound.',
  }
}
