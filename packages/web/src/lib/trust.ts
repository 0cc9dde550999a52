/**
 * The browser's light client per network: the validator set is pinned on first contact (the
 * certificate of block 1, i.e. the genesis validators; the latest block if 1 is not served) and
 * kept in localStorage per network (this origin = this node), then followed through validator-set
 * changes by certificate chains (@pulsemesh/sdk LightClient). Proofs are checked against that
 * tracked set, never the one the node sends with them.
 */
import {
  type CertifiedJson,
  LightClient,
  type LightState,
  parseLightState,
  type TrustedCheckpoint,
} from '@pulsemesh/sdk'
import { useEffect, useState } from 'react'
import { client } from './live.ts'

interface Stored {
  state: LightState
  pinnedAtMs: number
}
const KEY = (network: string) => `pulsemesh.light.v1.${network}`
const clients = new Map<string, Promise<LightClient>>()
const listeners = new Set<() => void>()
const notify = () => {
  for (const l of listeners) l()
}

function load(network: string): Stored | undefined {
  try {
    const raw = localStorage.getItem(KEY(network))
    if (raw === null) return undefined
    const s = JSON.parse(raw) as Stored
    const state = parseLightState(s.state, network)
    return state && typeof s.pinnedAtMs === 'number' ? { state, pinnedAtMs: s.pinnedAtMs } : undefined
  } catch {
    return undefined
  }
}

function save(network: string, state: LightState, pinnedAtMs: number) {
  try {
    localStorage.setItem(KEY(network), JSON.stringify({ state, pinnedAtMs } satisfies Stored))
  } catch {
    // Storage full or disabled: the client still works for this page's lifetime.
  }
  notify()
}

const fetchCertified = async (network: string, h: bigint | 'latest'): Promise<CertifiedJson> => {
  const c = await client.commit(network, h)
  return { header: c.header, commit: c.commit, validators: c.validators }
}

async function open(network: string): Promise<LightClient> {
  const stored = load(network)
  let pinnedAtMs = stored?.pinnedAtMs ?? Date.now()
  const opts = {
    fetchCertified: (h: bigint) => fetchCertified(network, h),
    onChange: (s: LightState) => save(network, s, pinnedAtMs),
  }
  if (stored) return new LightClient(stored.state, opts)
  let first: CertifiedJson
  try {
    first = await fetchCertified(network, 1n)
  } catch {
    first = await fetchCertified(network, 'latest')
  }
  pinnedAtMs = Date.now()
  return LightClient.pin(network, first, opts)
}

/** The network's light client (pinning on first use). */
export function lightClient(network: string): Promise<LightClient> {
  let p = clients.get(network)
  if (!p) {
    p = open(network)
    // A failed first contact is retried on the next call instead of being cached.
    p.catch(() => clients.delete(network))
    clients.set(network, p)
  }
  return p
}

/** Drops the pinned trust of `network`: the next proof pins afresh (e.g. after a devnet reset). */
export function forgetTrust(network: string) {
  clients.delete(network)
  try {
    localStorage.removeItem(KEY(network))
  } catch {}
  notify()
}

export interface TrustView {
  pin: TrustedCheckpoint
  latest: TrustedCheckpoint
  pinnedAtMs: number
}

/** The stored trust of `network` (undefined before first contact), re-read on every change. */
export function useTrust(network: string | undefined): TrustView | undefined {
  const read = () => {
    if (network === undefined) return undefined
    const s = load(network)
    if (!s) return undefined
    return {
      pin: s.state.pin,
      latest: s.state.checkpoints[s.state.checkpoints.length - 1]!,
      pinnedAtMs: s.pinnedAtMs,
    }
  }
  const [v, setV] = useState(read)
  // biome-ignore lint/correctness/useExhaustiveDependencies: read depends on network only
  useEffect(() => {
    const l = () => setV(read())
    l()
    listeners.add(l)
    return () => {
      listeners.delete(l)
    }
  }, [network])
  return v
}

export type Verdict =
  | { ok: true; height: string; trustedSetSize: number }
  | { ok: false; untrusted: boolean; error: string }

/** Runs a check through the light client; sorts failures into "set not trusted" vs "invalid". */
export async function checkTrusted(
  network: string,
  f: (lc: LightClient) => Promise<{ height: bigint; checkpoint: TrustedCheckpoint }>,
): Promise<Verdict> {
  try {
    const lc = await lightClient(network)
    const v = await f(lc)
    return { ok: true, height: v.height.toString(), trustedSetSize: v.checkpoint.validators.length }
  } catch (e) {
    const code = (e as { code?: string }).code
    return { ok: false, untrusted: code === 'VALIDATORS_UNTRUSTED', error: (e as Error).message }
  }
}
