/**
 * Generic read-only module queries: GET /v1/networks/:id/modules/:module/:query?arg=value...
 * routes to `App.query(state, module, query, args)` on the last committed state. Every module's
 * `queries` (bank, staking, exchange, ...) is reachable without a route per query. Query strings
 * are flat string arguments (at most 16, each at most 256 characters); results are the module's
 * JSON (bigints already as decimal strings). Errors are the module's typed errors (4xx problems).
 */
import { PulseError } from '@pulsemesh/core'
import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import type { NetworkNode } from '../chain/network-node.ts'
import { hostedNetwork } from './hosted-network.ts'

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/
const ARGS_MAX = 16
const ARG_CHARS_MAX = 256

/** The subset of NetworkNode the route uses (tests pass a stand-in). */
export type QueryableNetwork = Pick<NetworkNode, 'app' | 'state' | 'genesis' | 'height' | 'idle'>

export function registerModuleRoutes(app: FastifyInstance, networks: Map<string, QueryableNetwork>): void {
  // Which modules and queries a network runs, so clients ask only what exists (no 4xx probing).
  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/modules',
    { config: { doc: { summary: 'modules of a network and their read-only queries', tags: ['modules'] } } },
    async (req) => {
      const n = hostedNetwork(networks, req.params.id)
      return {
        network: req.params.id,
        modules: n.app.modules.map((m) => ({ name: m.name, queries: Object.keys(m.queries ?? {}) })),
      }
    },
  )
  app.get<{ Params: { id: string; module: string; query: string }; Querystring: Record<string, unknown> }>(
    '/v1/networks/:id/modules/:module/:query',
    { config: { doc: { summary: 'read-only module query (App.query)', tags: ['modules'] } } },
    async (req) => {
      const { id, module, query } = req.params
      const n = hostedNetwork(networks, id)
      if (!NAME.test(module) || !NAME.test(query))
        throw new PulseError('BAD_REQUEST', 'bad module or query name')
      const args: Record<string, string> = {}
      const entries = Object.entries(req.query ?? {})
      if (entries.length > ARGS_MAX)
        throw new PulseError('BAD_REQUEST', `at most ${ARGS_MAX} query arguments`)
      for (const [k, v] of entries) {
        if (typeof v !== 'string' || v.length > ARG_CHARS_MAX || k.length > 64)
          throw new PulseError('BAD_REQUEST', `query argument ${k.slice(0, 64)} must be one short string`)
        args[k] = v
      }
      await n.idle()
      const height = n.height
      const result = n.app.query(n.state, module, query, args, { params: n.genesis.params, height })
      return { network: id, module, query, height: height.toString(), result }
    },
  )
}

/** The same routes as a Fastify plugin: `app.register(moduleRoutes, { networks })`. */
export const moduleRoutes: FastifyPluginCallback<{ networks: Map<string, QueryableNetwork> }> = (
  app,
  opts,
  done,
) => {
  registerModuleRoutes(app, opts.networks)
  done()
}
