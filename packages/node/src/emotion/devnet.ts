/**
 * An EmotionalChain devnet in one process: the profile's genesis and modules on a
 * LocalValidatorNetwork (real BFT consensus between N validators, one LevelDB each), plus one
 * EmotionAgent per validator reading simulated devices and attesting through its own node. What
 * `pulsemesh devnet --profile emotionalchain` is meant to start (the CLI hook is the CLI owner's).
 */
import { join } from 'node:path'
import { genesisToJson } from '@pulsemesh/app'
import type { TimeoutParams } from '@pulsemesh/consensus'
import { type BiometricDevice, PERSONAS, SimulatedDevice } from '@pulsemesh/emotion'
import type { NetworkNode, SignatureVerifier } from '../chain/network-node.ts'
import { LocalValidatorNetwork } from '../consensus/devnet.ts'
import { EmotionAgent } from './agent.ts'
import { nodeChainView } from './node-view.ts'
import { type EmotionalChainProfile, emotionalChainProfile, type ProfileOptions } from './profile.ts'

export interface EmotionDevnetOptions {
  dataDir: string
  verifyPool: SignatureVerifier
  profile?: ProfileOptions
  timeouts?: Partial<TimeoutParams>
  commitDelayMs?: number
  /** Simulated devices of validator i (default: BLE strap, E4, Muse with persona i mod 3). */
  devices?: (i: number) => BiometricDevice[]
  windowMs?: number
  /** Called with agent errors (the devnet keeps running). */
  onError?: (i: number, e: unknown) => void
}

export interface EmotionDevnet {
  net: LocalValidatorNetwork
  profile: EmotionalChainProfile
  agents: EmotionAgent[]
  stop(): Promise<void>
}

export function simulatedKit(i: number): BiometricDevice[] {
  const p = [PERSONAS.calm, PERSONAS.focused, PERSONAS.stressed][i % 3]
  return [
    new SimulatedDevice({ id: `v${i}-hrm`, kind: 'ble-hrm', persona: p, seed: 7_000 + i }),
    new SimulatedDevice({ id: `v${i}-e4`, kind: 'e4', persona: p, seed: 7_000 + i, tier: 'medical' }),
    new SimulatedDevice({ id: `v${i}-eeg`, kind: 'muse', persona: p, seed: 7_000 + i }),
  ]
}

/**
 * Runs `agent` on `node`: registers its device, then after each committed block attests (once per
 * epoch, only in the first half so the tx is in a block before the epoch closes, and only once the
 * device is on chain). One tick at a time. Returns a function that detaches it.
 */
export function driveAgent(
  agent: EmotionAgent,
  node: NetworkNode,
  blocksPerEpoch: bigint,
  stopped: () => boolean,
  onError: (e: unknown) => void,
): () => void {
  const chain = nodeChainView(node)
  let busy: Promise<unknown> = agent.ensureRegistered().catch(onError)
  const onBlock = () => {
    busy = busy
      .then(async () => {
        if (stopped()) return
        const head = await chain.head()
        if (head.height % blocksPerEpoch >= blocksPerEpoch / 2n) return
        if (!(await chain.deviceRegistered(agent.deviceId))) {
          // A registration that expired unincluded (its tx lives 10 blocks): submit it again.
          if (head.height % 20n === 0n) await agent.ensureRegistered()
          return
        }
        await agent.tick()
      })
      .catch(onError)
  }
  node.on('block', onBlock)
  return () => node.off('block', onBlock)
}

export async function startEmotionDevnet(o: EmotionDevnetOptions): Promise<EmotionDevnet> {
  const profile = emotionalChainProfile(o.profile)
  const { genesis } = profile
  const net = await LocalValidatorNetwork.start({
    genesis,
    genesisJson: JSON.stringify(genesisToJson(genesis)),
    keys: profile.validators.map((v) => ({ seed: v.key.secretKey, publicKey: v.key.publicKey.bytes })),
    dataDir: o.dataDir,
    verifyPool: o.verifyPool,
    modules: profile.modules,
    timeouts: o.timeouts,
    commitDelayMs: o.commitDelayMs,
  })
  const blocksPerEpoch = profile.emotion.keeper.params.blocksPerEpoch
  let stopped = false
  const detach: (() => void)[] = []
  const agents = profile.validators.map((v, i) => {
    const node = net.validators[i]!.node
    const agent = new EmotionAgent({
      dir: join(o.dataDir, `agent-v${i}`),
      networkId: genesis.networkId,
      blocksPerEpoch,
      devices: (o.devices ?? simulatedKit)(i),
      deviceKey: v.device,
      validatorKey: v.key,
      chain: nodeChainView(node),
      fee: genesis.params.minFee,
      windowMs: o.windowMs,
      registration: { tier: 'medical', manufacturer: 0, certificate: v.certificate },
    })
    detach.push(
      driveAgent(
        agent,
        node,
        blocksPerEpoch,
        () => stopped,
        (e) => o.onError?.(i, e),
      ),
    )
    return agent
  })
  return {
    net,
    profile,
    agents,
    stop: async () => {
      stopped = true
      for (const d of detach) d()
      await net.stop()
    },
  }
}
