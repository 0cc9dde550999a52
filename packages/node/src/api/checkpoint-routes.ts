/**
 * Finality routes: GET /v1/networks/:id/checkpoints/latest (and /checkpoints/:height) serve the
 * newest finality checkpoint (height, block hash, validator-set hash and the > 2/3 commit that
 * certifies it, plus the validator set so a light client can check it offline);
 * GET /v1/networks/:id/consensus/halt reports whether this node halted the network (fork).
 * With a prom-client registry, `pulsemesh_network_halted` is 1 for a halted network.
 */
import { PulseError, toHex } from '@pulsemesh/core'
import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import { Gauge, type Registry } from 'prom-client'
import type { Checkpoint, NetworkNode } from '../chain/network-node.ts'
import { hostedNetwork } from './hosted-network.ts'
import { commitView } from './views.ts'

type Net = Pick<
  NetworkNode,
  'id' | 'halted' | 'checkpointInterval' | 'latestCheckpoint' | 'checkpointAt' | 'validatorSetAt'
>

async function checkpointView(n: Net, c: Checkpoint) {
  const set = await n.validatorSetAt(c.height)
  return {
    network: n.id,
    interval: n.checkpointInterval.toString(),
    height: c.height.toString(),
    blockHash: toHex(c.blockHash),
    validatorsHash: toHex(c.validatorsHash),
    commit: commitView(c.commit),
    validators: set.validators.map((v) => ({
      publicKey: toHex(v.publicKey),
      votingPower: v.votingPower.toString(),
    })),
  }
}

export function registerCheckpointRoutes(
  app: FastifyInstance,
  networks: Map<string, Net>,
  registry?: Registry,
): void {
  const net = (id: string): Net => hostedNetwork(networks, id)
  const notFound = (what: string) => new PulseError('NOT_FOUND', what)
  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/checkpoints/latest',
    {
      config: {
        doc: { summary: 'the newest finality checkpoint with its certificate', tags: ['consensus'] },
      },
    },
    async (req) => {
      const n = net(req.params.id)
      const c = await n.latestCheckpoint()
      if (!c) throw notFound('no checkpoint yet (the chain is shorter than one interval)')
      return checkpointView(n, c)
    },
  )
  app.get<{ Params: { id: string; height: string } }>(
    '/v1/networks/:id/checkpoints/:height',
    { config: { doc: { summary: 'the finality checkpoint at a height', tags: ['consensus'] } } },
    async (req) => {
      const n = net(req.params.id)
      if (!/^[0-9]{1,19}$/.test(req.params.height))
        throw new PulseError('BAD_REQUEST', 'height must be an integer')
      const c = await n.checkpointAt(BigInt(req.params.height))
      if (!c) throw notFound(`no checkpoint at height ${req.params.height}`)
      return checkpointView(n, c)
    },
  )
  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/consensus/halt',
    {
      config: {
        doc: { summary: 'whether this node halted the network (fork) and why', tags: ['consensus'] },
      },
    },
    async (req) => {
      const h = net(req.params.id).halted
      return h ? { halted: true, reason: h.reason, height: h.height.toString() } : { halted: false }
    },
  )
  if (registry && !registry.getSingleMetric('pulsemesh_network_halted'))
    new Gauge({
      name: 'pulsemesh_network_halted',
      help: '1 when this node halted the network (two certified blocks at one height)',
      labelNames: ['network'],
      registers: [registry],
      collect() {
        for (const n of networks.values()) this.set({ network: n.id }, n.halted ? 1 : 0)
      },
    })
}

/** The same routes as a Fastify plugin: `app.register(checkpointRoutes, { networks })`. */
export const checkpointRoutes: FastifyPluginCallback<{ networks: Map<string, Net>; registry?: Registry }> = (
  app,
  opts,
  done,
) => {
  registerCheckpointRoutes(app, opts.networks, opts.registry)
  done()
}
