/**
 * Joining networks to a hub on a devnet, shared by the one-process mesh devnet (devnet.ts) and
 * the multi-process devnet's relayer node (host.ts `meshRelay`): registry records on the hub,
 * light clients hub <-> each network, and one in-process relayer per pair.
 *
 * Idempotent: what is already on chain (a record, a client) is skipped, so a restarted devnet
 * picks up where it was. Every tx is waited for until committed and must succeed, so a refused
 * record or client is an error here instead of a relayer failing forever later.
 */
import { decodeTxResult, fromHex } from '@pulsemesh/core'
import type { NetworkNode } from '../chain/network-node.ts'
import { encodeMesh, getNetworkOrUndefined, MESH_KIND } from './devnet-deps.ts'
import { LocalEndpoint, type RelayerKey } from './endpoint.ts'
import { Relayer, type RelayerOptions } from './relayer.ts'

/** Light clients trust a header for two weeks (devnets restart within that). */
const TRUST_PERIOD_MS = 14n * 24n * 3_600_000n

export interface ConnectOptions {
  hub: NetworkNode
  networks: NetworkNode[]
  /** Signs the registry records (becomes their owner). */
  registrarKey: RelayerKey
  /** Signs the client creations (and later relays). */
  relayerKey: RelayerKey
  /** Consensus profile recorded for a network (default 'bft'). */
  profileOf?: (id: string) => 'bft' | 'poe'
  /** Bound on waiting for one round of txs to commit (default 60 s). */
  timeoutMs?: number
  /** Polled while waiting: true gives up at once (the host is stopping). */
  cancelled?: () => boolean
  log?: (m: string) => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `hash` is committed on `node` and fails unless its result is a success. */
async function committed(
  node: NetworkNode,
  hash: string,
  what: string,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<void> {
  const end = Date.now() + timeoutMs
  const h = fromHex(hash)
  for (;;) {
    const t = await node.txWithProof(h)
    if (t !== undefined) {
      const { error } = decodeTxResult(t.resultBytes)
      if (error) throw new Error(`${what} failed on ${node.id}: ${error}`)
      return
    }
    if (cancelled()) throw new Error(`${what}: cancelled`)
    if (Date.now() > end) throw new Error(`${what}: not committed on ${node.id} within ${timeoutMs} ms`)
    await sleep(50)
  }
}

/**
 * Records every network in the hub's registry (validators = the set certifying its head now, so
 * the registry-bound client creation below matches) and creates the light clients both ways.
 */
export async function connectToHub(o: ConnectOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 60_000
  const log = o.log ?? (() => {})
  const cancelled = o.cancelled ?? (() => false)
  const ep = (n: NetworkNode, k = o.relayerKey) => new LocalEndpoint(n, k)
  const hubRegistrar = ep(o.hub, o.registrarKey)
  // Round 1: registry records (one sender, so submitted one after the other; nonces follow the mempool).
  const heads = new Map<string, Awaited<ReturnType<LocalEndpoint['head']>>>()
  const records: [string, string][] = []
  for (const n of o.networks) {
    const head = await ep(n).head()
    heads.set(n.id, head)
    if (getNetworkOrUndefined(o.hub.state, n.id) !== undefined) continue
    const p = n.genesis.params
    const hash = await hubRegistrar.submit(
      MESH_KIND.networkCreate,
      encodeMesh(MESH_KIND.networkCreate, {
        id: n.id,
        profile: o.profileOf?.(n.id) ?? 'bft',
        validators: head.validators,
        nativeAsset: p.feeAsset,
        blockIntervalMs: p.blockIntervalMs,
        compliancePolicy: '',
      }),
    )
    records.push([n.id, hash])
  }
  for (const [id, hash] of records)
    await committed(o.hub, hash, `registry record of ${id}`, timeoutMs, cancelled)
  if (records.length) log(`mesh: hub registry records ${records.map((r) => r[0]).join(', ')}`)
  // Round 2: clients. On the hub one sender again; on each network its own.
  const pending: Promise<void>[] = []
  const create = async (
    on: NetworkNode,
    of: NetworkNode,
    head?: Awaited<ReturnType<LocalEndpoint['head']>>,
  ) => {
    const has = await ep(on).query<unknown>('client', { network: of.id })
    if (has !== null) return
    const h = head ?? (await ep(of).head())
    const hash = await ep(on).submit(
      MESH_KIND.clientCreate,
      encodeMesh(MESH_KIND.clientCreate, {
        counterparty: of.id,
        header: h.header,
        commit: h.commit,
        validators: h.validators,
        trustPeriodMs: TRUST_PERIOD_MS,
      }),
    )
    // Not awaited here: the clients of all networks commit in the same round of blocks.
    pending.push(committed(on, hash, `light client of ${of.id}`, timeoutMs, cancelled))
  }
  for (const n of o.networks) {
    // The hub's client of n starts from the head its record was made from (same validator set).
    await create(o.hub, n, heads.get(n.id))
    await create(n, o.hub)
  }
  await Promise.all(pending)
  if (pending.length) log(`mesh: ${pending.length} light clients created`)
}

/** One in-process relayer hub <-> each network (started; stop them with `relayer.stop()`). */
export function startHubRelayers(
  hub: NetworkNode,
  networks: NetworkNode[],
  key: RelayerKey,
  o: RelayerOptions = {},
): Relayer[] {
  return networks.map((n) => {
    const r = new Relayer(new LocalEndpoint(hub, key), new LocalEndpoint(n, key), o)
    r.start()
    return r
  })
}
