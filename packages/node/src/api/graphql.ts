/**
 * GraphQL at /v1/graphql (graphql-yoga) over the same NetworkNode services as REST. Limits:
 * query depth and a field-count complexity budget (validation rules, checked before execution),
 * the REST body limit and JSON depth, the same auth and rate-limit hooks. Subscriptions
 * (`blocks`) are served over Server-Sent Events by yoga.
 */
import { decodeTxBytes } from '@pulsemesh/app'
import { fromHex, toHex } from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import { type ASTNode, GraphQLError, Kind, type ValidationContext } from 'graphql'
import { createSchema, createYoga } from 'graphql-yoga'
import type { CommittedBlock, NetworkNode } from '../chain/network-node.ts'
import { headerView } from './views.ts'

export interface GraphqlOptions {
  depthMax?: number
  fieldsMax?: number
}

const typeDefs = /* GraphQL */ `
  type Network { id: String!, height: String!, validators: Int! }
  type Header { height: String!, time: String!, txCount: Int!, stateRoot: String!, txRoot: String!, proposer: String! }
  type Block { height: String!, hash: String!, header: Header!, txs: [String!]! }
  type Account { address: String!, nonce: String!, balances: [Balance!]! }
  type Balance { asset: String!, amount: String! }
  type Tx { hash: String!, status: String!, height: String, index: Int }
  type Query {
    networks: [Network!]!
    block(network: String!, height: String): Block
    account(network: String!, address: String!): Account!
    tx(network: String!, hash: String!): Tx
  }
  type Subscription { blocks(network: String!): Block! }
`

/** Rejects operations nested deeper than `max` (fragments expanded). */
function depthLimit(max: number) {
  return (ctx: ValidationContext) => {
    const depthOf = (node: ASTNode, depth: number, seen: Set<string>): number => {
      if (depth > max) return depth
      let d = depth
      const sel = (node as { selectionSet?: { selections: readonly ASTNode[] } }).selectionSet
      for (const s of sel?.selections ?? []) {
        if (s.kind === Kind.FRAGMENT_SPREAD) {
          const name = s.name.value
          if (seen.has(name)) continue
          const f = ctx.getFragment(name)
          if (f) d = Math.max(d, depthOf(f, depth, new Set([...seen, name])))
        } else d = Math.max(d, depthOf(s, s.kind === Kind.FIELD ? depth + 1 : depth, seen))
      }
      return d
    }
    return {
      OperationDefinition(node: ASTNode) {
        const d = depthOf(node, 0, new Set())
        if (d > max)
          ctx.reportError(
            new GraphQLError(`query depth ${d} exceeds ${max}`, { extensions: { code: 'QUERY_TOO_DEEP' } }),
          )
      },
    }
  }
}

/** Rejects documents with more than `max` fields in total (a simple complexity budget). */
function fieldLimit(max: number) {
  return (ctx: ValidationContext) => {
    let n = 0
    let reported = false
    return {
      Field() {
        if (++n > max && !reported) {
          reported = true
          ctx.reportError(
            new GraphQLError(`query selects more than ${max} fields`, {
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          )
        }
      },
    }
  }
}

export function registerGraphql(
  app: FastifyInstance,
  networks: Map<string, NetworkNode>,
  o: GraphqlOptions = {},
): void {
  const net = (id: string) => {
    const n = networks.get(id)
    if (n === undefined)
      throw new GraphQLError(`unknown network ${id}`, { extensions: { code: 'UNKNOWN_NETWORK' } })
    return n
  }
  const blockOf = (b: { hash: Uint8Array; header: CommittedBlock['header'] }, txs: string[]) => ({
    height: b.header.height.toString(),
    hash: toHex(b.hash),
    header: headerView(b.header),
    txs,
  })
  const bad = (msg: string) => new GraphQLError(msg, { extensions: { code: 'BAD_REQUEST' } })
  const schema = createSchema({
    typeDefs,
    resolvers: {
      Query: {
        networks: () =>
          [...networks.values()].map((n) => ({
            id: n.id,
            height: n.height.toString(),
            validators: n.genesis.validators.length,
          })),
        block: async (_: unknown, a: { network: string; height?: string }) => {
          const n = net(a.network)
          if (a.height !== undefined && a.height !== 'latest' && !/^[0-9]{1,19}$/.test(a.height))
            throw bad('height must be an integer or "latest"')
          const h = a.height === undefined || a.height === 'latest' ? n.height : BigInt(a.height)
          const b = await n.getBlock(h)
          if (b === undefined) return null
          return blockOf(
            { hash: b.hash, header: b.block.header },
            b.block.txs.map((t) => decodeTxBytes(t).hashHex),
          )
        },
        account: async (_: unknown, a: { network: string; address: string }) => {
          const n = net(a.network)
          const { parseAccount } = await import('@pulsemesh/app')
          let acct: Uint8Array
          try {
            acct = parseAccount(a.address, n.genesis.params.addressPrefix)
          } catch (e) {
            throw new GraphQLError((e as Error).message, { extensions: { code: 'INVALID_ADDRESS' } })
          }
          await n.idle()
          const balances = [...(await n.accountBalances(acct))].map(([asset, v]) => ({
            asset,
            amount: v.toString(),
          }))
          return { address: a.address, nonce: n.accountNonce(acct).toString(), balances }
        },
        tx: async (_: unknown, a: { network: string; hash: string }) => {
          const n = net(a.network)
          const h = a.hash.toLowerCase().replace(/^0x/, '')
          if (!/^[0-9a-f]{64}$/.test(h)) throw bad('hash must be 32 bytes of hex')
          const loc = await n.store.txLocation(fromHex(h))
          if (loc) return { hash: h, status: 'committed', height: loc.height.toString(), index: loc.index }
          return n.mempool.get(h) ? { hash: h, status: 'pending' } : null
        },
      },
      Subscription: {
        blocks: {
          subscribe: (_: unknown, a: { network: string }) => {
            const n = net(a.network)
            // A bounded queue per subscriber: the oldest block is dropped when a client lags.
            const queue: CommittedBlock[] = []
            let wake: (() => void) | undefined
            const on = (b: CommittedBlock) => {
              if (queue.length >= 64) queue.shift()
              queue.push(b)
              wake?.()
            }
            n.on('block', on)
            return (async function* () {
              try {
                for (;;) {
                  while (queue.length === 0) await new Promise<void>((r) => (wake = r))
                  const b = queue.shift()!
                  yield { blocks: blockOf(b, b.txHashes) }
                }
              } finally {
                n.off('block', on)
              }
            })()
          },
        },
      },
    },
  })
  const yoga = createYoga({
    schema,
    graphqlEndpoint: '/v1/graphql',
    graphiql: false,
    maskedErrors: true,
    logging: false,
    plugins: [
      {
        onValidate({
          addValidationRule,
        }: {
          addValidationRule: (r: (ctx: ValidationContext) => unknown) => void
        }) {
          addValidationRule(depthLimit(o.depthMax ?? 8) as never)
          addValidationRule(fieldLimit(o.fieldsMax ?? 200) as never)
        },
      },
    ],
  })
  app.route({
    url: '/v1/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    config: { doc: { summary: 'GraphQL (queries; subscriptions over SSE)', tags: ['graphql'] } },
    handler: async (req, reply) => {
      const res = await yoga.handleNodeRequestAndResponse(req, reply)
      res.headers.forEach((v, k) => {
        reply.header(k, v)
      })
      reply.status(res.status)
      reply.send(res.body)
      return reply
    },
  })
}
