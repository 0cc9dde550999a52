/** A typed HTTP client of a node's REST API. Uses the global fetch (Node ≥ 18, browsers). */
import { encodeFrames, PulseError, toHex } from '@pulsemesh/core'
import { PulseStream } from './stream.ts'

export class ApiError extends PulseError {
  readonly status: number
  constructor(status: number, code: string, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
    this.status = status
  }
}

export interface ClientOptions {
  baseUrl: string
  /** Bearer token (JWT) for routes that need a role. */
  token?: string
  /** API key for services (sent as x-api-key). */
  apiKey?: string
  fetch?: typeof fetch
}

export class PulseClient {
  readonly baseUrl: string
  private readonly token?: string
  private readonly apiKey?: string
  private readonly f: typeof fetch
  constructor(o: ClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '')
    this.token = o.token
    this.apiKey = o.apiKey
    // Unbound, a browser's fetch throws "Illegal invocation" when called as this.f(...).
    this.f = o.fetch ?? ((input, init) => fetch(input, init))
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra }
    const raw = body instanceof Uint8Array
    if (body !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json'
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (this.apiKey) headers['x-api-key'] = this.apiKey
    let res: Response
    try {
      res = await this.f(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
      })
    } catch (e) {
      throw new ApiError(0, 'NODE_UNREACHABLE', `cannot reach ${this.baseUrl}: ${(e as Error).message}`)
    }
    const text = await res.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      throw new ApiError(res.status, 'BAD_RESPONSE', `node answered ${res.status} with non-JSON`)
    }
    if (!res.ok) {
      const p = (json ?? {}) as { code?: string; detail?: string; meta?: Record<string, unknown> }
      throw new ApiError(res.status, p.code ?? 'HTTP_ERROR', p.detail ?? `HTTP ${res.status}`, p.meta ?? {})
    }
    return json as T
  }

  networks() {
    return this.request<{ networks: { id: string; height: string; validators?: number }[] }>(
      'GET',
      '/v1/networks',
    )
  }
  status(network: string) {
    return this.request<NetworkStatus>('GET', `/v1/networks/${network}/status`)
  }
  block(network: string, height: bigint | 'latest') {
    return this.request<Record<string, unknown>>('GET', `/v1/networks/${network}/blocks/${height}`)
  }
  tx(network: string, hash: string) {
    return this.request<TxResponse>('GET', `/v1/networks/${network}/txs/${hash}`)
  }
  account(network: string, address: string) {
    return this.request<AccountResponse>('GET', `/v1/networks/${network}/accounts/${address}`)
  }
  submitTx(network: string, bytes: Uint8Array) {
    return this.request<{ hash: string; status: string }>('POST', `/v1/networks/${network}/txs`, {
      tx: toHex(bytes),
    })
  }
  /**
   * Submits many signed txs in one request (POST /txs/batch, length-prefixed octet-stream): at most
   * 2,048 txs and 1 MiB. One result per tx, in order (`pending`, or `rejected` with a stable code);
   * a sender's consecutive nonces may share a batch. Whole-request errors throw ApiError.
   */
  async submitTxs(network: string, txs: readonly Uint8Array[]): Promise<SubmitBatchResponse> {
    return this.request<SubmitBatchResponse>('POST', `/v1/networks/${network}/txs/batch`, encodeFrames(txs))
  }
  produceBlock(network: string) {
    return this.request<{ height: string; hash: string; txs: string[] }>(
      'POST',
      `/v1/networks/${network}/blocks`,
      {},
    )
  }
  txProof(network: string, hash: string) {
    return this.request<import('./verify.ts').TxProofResponse & { height: string; index: number }>(
      'GET',
      `/v1/networks/${network}/proofs/tx/${hash}`,
    )
  }
  accountProof(network: string, address: string, asset?: string) {
    const q = asset ? `?asset=${encodeURIComponent(asset)}` : ''
    return this.request<import('./verify.ts').AccountProofResponse & { height: string; asset: string }>(
      'GET',
      `/v1/networks/${network}/proofs/account/${address}${q}`,
    )
  }

  /** Blocks newest first; pass the previous page's `nextCursor` to continue. */
  blocks(network: string, page: PageOptions = {}) {
    return this.request<BlockPage>('GET', `/v1/networks/${network}/blocks${pageQuery(page)}`)
  }
  blockByHash(network: string, hash: string) {
    return this.request<Record<string, unknown>>('GET', `/v1/networks/${network}/blocks/by-hash/${hash}`)
  }
  /** The commit certificate of a block: check it with `verifyCertifiedHeader`. */
  commit(network: string, height: bigint | 'latest') {
    return this.request<CertifiedHeader>('GET', `/v1/networks/${network}/commits/${height}`)
  }
  /** A light-client checkpoint (certified header + the validator set that signed it). */
  checkpoint(network: string, height: bigint | 'latest') {
    return this.request<CertifiedHeader>('GET', `/v1/networks/${network}/proofs/checkpoint/${height}`)
  }
  validators(network: string) {
    return this.request<ValidatorsResponse>('GET', `/v1/networks/${network}/validators`)
  }
  balances(network: string, address: string) {
    return this.request<{ address: string; height: string; balances: Record<string, string> }>(
      'GET',
      `/v1/networks/${network}/accounts/${address}/balances`,
    )
  }
  /** Txs touching an account, newest first; pass `nextCursor` to continue. */
  accountTxs(network: string, address: string, page: PageOptions = {}) {
    return this.request<TxPage>('GET', `/v1/networks/${network}/accounts/${address}/txs${pageQuery(page)}`)
  }
  mempool(network: string) {
    return this.request<{ txs: number; bytes: number; limits: number }>(
      'GET',
      `/v1/networks/${network}/mempool`,
    )
  }
  openapi() {
    return this.request<Record<string, unknown>>('GET', '/v1/openapi.json')
  }

  /** Registers a webhook; keep the returned `secret` to verify deliveries with `verifyWebhook`. */
  registerWebhook(
    network: string,
    w: { url: string; events: ('block' | 'tx' | 'event')[]; eventType?: string },
    idempotencyKey: string = crypto.randomUUID(),
  ) {
    return this.request<{ id: string; url: string; events: string[]; secret: string; replayed: boolean }>(
      'POST',
      `/v1/networks/${network}/webhooks`,
      w,
      { 'idempotency-key': idempotencyKey },
    )
  }
  webhooks(network: string) {
    return this.request<{ webhooks: { id: string; url: string; events: string[] }[] }>(
      'GET',
      `/v1/networks/${network}/webhooks`,
    )
  }
  deleteWebhook(network: string, id: string) {
    return this.request<{ ok: boolean }>('DELETE', `/v1/networks/${network}/webhooks/${id}`)
  }
  webhookDeadLetters(network: string) {
    return this.request<{
      deadLetters: { id: string; endpointId: string; attempts: number; lastError?: string }[]
    }>('GET', `/v1/networks/${network}/webhooks/dead-letters`)
  }
  /** The modules a network runs and the queries each answers. */
  modules(network: string) {
    return this.request<{ network: string; modules: { name: string; queries: string[] }[] }>(
      'GET',
      `/v1/networks/${network}/modules`,
    )
  }
  /** A read-only module query (`App.query`) on the last committed state, e.g. ('exchange', 'book'). */
  async moduleQuery<T = unknown>(
    network: string,
    module: string,
    query: string,
    args: Record<string, string> = {},
  ): Promise<{ height: string; result: T }> {
    const qs = new URLSearchParams(args).toString()
    return this.request<{ height: string; result: T }>(
      'GET',
      `/v1/networks/${network}/modules/${module}/${query}${qs ? `?${qs}` : ''}`,
    )
  }
  /** The node's Prometheus metrics as text (parse with `parsePrometheus`). */
  async metricsText(): Promise<string> {
    let res: Response
    try {
      res = await this.f(`${this.baseUrl}/metrics`, { headers: { accept: 'text/plain' } })
    } catch (e) {
      throw new ApiError(0, 'NODE_UNREACHABLE', `cannot reach ${this.baseUrl}: ${(e as Error).message}`)
    }
    if (!res.ok) throw new ApiError(res.status, 'HTTP_ERROR', `metrics: HTTP ${res.status}`)
    return res.text()
  }

  /** A WebSocket stream of this node (call `connect()` first). */
  stream() {
    return new PulseStream(this.baseUrl)
  }

  /** Polls until a tx is committed (or `timeoutMs` passes). */
  async waitForTx(network: string, hash: string, timeoutMs = 30_000, pollMs = 100): Promise<TxResponse> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        const r = await this.tx(network, hash)
        if (r.status === 'committed') return r
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e
      }
      if (Date.now() > deadline)
        throw new ApiError(0, 'TIMEOUT', `tx ${hash} not committed within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, pollMs))
    }
  }
}

export interface NetworkStatus {
  networkId: string
  height: string
  headHash: string
  stateRoot: string
  params: {
    addressPrefix: string
    feeAsset: string
    minFee: string
    blockIntervalMs: number
    txLifetimeBlocksMax: string
  }
  mempool: { txs: number; bytes: number }
  latestHeader?: Record<string, unknown> | null
  validators?: { name?: string; publicKey: string; power: string }[]
  halted?: boolean
  haltReason?: string | null
}
export interface SubmitBatchResponse {
  accepted: number
  rejected: number
  results: { hash: string; status: 'pending' | 'rejected'; code?: string; message?: string }[]
}
export interface TxResponse {
  status: 'pending' | 'committed'
  height?: string
  index?: number
  tx: Record<string, unknown>
  result?: { ok: boolean; error?: string; events: unknown[] }
}
export interface AccountResponse {
  address: string
  nonce: string
  nextNonce: string
  balances: Record<string, string>
  height: string
}

export interface PageOptions {
  limit?: number
  cursor?: string | null
}
function pageQuery(p: PageOptions): string {
  const q = new URLSearchParams()
  if (p.limit !== undefined) q.set('limit', String(p.limit))
  if (p.cursor) q.set('cursor', p.cursor)
  const s = q.toString()
  return s ? `?${s}` : ''
}
export interface BlockPage {
  blocks: { height: string; hash: string; time: string; txCount: number }[]
  nextCursor: string | null
}
export interface TxPage {
  txs: { hash: string; height: string; index: number }[]
  nextCursor: string | null
}
export interface CertifiedHeader {
  height: string
  hash: string
  header: string
  commit: string
  headerJson: Record<string, unknown>
  commitJson: Record<string, unknown>
  validators: { name?: string; publicKey: string; power: string }[]
}
export interface ValidatorsResponse {
  height: string
  validatorsHash: string
  totalPower: string
  validators: { name?: string; publicKey: string; power: string }[]
}
