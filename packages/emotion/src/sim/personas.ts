/**
 * Simulator personas: physiological parameters of a calm, a focused and a stressed person, in
 * integer units. The values follow textbook ranges (resting HR 60–70 bpm and RMSSD 40–60 ms when
 * relaxed, HR ~100 bpm and RMSSD < 20 ms under acute stress; SCL 1–20 µS with 1–3 SCR/min at rest
 * and more under stress; alpha dominant when relaxed with eyes closed, beta up with engagement).
 * They are plausible, not a model of any real person.
 */
export interface Persona {
  readonly name: string
  /** Mean RR, µs. */
  readonly meanRrUs: number
  /** Respiratory sinus arrhythmia amplitude, µs, and breathing frequency, mHz. */
  readonly rsaUs: number
  readonly respMilliHz: number
  /** Mayer-wave (~0.1 Hz, LF) amplitude, µs. */
  readonly lfUs: number
  /** Beat-to-beat white noise σ and slow random-walk step σ, µs. */
  readonly noiseUs: number
  readonly driftUs: number
  /** Skin conductance level, pS; SCRs per minute × 100; mean SCR amplitude, pS; noise σ, pS. */
  readonly edaTonicPs: number
  readonly scrPerMinCenti: number
  readonly scrAmpPs: number
  readonly edaNoisePs: number
  /** EEG oscillation amplitudes (µV, peak) per band, 1/f noise and white noise σ (µV). */
  readonly eegUv: {
    delta: number
    theta: number
    alpha: number
    beta: number
    gamma: number
    pink: number
    white: number
  }
  /** AF8 alpha amplitude relative to AF7, per mille (> 1000: positive frontal alpha asymmetry). */
  readonly alphaAsymPermille: number
}

export const PERSONAS: Readonly<Record<'calm' | 'focused' | 'stressed', Persona>> = {
  calm: {
    name: 'calm',
    meanRrUs: 930_000,
    rsaUs: 45_000,
    respMilliHz: 200,
    lfUs: 22_000,
    noiseUs: 14_000,
    driftUs: 3_000,
    edaTonicPs: 2_000_000,
    scrPerMinCenti: 100,
    scrAmpPs: 60_000,
    edaNoisePs: 2_000,
    eegUv: { delta: 8, theta: 5, alpha: 10, beta: 7, gamma: 2, pink: 3, white: 2 },
    alphaAsymPermille: 1_200,
  },
  focused: {
    name: 'focused',
    meanRrUs: 790_000,
    rsaUs: 25_000,
    respMilliHz: 250,
    lfUs: 16_000,
    noiseUs: 10_000,
    driftUs: 2_500,
    edaTonicPs: 4_000_000,
    scrPerMinCenti: 300,
    scrAmpPs: 80_000,
    edaNoisePs: 2_000,
    eegUv: { delta: 7, theta: 5, alpha: 7, beta: 9, gamma: 3, pink: 3, white: 2 },
    alphaAsymPermille: 1_050,
  },
  stressed: {
    name: 'stressed',
    meanRrUs: 610_000,
    rsaUs: 7_000,
    respMilliHz: 330,
    lfUs: 8_000,
    noiseUs: 6_000,
    driftUs: 2_000,
    edaTonicPs: 9_000_000,
    scrPerMinCenti: 800,
    scrAmpPs: 150_000,
    edaNoisePs: 3_000,
    eegUv: { delta: 8, theta: 6, alpha: 5, beta: 11, gamma: 5, pink: 3, white: 2 },
    alphaAsymPermille: 850,
  },
}
