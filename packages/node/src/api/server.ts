/**
 * The node's HTTP API (Fastify). Every chain route is per network: /v1/networks/{id}/...
 * Schemas (schemas.ts) validate requests, serialise responses and produce /v1/openapi.json.
 * Reads are public unless auth says otherwise; submitting a tx needs `trader`, producing a block
 * on demand `operator` (only when auth is configured: a bare dev node stays open).
 */
import { accountIdOf, balanceKey, decodeTxBytes, parseAccount } from '@pulsemesh/app'
import {
  type Block,
  type Commit,
  decodeTxResult,
  encodeCommit,
  encodeHeader,
  encodeMerkleProof,
  encodeStateProof,
  fromHex,
  merkleProof,
  PulseError,
  toHex,
  txHash,
} from '@pulsemesh/core'
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify'
import type { NetworkNode } from '../chain/network-node.ts'
import { type AuthConfig, Authenticator, type Principal, type Role } from './auth.ts'
import { ApiMetrics } from './metrics.ts'
import { type GraphqlOptions, registerGraphql } from './graphql.ts'
import { DOCS_HTML, openapiDocument, type RouteDoc } from './openapi.ts'
import { notFoundProblem, problemFor } from './problem.ts'
import { type RateLimitConfig, RateLimiter } from './rate-limit.ts'
import * as S from './schemas.ts'
import { type StreamOptions, registerStreams } from './streams.ts'
import { registerModuleRoutes } from './module-routes.ts'
import { registerMeshRoutes } from './mesh-routes.ts'
import { registerCheckpointRoutes } from './checkpoint-routes.ts'
import { registerWebRoutes } from './web-routes.ts'
import { hostedNetwork } from './hosted-network.ts'
import { registerTxBatchRoutes } from './tx-batch-routes.ts'
import { type WebhookOptions, WebhookService } from './webhooks.ts'
import { blockView, commitView, headerView, jsonValue, resultView, txView } from './views.ts'

export interface ApiOptions {
  networks: Map<string, NetworkNode>
  /** Largest request body accepted (default 256 KiB). */
  bodyLimitBytes?: number
  /** Deepest JSON nesting accepted in a request body (default 32). */
  jsonDepthMax?: number
  logger?: boolean
  /** Auth config or a ready Authenticator (tests rotate keys through it). Absent = everything open. */
  auth?: AuthConfig | Authenticator
  /** Token bucket per caller; absent or false = no limit. */
  rateLimit?: RateLimitConfig | false
  /** Metrics registry; false = no /metrics. */
  metrics?: ApiMetrics | false
  /** Extra readiness checks (e.g. storage writable), each true when fine. */
  readiness?: () => Promise<Record<string, boolean>>
  /** Connected peers (for /readyz and metrics); the single-validator node has none. */
  peers?: () => number
  /** Idle socket timeout (slow clients are cut off); default 30 s. */
  connectionTimeoutMs?: number
  /** Webhooks (persisted in this LevelDB); absent = no webhook routes. */
  webhooks?: WebhookOptions
  /** GraphQL at /v1/graphql; false = off. */
  graphql?: GraphqlOptions | false
  /** WebSocket streams at /v1/ws; false = off. */
  streams?: StreamOptions | false
  /** The web dashboard at `/`; false = off. */
  web?: false
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc
    /** Health and metrics: no auth, no rate limit. */
    open?: boolean
  }
  interface FastifyRequest {
    principal?: Principal
  }
}

const HEX64 = /^[0-9a-f]{64}$/

/** Nesting depth of a JSON text, by a linear scan that skips strings (before JSON.parse sees it). */
export function jsonDepth(text: string): number {
  let depth = 0
  let max = 0
  let inStr = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inStr) {
      if (c === 92)
        i++ // backslash: skip the escaped char
      else if (c === 34) inStr = false
    } else if (c === 34) inStr = true
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth
    } else if (c === 125 || c === 93) depth--
  }
  return max
}

export function buildApi(o: ApiOptions): FastifyInstance {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimitBytes ?? 256 * 1024,
    // Slow clients (slowloris) cannot hold a connection open forever.
    requestTimeout: 30_000,
    connectionTimeout: o.connectionTimeoutMs ?? 30_000,
    keepAliveTimeout: 5_000,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  })
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (r) => {
    routes.push(r)
  })
  const depthMax = o.jsonDepthMax ?? 32

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  )
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string
    if (text.length === 0) return done(null, undefined)
    if (jsonDepth(text) > depthMax)
      return done(new PulseError('JSON_TOO_DEEP', `JSON nesting deeper than ${depthMax}`), undefined)
    try {
      done(null, JSON.parse(text))
    } catch (e) {
      done(new PulseError('INVALID_JSON', `body is not JSON: ${(e as Error).message}`), undefined)
    }
  })

  app.setErrorHandler((err, req, reply) => {
    let p = problemFor(err)
    const fe = err as { statusCode?: number; code?: string; message: string }
    if (p.status === 500 && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
      // Fastify's own 4xx (body too large, schema, media type): keep the status, normalise the shape.
      const code =
        fe.statusCode === 413
          ? 'PAYLOAD_TOO_LARGE'
          : fe.statusCode === 415
            ? 'UNSUPPORTED_MEDIA_TYPE'
            : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code?.includes('JSON')
              ? 'INVALID_JSON'
              : 'BAD_REQUEST'
      p = { type: 'about:blank', title: code, status: fe.statusCode, detail: fe.message, code }
    }
    if (p.status >= 500) req.log.error(err)
    if (p.status === 401) reply.header('www-authenticate', 'Bearer')
    reply.status(p.status).type('application/problem+json').send(p)
  })
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .type('application/problem+json')
      .send(notFoundProblem(`no route ${req.method} ${req.url.slice(0, 200)}`))
  })

  // ---------------------------------------------------------------- auth, rate limit, metrics
  const auth =
    o.auth === undefined ? undefined : o.auth instanceof Authenticator ? o.auth : new Authenticator(o.auth)
  const limiter = o.rateLimit ? new RateLimiter(o.rateLimit) : undefined
  const metrics =
    o.metrics === false ? undefined : (o.metrics ?? new ApiMetrics(o.networks, { peers: o.peers }))

  /** Takes a token for `key`, sets the RateLimit headers, throws RATE_LIMITED when empty. */
  const limit = (reply: FastifyReply, key: string) => {
    if (!limiter) return
    const t = limiter.take(key)
    reply.header('ratelimit-limit', t.limit)
    reply.header('ratelimit-remaining', t.remaining)
    reply.header('ratelimit-reset', t.resetSeconds)
    reply.header('ratelimit-policy', `${t.limit};w=${Math.ceil(t.limit / limiter.refillPerSecond)}`)
    if (!t.ok) {
      reply.header('retry-after', t.resetSeconds)
      throw new PulseError('RATE_LIMITED', `too many requests; retry in ${t.resetSeconds} s`, {
        retryAfterSeconds: t.resetSeconds,
      })
    }
  }
  app.addHook('onRequest', async (req, reply) => {
    const cfg = req.routeOptions.config
    if (cfg?.open) return
    const hasCredential = req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined
    try {
      if (auth && hasCredential) req.principal = await auth.authenticate(req.headers)
    } finally {
      // Unauthenticated (or failed) callers are limited by IP, so forged-token floods are limited too.
      limit(reply, req.principal ? `p:${req.principal.subject}` : `ip:${req.ip}`)
    }
    if (auth) auth.authorize(req.principal, cfg?.doc?.role as Role | undefined)
  })
  if (metrics) {
    app.addHook('onResponse', async (req, reply) => {
      metrics.httpDuration.observe(
        { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      )
    })
    app.addHook('onClose', async () => metrics.close())
  }

  // ---------------------------------------------------------------- helpers
  const net = (id: string): NetworkNode => hostedNetwork(o.networks, id)
  const parseHeight = (s: string, n: NetworkNode): bigint => {
    if (s === 'latest') return n.height
    if (!/^[0-9]{1,19}$/.test(s))
      throw new PulseError('BAD_REQUEST', 'height must be a non-negative integer or "latest"')
    return BigInt(s)
  }
  const parseHash = (s: string): Uint8Array => {
    const h = s.toLowerCase().replace(/^0x/, '')
    if (!HEX64.test(h)) throw new PulseError('BAD_REQUEST', 'hash must be 32 bytes of hex')
    return fromHex(h)
  }
  const notFound = (what: string) => new PulseError('NOT_FOUND', `${what} not found`)
  /** A block as JSON; tx hashes are hashed from the bytes (no need to decode the txs). */
  const blockJson = (b: { block: Block; hash: Uint8Array; commit: Commit }) =>
    blockView(
      b.block,
      b.hash,
      b.commit,
      b.block.txs.map((t) => toHex(txHash(t))),
    )
  /**
   * The validator set that signed block `height` (it changes with staking and Proof of Emotion), in
   * the order commit signatures index; names where genesis gave one.
   */
  const validatorsOf = async (n: NetworkNode, height: bigint = n.height) => {
    const names = new Map(n.genesis.validators.map((v) => [toHex(v.publicKey), v.name]))
    const set = await n.validatorSetAt(height === 0n ? 1n : height)
    return set.validators.map((v) => {
      const publicKey = toHex(v.publicKey)
      const name = names.get(publicKey)
      return { ...(name ? { name } : {}), publicKey, power: v.votingPower.toString() }
    })
  }
  const certified = async (n: NetworkNode, height: bigint) => {
    if (height === 0n) throw new PulseError('BAD_REQUEST', 'height 0 (genesis) has no commit certificate')
    const b = await n.getBlock(height)
    if (b === undefined) throw notFound('block')
    return {
      height: height.toString(),
      hash: toHex(b.hash),
      header: toHex(encodeHeader(b.block.header)),
      commit: toHex(encodeCommit(b.commit)),
      headerJson: headerView(b.block.header),
      commitJson: commitView(b.commit),
      validators: await validatorsOf(n, height),
    }
  }
  const doc = (summary: string, tags: string[], role?: Role): { doc: RouteDoc } => ({
    doc: { summary, tags, role },
  })
  const resp = (ok: unknown, code = 200) => ({ [code]: ok, ...S.ERRORS })

  // ---------------------------------------------------------------- health, docs, metrics
  app.get(
    '/livez',
    {
      config: { open: true, doc: { summary: 'process is alive', tags: ['health'] } },
      schema: { response: resp(S.R.health) },
    },
    async () => ({ status: 'ok' }),
  )
  app.get(
    '/readyz',
    {
      config: {
        open: true,
        doc: { summary: 'ready to serve: storage writable, networks loaded', tags: ['health'] },
      },
    },
    async (_req, reply) => {
      const extra = o.readiness ? await o.readiness() : {}
      const networks = [...o.networks.values()].map((n) => {
        const intervalMs = BigInt(n.genesis.params.blockIntervalMs)
        const head = n.headHeader?.timeMs
        const ageMs = head === undefined ? 0n : BigInt(Date.now()) - head
        // Without peer sync, "synced" means the head is recent (or the chain has not started).
        const slackMs = intervalMs * 10n > 60_000n ? intervalMs * 10n : 60_000n
        return { network: n.id, height: n.height.toString(), synced: head === undefined || ageMs <= slackMs }
      })
      const checks = { ...extra, networks: o.networks.size > 0, synced: networks.every((n) => n.synced) }
      const ready = Object.values(checks).every(Boolean)
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not-ready', checks, peers: o.peers?.() ?? 0, networks })
    },
  )
  if (metrics) {
    app.get('/metrics', { config: { open: true } }, async (_req, reply) => {
      reply.type(metrics.registry.contentType)
      return metrics.registry.metrics()
    })
  }
  let openapi: unknown
  app.get('/v1/openapi.json', { config: { open: true } }, async () => {
    openapi ??= openapiDocument(routes, { title: 'PulseMesh node API', version: '1.0.0' })
    return openapi
  })
  app.get('/docs', { config: { open: true } }, async (_req, reply) => reply.type('text/html').send(DOCS_HTML))

  // ---------------------------------------------------------------- chain reads
  app.get(
    '/v1/networks',
    { config: doc('networks this node hosts', ['networks']), schema: { response: resp(S.R.networks) } },
    async () => ({
      networks: [...o.networks.values()].map((n) => ({
        id: n.id,
        height: n.height.toString(),
        validators: n.genesis.validators.length,
      })),
    }),
  )

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/status',
    {
      config: doc('head, params, mempool and validators of a network', ['networks']),
      schema: { params: S.NetParams, response: resp(S.R.status) },
    },
    async (req) => {
      const n = net(req.params.id)
      return {
        networkId: n.id,
        height: n.height.toString(),
        headHash: toHex(n.headHash),
        stateRoot: toHex(n.stateRoot()),
        latestHeader: n.headHeader ? headerView(n.headHeader) : null,
        params: jsonValue(n.genesis.params, n.genesis.params.addressPrefix),
        mempool: { txs: n.mempool.size, bytes: n.mempool.sizeBytes },
        validators: await validatorsOf(n),
        halted: n.halted !== undefined,
        haltReason: n.halted?.reason ?? null,
      }
    },
  )

  app.get<{ Params: { id: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/networks/:id/blocks',
    {
      config: doc('blocks, newest first; `cursor` is the height to start at', ['blocks']),
      schema: { params: S.NetParams, querystring: S.PageQuery, response: resp(S.R.blockPage) },
    },
    async (req) => {
      const n = net(req.params.id)
      const limit = req.query.limit ?? 20
      let from = n.height
      if (req.query.cursor !== undefined) {
        if (!/^[0-9]{1,19}$/.test(req.query.cursor))
          throw new PulseError('BAD_CURSOR', 'cursor must come from nextCursor')
        from = BigInt(req.query.cursor) < n.height ? BigInt(req.query.cursor) : n.height
      }
      const blocks = []
      let h = from
      for (; h >= 1n && blocks.length < limit; h--) {
        const b = await n.getBlock(h)
        if (b === undefined) break
        const hd = b.block.header
        blocks.push({
          height: h.toString(),
          hash: toHex(b.hash),
          time: new Date(Number(hd.timeMs)).toISOString(),
          txCount: hd.txCount,
        })
      }
      return { blocks, nextCursor: h >= 1n ? h.toString() : null }
    },
  )

  app.get<{ Params: { id: string; height: string } }>(
    '/v1/networks/:id/blocks/:height',
    {
      config: doc('a block by height (or "latest") with its commit', ['blocks']),
      schema: { params: S.HeightParams, response: resp(S.R.block) },
    },
    async (req) => {
      const n = net(req.params.id)
      const b = await n.getBlock(parseHeight(req.params.height, n))
      if (b === undefined) throw notFound('block')
      return blockJson(b)
    },
  )

  app.get<{ Params: { id: string; hash: string } }>(
    '/v1/networks/:id/blocks/by-hash/:hash',
    {
      config: doc('a block by its hash', ['blocks']),
      schema: { params: S.HashParams, response: resp(S.R.block) },
    },
    async (req) => {
      const n = net(req.params.id)
      const h = await n.store.heightOfBlock(parseHash(req.params.hash))
      const b = h === undefined ? undefined : await n.getBlock(h)
      if (b === undefined) throw notFound('block')
      return blockJson(b)
    },
  )

  app.get<{ Params: { id: string; height: string } }>(
    '/v1/networks/:id/commits/:height',
    {
      config: doc('the commit certificate of a block (header + > 2/3 signatures)', ['blocks']),
      schema: { params: S.HeightParams, response: resp(S.R.commit) },
    },
    async (req) => {
      const n = net(req.params.id)
      return certified(n, parseHeight(req.params.height, n))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/validators',
    {
      config: doc('the current validator set', ['validators']),
      schema: { params: S.NetParams, response: resp(S.R.validators) },
    },
    async (req) => {
      const n = net(req.params.id)
      return {
        height: n.height.toString(),
        validatorsHash: toHex(n.validatorsHash()),
        totalPower: (await n.validatorSetAt(n.height === 0n ? 1n : n.height)).totalVotingPower.toString(),
        validators: await validatorsOf(n),
      }
    },
  )

  app.get<{ Params: { id: string; hash: string } }>(
    '/v1/networks/:id/txs/:hash',
    {
      config: doc('a tx by hash: pending (mempool) or committed with its result', ['txs']),
      schema: { params: S.HashParams, response: resp(S.R.tx) },
    },
    async (req) => {
      const n = net(req.params.id)
      const hash = parseHash(req.params.hash)
      const found = await n.txWithProof(hash)
      if (found === undefined) {
        const pending = n.mempool.get(toHex(hash))
        if (pending) return { status: 'pending', tx: txView(n.app, pending) }
        throw notFound('tx')
      }
      return {
        status: 'committed',
        height: found.height.toString(),
        index: found.index,
        tx: txView(n.app, decodeTxBytes(found.txBytes)),
        result: resultView(decodeTxResult(found.resultBytes)),
      }
    },
  )

  app.post<{ Params: { id: string }; Body: unknown }>(
    '/v1/networks/:id/txs',
    {
      config: doc('submit a signed tx (JSON hex or raw bytes)', ['txs'], 'trader'),
      schema: {
        params: S.NetParams,
        body: {
          content: {
            'application/json': { schema: S.SubmitTxJson },
            'application/octet-stream': { schema: {} },
          },
        },
        response: resp(S.R.submitted, 202),
      },
    },
    async (req, reply) => {
      const n = net(req.params.id)
      let bytes: Uint8Array
      if (Buffer.isBuffer(req.body)) bytes = new Uint8Array(req.body)
      else {
        const b = req.body as { tx?: unknown } | undefined
        if (typeof b?.tx !== 'string' || !/^(0x)?([0-9a-fA-F]{2})+$/.test(b.tx)) {
          throw new PulseError(
            'BAD_REQUEST',
            'body must be {"tx": "<hex of the signed tx>"} or application/octet-stream bytes',
          )
        }
        bytes = fromHex(b.tx)
      }
      const d = await n.submitTx(bytes)
      return reply.status(202).send({ hash: d.hashHex, status: 'pending' })
    },
  )

  app.post<{ Params: { id: string } }>(
    '/v1/networks/:id/blocks',
    {
      config: doc('produce a block now (single-validator dev networks)', ['blocks'], 'operator'),
      schema: { params: S.NetParams, response: resp(S.R.produced) },
    },
    async (req) => {
      const n = net(req.params.id)
      const b = await n.produceBlock()
      return { height: b.height.toString(), hash: toHex(b.hash), txs: b.txHashes }
    },
  )

  app.get<{ Params: { id: string; address: string } }>(
    '/v1/networks/:id/accounts/:address',
    {
      config: doc('an account: nonce, next usable nonce, balances', ['accounts']),
      schema: { params: S.AddressParams, response: resp(S.R.account) },
    },
    async (req) => {
      const n = net(req.params.id)
      const account = parseAccount(req.params.address, n.genesis.params.addressPrefix)
      const balances: Record<string, string> = {}
      await n.idle()
      for (const [k, v] of await n.accountBalances(account)) balances[k] = v.toString()
      return {
        address: req.params.address,
        nonce: n.accountNonce(account).toString(),
        nextNonce: n.nextNonce(account).toString(),
        balances,
        height: n.height.toString(),
      }
    },
  )

  app.get<{ Params: { id: string; address: string } }>(
    '/v1/networks/:id/accounts/:address/balances',
    {
      config: doc('balances of an account by asset', ['accounts']),
      schema: { params: S.AddressParams, response: resp(S.R.balances) },
    },
    async (req) => {
      const n = net(req.params.id)
      const account = parseAccount(req.params.address, n.genesis.params.addressPrefix)
      await n.idle()
      const balances: Record<string, string> = {}
      for (const [k, v] of await n.accountBalances(account)) balances[k] = v.toString()
      return { address: req.params.address, height: n.height.toString(), balances }
    },
  )

  app.get<{ Params: { id: string; address: string }; Querystring: { limit?: number; cursor?: string } }>(
    '/v1/networks/:id/accounts/:address/txs',
    {
      config: doc('txs touching an account, newest first, cursor-paginated', ['accounts', 'txs']),
      schema: { params: S.AddressParams, querystring: S.PageQuery, response: resp(S.R.txPage) },
    },
    async (req) => {
      const n = net(req.params.id)
      const account = parseAccount(req.params.address, n.genesis.params.addressPrefix)
      const limit = req.query.limit ?? 20
      let before: { height: bigint; index: number } | undefined
      if (req.query.cursor !== undefined) {
        const m = /^([0-9]{1,19})\.([0-9]{1,9})$/.exec(req.query.cursor)
        if (!m) throw new PulseError('BAD_CURSOR', 'cursor must come from nextCursor')
        before = { height: BigInt(m[1]), index: Number(m[2]) }
      }
      const txs = await n.store.txsByAccount(account, limit, before)
      const last = txs.at(-1)
      return {
        txs: txs.map((t) => ({ hash: toHex(t.hash), height: t.height.toString(), index: t.index })),
        nextCursor: txs.length === limit && last ? `${last.height}.${last.index}` : null,
      }
    },
  )

  // ---------------------------------------------------------------- proofs
  app.get<{ Params: { id: string; hash: string } }>(
    '/v1/networks/:id/proofs/tx/:hash',
    {
      config: doc('tx inclusion proof: Merkle path to the tx root + certified header', ['proofs']),
      schema: { params: S.HashParams, response: resp(S.R.txProof) },
    },
    async (req) => {
      const n = net(req.params.id)
      const found = await n.txWithProof(parseHash(req.params.hash))
      if (found === undefined) throw notFound('tx')
      const proof = merkleProof(found.block.block.txs, found.index)
      return {
        height: found.height.toString(),
        index: found.index,
        tx: toHex(found.txBytes),
        proof: toHex(encodeMerkleProof(proof)),
        header: toHex(encodeHeader(found.block.block.header)),
        commit: toHex(encodeCommit(found.block.commit)),
        headerJson: headerView(found.block.block.header),
        commitJson: commitView(found.block.commit),
        validators: await validatorsOf(n, found.height),
      }
    },
  )

  app.get<{ Params: { id: string; address: string }; Querystring: { asset?: string } }>(
    '/v1/networks/:id/proofs/account/:address',
    {
      config: doc('account balance proof against the head state root', ['proofs']),
      schema: { params: S.AddressParams, querystring: S.AssetQuery, response: resp(S.R.accountProof) },
    },
    async (req) => {
      const n = net(req.params.id)
      const p = n.genesis.params
      const account = parseAccount(req.params.address, p.addressPrefix)
      const asset = req.query.asset ?? p.feeAsset
      const key = balanceKey(account, asset)
      const r = await n.proveState(key)
      return {
        height: r.height.toString(),
        address: req.params.address,
        asset,
        key: toHex(key),
        value: r.value === null ? null : toHex(r.value),
        stateRoot: toHex(r.stateRoot),
        proof: toHex(encodeStateProof(r.proof)),
        header: r.header ? toHex(encodeHeader(r.header)) : null,
        commit: toHex(encodeCommit(r.commit)),
        validators: await validatorsOf(n, r.height),
      }
    },
  )

  app.get<{ Params: { id: string; height: string } }>(
    '/v1/networks/:id/proofs/checkpoint/:height',
    {
      config: doc('a checkpoint for light clients: certified header + the validator set that signed it', [
        'proofs',
      ]),
      schema: { params: S.HeightParams, response: resp(S.R.commit) },
    },
    async (req) => {
      const n = net(req.params.id)
      return certified(n, parseHeight(req.params.height, n))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/mempool',
    {
      config: doc('mempool size and limits', ['txs']),
      schema: { params: S.NetParams, response: resp(S.R.mempool) },
    },
    async (req) => {
      const n = net(req.params.id)
      return { txs: n.mempool.size, bytes: n.mempool.sizeBytes, limits: n.mempool.limits.txsMax }
    },
  )

  if (o.webhooks) {
    let hooks: WebhookService | undefined
    const wh = o.webhooks
    app.addHook('onReady', async () => {
      hooks = await WebhookService.open(
        { onFailure: (network) => metrics?.webhookFailures.inc({ network }), ...wh },
        o.networks,
      )
    })
    app.addHook('onClose', async () => hooks?.close())
    const svc = (): WebhookService => {
      if (hooks === undefined) throw new PulseError('NOT_READY', 'webhooks are starting')
      return hooks
    }
    const owner = (req: FastifyRequest) => req.principal?.subject ?? 'anonymous'
    app.post<{
      Params: { id: string }
      Body: { url: string; events: ('block' | 'tx' | 'event')[]; eventType?: string }
    }>(
      '/v1/networks/:id/webhooks',
      {
        config: doc(
          'register a webhook (Standard Webhooks signatures; secret returned here only)',
          ['webhooks'],
          'trader',
        ),
        schema: {
          params: S.NetParams,
          headers: S.IdempotencyHeaders,
          body: S.WebhookBody,
          response: resp(S.R.webhook, 201),
        },
      },
      async (req, reply) => {
        const n = net(req.params.id)
        const r = await svc().register(owner(req), n.id, String(req.headers['idempotency-key']), req.body)
        const e = r.endpoint
        return reply
          .status(r.replayed ? 200 : 201)
          .send({ id: e.id, url: e.url, events: e.events, secret: e.secret, replayed: r.replayed })
      },
    )
    app.get<{ Params: { id: string } }>(
      '/v1/networks/:id/webhooks',
      {
        config: doc('your webhooks on this network', ['webhooks'], 'trader'),
        schema: { params: S.NetParams, response: resp(S.R.webhooks) },
      },
      async (req) => ({
        webhooks: svc()
          .list(owner(req), net(req.params.id).id)
          .map((e) => ({
            id: e.id,
            network: e.network,
            url: e.url,
            events: e.events,
            eventType: e.eventType,
          })),
      }),
    )
    app.delete<{ Params: { id: string; wid: string } }>(
      '/v1/networks/:id/webhooks/:wid',
      {
        config: doc('remove a webhook', ['webhooks'], 'trader'),
        schema: { params: S.WebhookParams, response: resp(S.R.ok) },
      },
      async (req) => {
        await svc().remove(owner(req), req.params.wid)
        return { ok: true }
      },
    )
    app.get<{ Params: { id: string } }>(
      '/v1/networks/:id/webhooks/dead-letters',
      {
        config: doc('deliveries that exhausted their retries', ['webhooks'], 'trader'),
        schema: { params: S.NetParams, response: resp(S.R.deadLetters) },
      },
      async (req) => {
        net(req.params.id)
        return { deadLetters: await svc().deadLetters(owner(req)) }
      },
    )
  }

  if (o.graphql !== false) registerGraphql(app, o.networks, o.graphql ?? {})
  if (o.streams !== false) registerStreams(app, o.networks, { ...(o.streams ?? {}), metrics })
  registerModuleRoutes(app, o.networks)
  registerMeshRoutes(app, o.networks)
  registerCheckpointRoutes(app, o.networks, metrics?.registry)
  // The web dashboard's bundle at / (packages/web); off for API-only embeddings.
  if (o.web !== false) registerWebRoutes(app)
  registerTxBatchRoutes(app, o.networks)

  void accountIdOf
  return app
}
