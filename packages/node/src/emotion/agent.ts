/**
 * The validator's local Proof of Emotion agent (DESIGN §6): reads the validator's biometric devices
 * (real drivers or the simulator, behind packages/emotion's BiometricDevice), extracts features,
 * and once per epoch builds, signs (device key, then validator key) and submits the attestation tx
 * to its node.
 *
 * Privacy: raw sample windows never leave this object's folder. What leaves is the 112-byte
 * quantized record and a salted commitment (packages/emotion commit.ts). The raw bundle and its
 * salt are kept in `<dir>/windows/` (the last `keepWindows` epochs, so the validator can open a
 * commitment in a dispute); `forget()` deletes them all without touching the chain. The log
 * (`<dir>/agent.log`, JSON lines) holds epochs, commitments, scores and tx hashes, never samples.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import {
  accountIdOf,
  attestationSignBytes,
  EMOTION_KIND,
  encodeAttest,
  encodeRegisterDevice,
  epochOf,
  NO_MANUFACTURER,
  type Tier,
} from '@pulsemesh/app'
import { encodeTx, type KeyPair, sign, toHex, txHash, txSignBytes, type TxBody } from '@pulsemesh/core'
import {
  type BiometricDevice,
  commitToWindow,
  encodeQuantizedFeatures,
  encodeWindowBundle,
  extractFeatures,
  readDevices,
  scoreFeatures,
} from '@pulsemesh/emotion'

/** What the agent needs from its node (in-process NetworkNode or the HTTP API through the SDK). */
export interface AgentChainView {
  /** Latest committed block: its height and header hash (the attestation nonce). */
  head(): Promise<{ height: bigint; hash: Uint8Array }>
  /** Next tx nonce of an account, counting the node's mempool. */
  nextNonce(account: Uint8Array): Promise<bigint>
  submit(tx: Uint8Array): Promise<void>
  /** Whether a device id is registered on chain (any owner). */
  deviceRegistered(id: Uint8Array): Promise<boolean>
}

export interface EmotionAgentOptions {
  /** The agent's own folder: raw windows and its log live here and nowhere else. */
  dir: string
  networkId: string
  blocksPerEpoch: bigint
  devices: readonly BiometricDevice[]
  /** The device key registered on chain (signs attestations). */
  deviceKey: KeyPair
  /** The validator operator's account key (signs txs). */
  validatorKey: KeyPair
  chain: AgentChainView
  windowMs?: number
  fee?: bigint
  /** Blocks a tx stays valid. */
  txLifetime?: bigint
  keepWindows?: number
  /** Device registration: tier and optional manufacturer certificate. */
  registration?: { tier: Tier; manufacturer: number; certificate: Uint8Array }
  /** Salt source (default: node:crypto). */
  random?: (n: number) => Uint8Array
}

export interface AttestResult {
  epoch: bigint
  txHash: string
  commitment: string
  claimedScore: number
}

export class EmotionAgent {
  readonly dir: string
  private readonly o: EmotionAgentOptions
  private readonly windowsDir: string
  private readonly logFile: string
  private readonly attested = new Set<bigint>()
  readonly deviceId: Uint8Array
  private readonly operator: Uint8Array

  constructor(o: EmotionAgentOptions) {
    this.o = o
    this.dir = o.dir
    this.windowsDir = join(o.dir, 'windows')
    this.logFile = join(o.dir, 'agent.log')
    this.deviceId = accountIdOf(o.deviceKey.publicKey)
    this.operator = accountIdOf(o.validatorKey.publicKey)
    mkdirSync(this.windowsDir, { recursive: true })
  }

  private log(event: string, fields: Record<string, string | number | boolean>): void {
    appendFileSync(this.logFile, `${JSON.stringify({ event, ...fields })}\n`)
  }

  private async signedTx(kind: number, payload: Uint8Array): Promise<Uint8Array> {
    const head = await this.o.chain.head()
    const body: TxBody = {
      networkId: this.o.networkId,
      sender: this.o.validatorKey.publicKey,
      nonce: await this.o.chain.nextNonce(this.operator),
      fee: this.o.fee ?? 10n,
      expiresAt: head.height + (this.o.txLifetime ?? 10n),
      memo: '',
      kind,
      payload,
    }
    const k = this.o.validatorKey
    return encodeTx({ body, signature: sign(k.scheme, k.secretKey, txSignBytes(body)) })
  }

  /** Submits the device registration if the chain does not know the device yet. */
  async ensureRegistered(): Promise<boolean> {
    if (await this.o.chain.deviceRegistered(this.deviceId)) return false
    const r = this.o.registration ?? {
      tier: 'consumer' as Tier,
      manufacturer: NO_MANUFACTURER,
      certificate: new Uint8Array(),
    }
    const tx = await this.signedTx(
      EMOTION_KIND.registerDevice,
      encodeRegisterDevice({ key: this.o.deviceKey.publicKey, ...r }),
    )
    await this.o.chain.submit(tx)
    this.log('device_registration_submitted', { device: toHex(this.deviceId), tier: r.tier })
    return true
  }

  /**
   * Attests for the epoch of the next block if not done yet: reads one window from every device,
   * keeps the raw bundle locally, submits quantized features + commitment. Returns undefined when
   * this epoch is already attested.
   */
  async tick(): Promise<AttestResult | undefined> {
    const head = await this.o.chain.head()
    const epoch = epochOf(head.height + 1n, this.o.blocksPerEpoch)
    if (this.attested.has(epoch)) return undefined
    const raw = await readDevices(this.o.devices, this.o.windowMs ?? 60_000)
    const features = extractFeatures(raw)
    const bundle = encodeWindowBundle(raw)
    const salt = (this.o.random ?? ((n) => new Uint8Array(randomBytes(n))))(16)
    const commitment = commitToWindow(bundle, salt)
    this.keepWindow(epoch, bundle, salt)
    const claimed = scoreFeatures(features.quantized, { tier: features.tier }).score
    const body = {
      epoch,
      nonceHeight: head.height,
      nonceHash: head.hash,
      features: encodeQuantizedFeatures(features.quantized),
      commitment,
      tier: features.tier,
      claimedScore: claimed,
      device: this.deviceId,
    }
    const dk = this.o.deviceKey
    const deviceSignature = sign(
      dk.scheme,
      dk.secretKey,
      attestationSignBytes(this.o.networkId, this.operator, body),
    )
    const tx = await this.signedTx(EMOTION_KIND.attest, encodeAttest({ ...body, deviceSignature }))
    try {
      await this.o.chain.submit(tx)
    } catch (e) {
      this.log('attestation_refused', {
        epoch: epoch.toString(),
        code: String((e as { code?: string }).code ?? 'ERROR'),
      })
      throw e
    }
    this.attested.add(epoch)
    const result: AttestResult = {
      epoch,
      txHash: toHex(txHash(tx)),
      commitment: toHex(commitment),
      claimedScore: claimed,
    }
    this.log('attestation_submitted', {
      epoch: epoch.toString(),
      tx: result.txHash,
      commitment: result.commitment,
      claimedScore: claimed,
      tier: features.tier,
    })
    return result
  }

  private keepWindow(epoch: bigint, bundle: Uint8Array, salt: Uint8Array): void {
    const name = epoch.toString().padStart(20, '0')
    writeFileSync(join(this.windowsDir, `${name}.window`), bundle, { mode: 0o600 })
    writeFileSync(join(this.windowsDir, `${name}.salt`), salt, { mode: 0o600 })
    const keep = this.o.keepWindows ?? 8
    const epochs = this.storedEpochs()
    for (const old of epochs.slice(0, Math.max(0, epochs.length - keep))) this.dropWindow(old)
  }

  private dropWindow(name: string): void {
    rmSync(join(this.windowsDir, `${name}.window`), { force: true })
    rmSync(join(this.windowsDir, `${name}.salt`), { force: true })
  }

  /** Epochs whose raw window is still kept locally (zero-padded names, oldest first). */
  storedEpochs(): string[] {
    if (!existsSync(this.windowsDir)) return []
    return readdirSync(this.windowsDir)
      .filter((f) => f.endsWith('.window'))
      .map((f) => f.slice(0, -'.window'.length))
      .sort()
  }

  /** The raw bundle and salt of an epoch (to open its commitment in a dispute), if still kept. */
  openCommitment(epoch: bigint): { bundle: Uint8Array; salt: Uint8Array } | undefined {
    const name = epoch.toString().padStart(20, '0')
    const w = join(this.windowsDir, `${name}.window`)
    if (!existsSync(w)) return undefined
    return {
      bundle: new Uint8Array(readFileSync(w)),
      salt: new Uint8Array(readFileSync(join(this.windowsDir, `${name}.salt`))),
    }
  }

  /**
   * Right to be forgotten: deletes every raw window and salt this agent kept. The chain is not
   * touched (it never held them); without the salts the on-chain commitments can no longer be
   * opened or tested against guesses. Returns how many windows were deleted.
   */
  forget(): number {
    const n = this.storedEpochs().length
    rmSync(this.windowsDir, { recursive: true, force: true })
    mkdirSync(this.windowsDir, { recursive: true })
    this.log('forgotten', { windows: n })
    return n
  }
}
