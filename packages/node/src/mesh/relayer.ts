/**
 * The mesh relayer: carries packets, acknowledgements and timeouts between two networks, each
 * with a state proof and the header that certifies it (preceded by a light-client update).
 *
 * It keeps no state of its own beyond "recently submitted" markers: every pass re-derives what
 * to do from the two chains (pending packets on the source, receipts on the destination), so a
 * relayer that crashes mid-flight simply continues after a restart, and two relayers never cause
 * double delivery (receipts make the second delivery fail, never apply). Calls to each network go
 * through a cockatiel retry (exponential backoff) and a circuit breaker per network connection,
 * so a halted network costs a few failed calls, not a busy loop, and is picked up when it resumes.
 *
 * When it runs: what a pass reads changes only when one of the two chains commits a block. With
 * endpoints that announce blocks (`onBlock`: networks hosted in this process) a pass runs on each
 * block of either side, at once (latency: no poll interval to wait out), plus a slow fallback pass
 * every `idleMs` (10 s); an idle pair of networks costs nothing between blocks. HTTP endpoints
 * announce blocks when given a node's WebSocket block feed (`pulsemesh relayer` does); endpoints
 * without it are polled every `intervalMs`.
 */
import { MESH_KIND, mesh } from '@pulsemesh/app'
import { blockHash, decodeHeader, fromHex, toHex } from '@pulsemesh/core'
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  type IPolicy,
  retry,
  wrap,
} from 'cockatiel'
import type { CertifiedState, MeshEndpoint } from './endpoint.ts'

const MAX_BACKOFF_MS = 5000
const kinds = new Map(mesh.createMeshModule().txKinds.map((k) => [k.kind, k]))
const encode = (kind: number, p: unknown) => kinds.get(kind)!.encode(p)

export interface RelayerOptions {
  /** Pause between passes while idle (ms) when an endpoint cannot announce blocks (polling). */
  intervalMs?: number
  /** Fallback pass interval when both endpoints announce blocks (default 10 s). */
  idleMs?: number
  /** Consecutive failures before a network's breaker opens, and how long it stays open. */
  breakerFailures?: number
  breakerOpenMs?: number
  /** Packets per direction per pass. */
  batch?: number
  /** How often (ms) to check registry records and look for forks (default 1000). */
  checkMs?: number
  log?: (msg: string) => void
}

export interface RelayerStats {
  received: number
  acknowledged: number
  timedOut: number
  clientUpdates: number
  /** Registry records carried from the hub to a network that follows its registry. */
  registrySyncs: number
  /** Misbehaviour evidence submitted (a light client trusted a header the counterparty's chain lacks). */
  misbehaviour: number
  failures: number
  passes: number
}

/** Fallback pass while both endpoints announce their blocks (nothing changes between blocks). */
export const RELAYER_IDLE_MS = 10_000

/** One network connection: the endpoint behind its retry + breaker policy. */
class Guarded {
  readonly ep: MeshEndpoint
  readonly policy: IPolicy
  constructor(ep: MeshEndpoint, o: Required<Pick<RelayerOptions, 'breakerFailures' | 'breakerOpenMs'>>) {
    this.ep = ep
    this.policy = wrap(
      retry(handleAll, {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }),
      }),
      circuitBreaker(handleAll, {
        halfOpenAfter: o.breakerOpenMs,
        breaker: new ConsecutiveBreaker(o.breakerFailures),
      }),
    )
  }
  call<T>(fn: (ep: MeshEndpoint) => Promise<T>): Promise<T> {
    return this.policy.execute(() => fn(this.ep))
  }
}

interface PacketRow {
  sequence: string
  packet: string
}

export class Relayer {
  readonly a: Guarded
  readonly b: Guarded
  readonly stats: RelayerStats = {
    received: 0,
    acknowledged: 0,
    timedOut: 0,
    clientUpdates: 0,
    registrySyncs: 0,
    misbehaviour: 0,
    failures: 0,
    passes: 0,
  }
  private registryCheckedAt = 0
  /** The last pass skipped the registry/fork checks (ran less than `checkMs` after the previous). */
  private checksDue = false
  /** Fork evidence already submitted (`<on>:fork:<of>:<height>`). */
  private readonly reported = new Set<string>()
  /** Per `<on>:<of>`: the client height last found to match `of`'s own chain (committed: final). */
  private readonly forkChecked = new Map<string, bigint>()
  private readonly o: Required<Omit<RelayerOptions, 'log'>> & Pick<RelayerOptions, 'log'>
  /** `<network>:<what>` -> destination height when submitted; retried once that network moved on. */
  private readonly inFlight = new Map<string, bigint>()
  /** Highest client-update height submitted per `<on>/<of>` (so one header is sent once). */
  private readonly updated = new Map<string, bigint>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stopped = true
  private failedPasses = 0
  /** A block arrived during a pass: run another right after it. */
  private again = false
  /** Both endpoints announce blocks: passes run on blocks (see the file comment). */
  private evented = false
  private detach: (() => void)[] = []

  constructor(a: MeshEndpoint, b: MeshEndpoint, o: RelayerOptions = {}) {
    this.o = {
      intervalMs: 200,
      idleMs: RELAYER_IDLE_MS,
      breakerFailures: 5,
      breakerOpenMs: 2000,
      batch: 100,
      checkMs: 1000,
      ...o,
    }
    this.a = new Guarded(a, this.o)
    this.b = new Guarded(b, this.o)
  }

  /** One pass in both directions. Returns how many txs it submitted. */
  async pass(): Promise<number> {
    this.stats.passes++
    let n = 0
    n += await this.direction(this.a, this.b)
    n += await this.direction(this.b, this.a)
    this.checksDue = Date.now() - this.registryCheckedAt < this.o.checkMs
    if (!this.checksDue) {
      this.registryCheckedAt = Date.now()
      n += await this.watchFork(this.a, this.b)
      n += await this.watchFork(this.b, this.a)
      n += await this.registry(this.a, this.b)
      n += await this.registry(this.b, this.a)
    }
    return n
  }

  /**
   * Fork watch: `on`'s light client trusts a header of `of` at some height; if `of`'s own chain
   * committed another block there, both are certified — misbehaviour. The relayer submits the
   * chain's header as evidence (header 2 empty = "conflicts with what the client trusts"), which
   * freezes the client: nothing more is accepted from that counterparty.
   */
  private async watchFork(on: Guarded, of: Guarded): Promise<number> {
    if (of.ep.certifiedAt === undefined) return 0
    const O = of.ep.networkId
    const c = await on.call((e) =>
      e.query<{ latestHeight: string; latestHash: string; status?: string } | null>('client', { network: O }),
    )
    if (c === null || c.status === 'frozen') return 0
    const h = BigInt(c.latestHeight)
    const key = `${on.ep.networkId}:fork:${O}:${h}`
    if (this.reported.has(key)) return 0
    // Already found to match: a committed block does not change, so no second read of it.
    const pair = `${on.ep.networkId}:${O}`
    if (this.forkChecked.get(pair) === h) return 0
    const mine = await of.call((e) => e.certifiedAt!(h))
    if (mine === undefined) return 0 // the chain is not there yet: checked again later
    if (toHex(blockHash(decodeHeader(mine.header))) === c.latestHash.toLowerCase()) {
      this.forkChecked.set(pair, h)
      return 0
    }
    await on.call((e) =>
      e.submit(
        MESH_KIND.misbehaviour,
        encode(MESH_KIND.misbehaviour, {
          counterparty: O,
          header1: mine.header,
          commit1: mine.commit,
          validators1: mine.validators,
          header2: new Uint8Array(0),
          commit2: new Uint8Array(0),
          validators2: [],
        }),
      ),
    )
    this.reported.add(key)
    this.stats.misbehaviour++
    this.o.log?.(
      `relayer: ${on.ep.networkId}'s client of ${O} trusts another block at ${h}: misbehaviour submitted`,
    )
    return 1
  }

  /**
   * `network update` / `retire` on the hub reach a network the registry started as its own record,
   * proved from the hub (`registry sync`): carried when the tenant follows this hub's registry and
   * its mirror is older than the hub's record.
   */
  private async registry(hub: Guarded, tenant: Guarded): Promise<number> {
    const H = hub.ep.networkId
    const T = tenant.ep.networkId
    const mirror = await tenant.call((e) =>
      e.query<{ hub: string | null; record: { updatedAt: string } | null }>('registry'),
    )
    if (mirror.hub !== H) return 0
    // Proofs need the tenant's light client of the hub; without one there is nothing to carry yet.
    if ((await tenant.call((e) => e.query<unknown>('client', { network: H }))) === null) return 0
    const rec = await hub.call((e) => e.query<{ updatedAt: string } | null>('network', { id: T }))
    if (rec === null) return 0
    if (mirror.record !== null && BigInt(mirror.record.updatedAt) >= BigInt(rec.updatedAt)) return 0
    const head = await tenant.call((e) => e.head())
    const key = `${T}:registry:${rec.updatedAt}`
    if (this.isInFlight(key, head.height)) return 0
    const pr = await hub.call((e) => e.prove(mesh.MESH_KEYS.network(T)))
    if (pr.value === null || !(await this.ensureClient(tenant, hub, pr))) return 0
    await tenant.call((e) =>
      e.submit(
        MESH_KIND.registrySync,
        encode(MESH_KIND.registrySync, { record: pr.value!, proofHeight: pr.height, proof: pr.proof }),
      ),
    )
    this.inFlight.set(key, head.height)
    this.stats.registrySyncs++
    return 1
  }

  /** Whether passes run on blocks (both endpoints announce them) rather than on a poll interval. */
  get eventDriven(): boolean {
    return this.evented
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    const wake = () => this.wake()
    const subs = [this.a.ep.onBlock?.(wake), this.b.ep.onBlock?.(wake)]
    this.detach = subs.filter((d): d is () => void => d !== undefined)
    this.evented = this.detach.length === 2
    if (!this.evented) {
      for (const d of this.detach) d()
      this.detach = []
    }
    void this.loop()
  }

  /** A block on either side: pass now (or right after the running one); a backing-off relayer waits. */
  private wake(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    if (this.failedPasses > 0) return
    this.schedule(0)
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.loop()
    }, ms)
    this.timer.unref?.()
  }

  private async loop(): Promise<void> {
    if (this.stopped) return
    this.running = true
    this.again = false
    let delay = this.evented ? this.o.idleMs : this.o.intervalMs
    try {
      await this.pass()
      this.failedPasses = 0
      // Checks skipped by the `checkMs` rate limit run once it allows, blocks or not.
      if (this.evented && this.checksDue)
        delay = Math.min(delay, Math.max(0, this.registryCheckedAt + this.o.checkMs - Date.now()))
      if (this.again) delay = 0
    } catch (e) {
      this.stats.failures++
      this.failedPasses++
      // Exponential backoff between failing passes (a halted or unreachable network).
      delay = Math.min(MAX_BACKOFF_MS, this.o.intervalMs * 2 ** Math.min(this.failedPasses, 10))
      if (!(e instanceof BrokenCircuitError))
        this.o.log?.(`relayer ${this.a.ep.networkId}<->${this.b.ep.networkId}: ${(e as Error).message}`)
    } finally {
      this.running = false
    }
    if (!this.stopped) this.schedule(delay)
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const d of this.detach) d()
    this.detach = []
    if (this.timer) clearTimeout(this.timer)
    while (this.running) await new Promise((r) => setTimeout(r, 10))
  }

  private isInFlight(key: string, height: bigint): boolean {
    const at = this.inFlight.get(key)
    if (at === undefined) return false
    // Settled txs are visible in state; anything still unsettled 3 blocks later is retried.
    if (height > at + 3n) {
      this.inFlight.delete(key)
      return false
    }
    return true
  }

  /** Makes `on`'s client of `of` trust `cert` (submits an update unless it already does). */
  private async ensureClient(on: Guarded, of: Guarded, cert: CertifiedState): Promise<boolean> {
    const k = `${on.ep.networkId}/${of.ep.networkId}`
    const c = await on.call((e) =>
      e.query<{ latestHeight: string } | null>('client', { network: of.ep.networkId }),
    )
    if (c === null) throw new Error(`${on.ep.networkId} has no light client of ${of.ep.networkId}`)
    const latest = BigInt(c.latestHeight)
    const sent = this.updated.get(k) ?? 0n
    if (latest === cert.height || sent === cert.height) return true
    // The proof is older than a header already trusted or sent: re-prove on the next pass.
    if (latest > cert.height || sent > cert.height) return false
    await on.call((e) =>
      e.submit(
        MESH_KIND.clientUpdate,
        encode(MESH_KIND.clientUpdate, {
          counterparty: of.ep.networkId,
          header: cert.header,
          commit: cert.commit,
          validators: cert.validators,
        }),
      ),
    )
    this.updated.set(k, cert.height)
    this.stats.clientUpdates++
    return true
  }

  private async direction(src: Guarded, dst: Guarded): Promise<number> {
    const S = src.ep.networkId
    const D = dst.ep.networkId
    const rows = await src.call((e) =>
      e.query<PacketRow[]>('packets', { dest: D, limit: String(this.o.batch) }),
    )
    if (rows.length === 0) return 0
    const dstHead = await dst.call((e) => e.head())
    const srcHead = await src.call((e) => e.head())
    let submitted = 0
    for (const row of rows) {
      const bytes = fromHex(row.packet)
      const p = mesh.decodePacket(bytes)
      const r = await dst.call((e) =>
        e.query<{ received: boolean; ack: string | null }>('receipt', { source: S, seq: row.sequence }),
      )
      if (r.received) {
        const key = `${S}:ack:${row.sequence}`
        if (this.isInFlight(key, srcHead.height)) continue
        const pr = await dst.call((e) => e.prove(mesh.MESH_KEYS.ack(S, D, p.sequence)))
        if (pr.value === null || !(await this.ensureClient(src, dst, pr))) continue
        await src.call((e) =>
          e.submit(
            MESH_KIND.acknowledge,
            encode(MESH_KIND.acknowledge, {
              packet: bytes,
              ack: pr.value!,
              proofHeight: pr.height,
              proof: pr.proof,
            }),
          ),
        )
        this.inFlight.set(key, srcHead.height)
        this.stats.acknowledged++
        submitted++
        continue
      }
      const expired =
        (p.timeoutHeight !== 0n && dstHead.height >= p.timeoutHeight) ||
        (p.timeoutTimeMs !== 0n && dstHead.timeMs >= p.timeoutTimeMs)
      if (expired) {
        const key = `${S}:timeout:${row.sequence}`
        if (this.isInFlight(key, srcHead.height)) continue
        const pr = await dst.call((e) => e.prove(mesh.MESH_KEYS.receipt(S, D, p.sequence)))
        if (pr.value !== null || !(await this.ensureClient(src, dst, pr))) continue
        await src.call((e) =>
          e.submit(
            MESH_KIND.timeout,
            encode(MESH_KIND.timeout, { packet: bytes, proofHeight: pr.height, proof: pr.proof }),
          ),
        )
        this.inFlight.set(key, srcHead.height)
        this.stats.timedOut++
        submitted++
        continue
      }
      const key = `${D}:recv:${S}:${row.sequence}`
      if (this.isInFlight(key, dstHead.height)) continue
      const pr = await src.call((e) => e.prove(mesh.MESH_KEYS.packet(S, D, p.sequence)))
      if (pr.value === null || !(await this.ensureClient(dst, src, pr))) continue
      await dst.call((e) =>
        e.submit(
          MESH_KIND.recvPacket,
          encode(MESH_KIND.recvPacket, { packet: bytes, proofHeight: pr.height, proof: pr.proof }),
        ),
      )
      this.inFlight.set(key, dstHead.height)
      this.stats.received++
      submitted++
    }
    return submitted
  }
}

/** Builds the `client create` payload for tracking `of` on another network (trust root: its head). */
export async function clientCreatePayload(
  of: MeshEndpoint,
  trustPeriodMs = 14n * 24n * 3_600_000n,
): Promise<Uint8Array> {
  const h = await of.head()
  return encode(MESH_KIND.clientCreate, {
    counterparty: of.networkId,
    header: h.header,
    commit: h.commit,
    validators: h.validators,
    trustPeriodMs,
  })
}
