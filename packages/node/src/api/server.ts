/**
 * The node's HTTP API (Fastify). Every route is per network: /v1/networks/{id}/...
 * Reads are public; producing a block on demand is an operator action.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { accountIdOf, balanceKey, decodeTxBytes, parseAccount } from '@pulsemesh/app'
import {
  decodeTxResult,
  encodeCommit,
  encodeHeader,
  encodeStateProof,
  fromHex,
  merkleProof,
  encodeMerkleProof,
  PulseError,
  toHex,
} from '@pulsemesh/core'
import type { NetworkNode } from '../chain/network-node.ts'
import { problemFor } from './problem.ts'
import { blockView, commitView, headerView, jsonValue, resultView, txView } from './views.ts'

export interface ApiOptions {
  networks: Map<string, NetworkNode>
  /** Largest request body accepted. */
  bodyLimitBytes?: number
  logger?: boolean
}

const HEX64 = /^[0-9a-f]{64}$/

export function buildApi(o: ApiOptions): FastifyInstance {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimitBytes ?? 256 * 1024,
    // Slow clients cannot hold a connection open forever.
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
  })

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  )

  app.setErrorHandler((err, req, reply) => {
    let p = problemFor(err)
    const fe = err as { statusCode?: number; code?: string; message: string }
    if (p.status === 500 && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
      // Fastify's own 4xx (bad JSON, body too large, schema): keep the status, normalise the shape.
      const code =
        fe.statusCode === 413
          ? 'PAYLOAD_TOO_LARGE'
          : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code?.includes('JSON')
            ? 'INVALID_JSON'
            : 'BAD_REQUEST'
      p = { type: 'about:blank', title: code, status: fe.statusCode, detail: fe.message, code }
    }
    if (p.status >= 500) req.log.error(err)
    reply.status(p.status).type('application/problem+json').send(p)
  })
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'NOT_FOUND',
        status: 404,
        detail: `no route ${req.method} ${req.url}`,
        code: 'NOT_FOUND',
      })
  })

  const net = (id: string): NetworkNode => {
    const n = o.networks.get(id)
    if (n === undefined)
      throw new PulseError('UNKNOWN_NETWORK', `this node does not host network ${JSON.stringify(id)}`)
    return n
  }
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

  app.get('/livez', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply: FastifyReply) => {
    const checks = [...o.networks.values()].map((n) => ({ network: n.id, height: n.height.toString() }))
    return reply.send({ status: 'ready', networks: checks })
  })

  app.get('/v1/networks', async () => ({
    networks: [...o.networks.values()].map((n) => ({
      id: n.id,
      height: n.height.toString(),
      validators: n.genesis.validators.length,
    })),
  }))

  app.get<{ Params: { id: string } }>('/v1/networks/:id/status', async (req) => {
    const n = net(req.params.id)
    return {
      networkId: n.id,
      height: n.height.toString(),
      headHash: toHex(n.headHash),
      stateRoot: toHex(n.stateRoot()),
      latestHeader: n.headHeader ? headerView(n.headHeader) : null,
      params: jsonValue(n.genesis.params, n.genesis.params.addressPrefix),
      mempool: { txs: n.mempool.size, bytes: n.mempool.sizeBytes },
      validators: n.genesis.validators.map((v) => ({
        name: v.name,
        publicKey: toHex(v.publicKey),
        power: v.power.toString(),
      })),
    }
  })

  app.get<{ Params: { id: string; height: string } }>('/v1/networks/:id/blocks/:height', async (req) => {
    const n = net(req.params.id)
    const b = await n.getBlock(parseHeight(req.params.height, n))
    if (b === undefined) throw notFound('block')
    return blockView(
      b.block,
      b.hash,
      b.commit,
      b.block.txs.map((t) => decodeTxBytes(t).hashHex),
    )
  })

  app.get<{ Params: { id: string; hash: string } }>('/v1/networks/:id/txs/:hash', async (req) => {
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
  })

  app.post<{ Params: { id: string }; Body: unknown }>('/v1/networks/:id/txs', async (req, reply) => {
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
  })

  app.post<{ Params: { id: string } }>('/v1/networks/:id/blocks', async (req) => {
    const n = net(req.params.id)
    const b = await n.produceBlock()
    return { height: b.height.toString(), hash: toHex(b.hash), txs: b.txHashes }
  })

  app.get<{ Params: { id: string; address: string } }>('/v1/networks/:id/accounts/:address', async (req) => {
    const n = net(req.params.id)
    const prefix = n.genesis.params.addressPrefix
    const account = parseAccount(req.params.address, prefix)
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
  })

  app.get<{ Params: { id: string; address: string }; Querystring: { limit?: string } }>(
    '/v1/networks/:id/accounts/:address/txs',
    async (req) => {
      const n = net(req.params.id)
      const account = parseAccount(req.params.address, n.genesis.params.addressPrefix)
      const limit = Math.min(100, Math.max(1, Number.parseInt(req.query.limit ?? '20', 10) || 20))
      const txs = await n.store.txsByAccount(account, limit)
      return { txs: txs.map((t) => ({ hash: toHex(t.hash), height: t.height.toString(), index: t.index })) }
    },
  )

  app.get<{ Params: { id: string; hash: string } }>('/v1/networks/:id/proofs/tx/:hash', async (req) => {
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
      validators: n.genesis.validators.map((v) => ({
        publicKey: toHex(v.publicKey),
        power: v.power.toString(),
      })),
    }
  })

  app.get<{ Params: { id: string; address: string }; Querystring: { asset?: string } }>(
    '/v1/networks/:id/proofs/account/:address',
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
        validators: n.genesis.validators.map((v) => ({
          publicKey: toHex(v.publicKey),
          power: v.power.toString(),
        })),
      }
    },
  )

  app.get<{ Params: { id: string } }>('/v1/networks/:id/mempool', async (req) => {
    const n = net(req.params.id)
    return { txs: n.mempool.size, bytes: n.mempool.sizeBytes, limits: n.mempool.limits.txsMax }
  })

  void accountIdOf
  return app
}
