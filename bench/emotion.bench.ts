/**
 * Proof of Emotion costs:
 *  - agent side: feature extraction + commitment of one 60 s window (processWindow), windows/s on
 *    one core (the emotion-features suite splits it by stage);
 *  - chain side: per validator per epoch, the time to execute the epoch's attestation txs (tx
 *    signature + device signature + registration/nonce/epoch checks + range decode + per-tx
 *    anti-gaming + state writes) plus the epoch-closing block (cross-validator near-identity check,
 *    O(n²), then scoring, multipliers and the reward table), for 21, 100 and 1,000 validators;
 *  - same-run reference: raw Ed25519 verifications/s through the same crypto backend (node:crypto),
 *    so "attestation cost in signature verifications" is a ratio, robust to machine load.
 */
import {
  accountIdOf,
  App,
  attestationSignBytes,
  bankModule,
  createEmotionModule,
  type DecodedTx,
  decodeTxBytes,
  EMOTION_KIND,
  encodeAttest,
  encodeRegisterDevice,
  type Genesis,
  MemoryStore,
  NO_MANUFACTURER,
  Overlay,
} from '@pulsemesh/app'
import {
  addressFromPublicKey,
  encodeTx,
  generateKeyPair,
  type KeyPair,
  sha256,
  sign,
  type TxBody,
  toHex,
  txSignBytes,
  u64be,
  utf8,
  verify,
} from '@pulsemesh/core'
import {
  decodeQuantizedFeatures,
  encodeQuantizedFeatures,
  PERSONAS,
  processWindow,
  type QuantizedFeatures,
  readDevices,
  SimulatedDevice,
} from '@pulsemesh/emotion'
import { installNodeCrypto } from '../packages/node/src/crypto/node-backend.ts'

const WINDOW_MS = 60_000
const BASE_WINDOWS = 24

/** CPU time of this process in ms (user + system): robust to other load on the shared machine. */
function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Operations per CPU-second, running f for about `ms` of CPU time. */
function rate(f: () => unknown, ms = 800): number {
  for (let i = 0; i < 3; i++) f()
  let n = 0
  const t0 = cpuMs()
  let t = t0
  while (t - t0 < ms) {
    f()
    n++
    if ((n & 7) === 0) t = cpuMs()
  }
  t = cpuMs()
  return (n * 1000) / (t - t0)
}

const kit = (i: number) => {
  const p = [PERSONAS.calm, PERSONAS.focused, PERSONAS.stressed][i % 3]
  return [
    new SimulatedDevice({ id: `hrm${i}`, kind: 'ble-hrm' as const, persona: p, seed: 1000 + i }),
    new SimulatedDevice({
      id: `e4${i}`,
      kind: 'e4' as const,
      persona: p,
      seed: 1000 + i,
      tier: 'medical' as const,
    }),
    new SimulatedDevice({ id: `eeg${i}`, kind: 'muse' as const, persona: p, seed: 1000 + i }),
  ]
}

/**
 * Validator i's record in an epoch: one of the real base windows with HR and RMSSD shifted (2 bpm,
 * 2.5 ms per step, beyond the 1% near-identity tolerance) so no two validators coincide, and a
 * field no detector compares nudged per epoch so the record differs from the validator's history.
 */
function featuresFor(base: QuantizedFeatures[], i: number, epoch: bigint): Uint8Array {
  const q = base[i % base.length]
  const step = Math.floor(i / base.length)
  return encodeQuantizedFeatures({
    ...q,
    hrCentiBpm: q.hrCentiBpm + 200 * step,
    rmssdUs: q.rmssdUs + 2_500 * step,
    eegTotalUv2: q.eegTotalUv2 + Number(epoch),
  })
}

const key = (what: string): KeyPair => generateKeyPair('ed25519', sha256(utf8(what)))

function txOf(k: KeyPair, kind: number, payload: Uint8Array, nonce: bigint): DecodedTx {
  const body: TxBody = {
    networkId: 'emo-bench',
    sender: k.publicKey,
    nonce,
    fee: 1n,
    expiresAt: 1_000_000n,
    memo: '',
    kind,
    payload,
  }
  return decodeTxBytes(encodeTx({ body, signature: sign(k.scheme, k.secretKey, txSignBytes(body)) }))
}

async function epochCost(n: number, base: QuantizedFeatures[]) {
  const vals = Array.from({ length: n }, (_, i) => key(`bench/validator/${i}`))
  const devs = Array.from({ length: n }, (_, i) => key(`bench/device/${i}`))
  const ids = new Set(vals.map((v) => toHex(accountIdOf(v.publicKey))))
  const B = 10n
  const emotion = createEmotionModule({
    params: { blocksPerEpoch: B, nonceWindowBlocks: 8 },
    stakeOf: (_s, op) => (ids.has(toHex(op)) ? 1_000n : undefined),
  })
  const params = {
    networkId: 'emo-bench',
    addressPrefix: 'emo',
    feeAsset: 'emo',
    minFee: 1n,
    blockIntervalMs: 10_000,
    txLifetimeBlocksMax: 1_000_000n,
    blockTxsMax: 50_000,
    blockBytesMax: 16 * 1024 * 1024,
  }
  const genesis: Genesis = {
    networkId: 'emo-bench',
    genesisTimeMs: 0n,
    params,
    assets: [{ id: 'emo', decimals: 6, maxSupply: 0n }],
    balances: vals.map((v) => ({
      address: addressFromPublicKey(v.publicKey, 'emo'),
      asset: 'emo',
      amount: 1_000_000n,
    })),
    validators: [{ name: 'v', publicKey: vals[0].publicKey.bytes, power: 1n }],
  }
  const app = new App(params, [bankModule, emotion])
  const store = new MemoryStore()
  app.initGenesis(store, genesis)
  let height = 0n
  const hashes: Uint8Array[] = [new Uint8Array(32)]
  const block = (txs: DecodedTx[], verifySignatures: boolean) => {
    height++
    const o = new Overlay(store)
    const t0 = cpuMs()
    const exec = app.executeBlock(
      o,
      txs,
      {
        networkId: 'emo-bench',
        height,
        timeMs: height * 10_000n,
        proposer: vals[0].publicKey.bytes,
        params,
        prevHash: hashes[Number(height) - 1],
      },
      { mode: 'validate', verifySignatures },
    )
    o.commit()
    const ms = cpuMs() - t0
    hashes.push(sha256(u64be(height)))
    for (const r of exec.results) if (r.error !== '') throw new Error(`bench tx failed: ${r.error}`)
    return { ms, exec }
  }
  // setup (untimed): register every device, then run to the next epoch
  block(
    vals.map((v, i) =>
      txOf(
        v,
        EMOTION_KIND.registerDevice,
        encodeRegisterDevice({
          key: devs[i].publicKey,
          tier: 'consumer',
          manufacturer: NO_MANUFACTURER,
          certificate: new Uint8Array(),
        }),
        0n,
      ),
    ),
    false,
  )
  while (height % B !== 0n) block([], false)
  // two epochs: the first warms key caches and fills history (as on a running chain); the second is timed
  let out = { attestMs: 0, closeMs: 0, flagged: 0, scored: 0 }
  for (let round = 0; round < 2; round++) {
    block([], false) // first block of the epoch; its hash is the nonce
    const epoch = emotion.keeper.epochOf(height + 1n)
    const txs = vals.map((v, i) => {
      const body = {
        epoch,
        nonceHeight: height,
        nonceHash: hashes[Number(height)],
        features: featuresFor(base, i, epoch),
        commitment: sha256(utf8(`commit/${i}/${epoch}`)),
        tier: 'consumer' as const,
        claimedScore: 80,
        device: accountIdOf(devs[i].publicKey),
      }
      const deviceSignature = sign(
        'ed25519',
        devs[i].secretKey,
        attestationSignBytes('emo-bench', accountIdOf(v.publicKey), body),
      )
      return txOf(v, EMOTION_KIND.attest, encodeAttest({ ...body, deviceSignature }), BigInt(round + 1))
    })
    const attest = block(txs, true)
    while ((height + 1n) % B !== 0n) block([], false)
    const close = block([], false)
    const events = [...attest.exec.results.flatMap((r) => r.events), ...close.exec.endEvents]
    out = {
      attestMs: attest.ms,
      closeMs: close.ms,
      flagged: events.filter((e) => e.type === 'emotion_flagged').length,
      scored: events.filter((e) => e.type === 'emotion_score').length,
    }
  }
  return out
}

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  // agent side: one real 60 s window
  const raw = await readDevices(kit(0), WINDOW_MS)
  const salt = new Uint8Array(16).fill(7)
  const windowsPerSecond = rate(() => processWindow(raw, salt), 1500)

  // reference: raw Ed25519 verify rate, same backend, same run
  const k = key('bench/ref')
  const msgs = Array.from({ length: 64 }, (_, i) => sha256(u64be(BigInt(i))))
  const sigs = msgs.map((m) => sign('ed25519', k.secretKey, m))
  let j = 0
  const verifyPerSecond = rate(() => {
    if (!verify(k.publicKey, msgs[j & 63], sigs[j & 63])) throw new Error('ref verify failed')
    j++
  }, 1000)
  const verifyUs = 1e6 / verifyPerSecond

  // base records from real simulated windows (3 personas, distinct seeds)
  const base: QuantizedFeatures[] = []
  for (let i = 0; i < BASE_WINDOWS; i++) {
    const w = processWindow(await readDevices(kit(i), WINDOW_MS), salt)
    base.push(decodeQuantizedFeatures(encodeQuantizedFeatures(w.features.quantized)))
  }

  const chain: Record<string, unknown> = {}
  for (const n of process.env.EMO_ONLY ? [Number(process.env.EMO_ONLY)] : [21, 100, 1000]) {
    const runs = n >= 1000 ? 1 : 3
    let best = {
      attestMs: Number.POSITIVE_INFINITY,
      closeMs: Number.POSITIVE_INFINITY,
      flagged: 0,
      scored: 0,
    }
    for (let r = 0; r < runs; r++) {
      const x = await epochCost(n, base)
      if (x.attestMs + x.closeMs < best.attestMs + best.closeMs) best = x
    }
    const perValidatorUs = ((best.attestMs + best.closeMs) * 1000) / n
    chain[`validators_${n}`] = {
      attestationTxsMs: +best.attestMs.toFixed(2),
      epochCloseMs: +best.closeMs.toFixed(2),
      perValidatorUs: +perValidatorUs.toFixed(1),
      attestTxPerValidatorUs: +((best.attestMs * 1000) / n).toFixed(1),
      closePerValidatorUs: +((best.closeMs * 1000) / n).toFixed(1),
      perValidatorInSignatureVerifies: +(perValidatorUs / verifyUs).toFixed(2),
      scored: best.scored,
      flagged: best.flagged,
    }
  }
  return {
    agent: {
      windowSeconds: WINDOW_MS / 1000,
      rawBytes: raw.reduce((s, w) => s + w.chunks.reduce((a, c) => a + c.bytes.length, 0), 0),
      windowsPerSecondPerCore: +windowsPerSecond.toFixed(1),
      msPerWindow: +(1000 / windowsPerSecond).toFixed(2),
    },
    reference: { ed25519VerifyPerSecond: Math.round(verifyPerSecond), ed25519VerifyUs: +verifyUs.toFixed(2) },
    chain,
    notes:
      'all times are CPU time of this process (process.cpuUsage), not wall clock; chain figures: best of 3 runs (1 for 1,000) of the second epoch (warm key caches, one record of history) on an in-memory store; attestation block executed with ' +
      'verifySignatures (tx + device signature inline, the node would verify the tx signature on its pool); ' +
      'perValidatorInSignatureVerifies = per-validator epoch cost / one raw Ed25519 verify in the same run. ' +
      'Two signatures per attestation make 2.0 the floor.',
  }
}
