/**
 * Mesh routes for relayers and clients that talk to a node over HTTP (mesh/endpoint.ts HttpEndpoint):
 *  - GET /v1/networks/:id/mesh/head: the certified head (header, commit, validator set, BFT time);
 *  - GET /v1/networks/:id/mesh/proof/:key: a state proof of a mesh key (prefix 0x07) against the
 *    head state root, with the header + commit that certify that root;
 *  - GET /v1/networks/:id/mesh/submit-info/:account: next nonce (mempool included), height, fee
 *    floor and tx lifetime, so a relayer can sign its next tx.
 * Reads of mesh state go through the generic module-query route (/modules/mesh/:query).
 */
import { MESH_PREFIX } from '@pulsemesh/app'
import { encodeCommit, encodeHeader, encodeStateProof, fromHex, PulseError, toHex } from '@pulsemesh/core'
import type { FastifyInstance } from 'fastify'
import type { NetworkNode } from '../chain/network-node.ts'
import { hostedNetwork } from './hosted-network.ts'

type Net = Pick<
  NetworkNode,
  'headHeader' | 'headCommit' | 'validatorSetAt' | 'proveState' | 'nextNonce' | 'height' | 'genesis'
>

export function registerMeshRoutes(app: FastifyInstance, networks: Map<string, Net>): void {
  const net = (id: string): Net => hostedNetwork(networks, id)
  const validators = async (n: Net, h: bigint) =>
    (await n.validatorSetAt(h)).validators.map((v) => ({
      publicKey: toHex(v.publicKey),
      power: v.votingPower.toString(),
    }))

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id/mesh/head',
    {
      config: {
        doc: { summary: 'certified head for light clients (header, commit, validators)', tags: ['mesh'] },
      },
    },
    async (req) => {
      const n = net(req.params.id)
      const h = n.headHeader
      if (h === undefined) throw new PulseError('NOT_FOUND', 'no block yet')
      return {
        height: h.height.toString(),
        timeMs: h.timeMs.toString(),
        header: toHex(encodeHeader(h)),
        commit: toHex(encodeCommit(n.headCommit)),
        validators: await validators(n, h.height),
      }
    },
  )

  app.get<{ Params: { id: string; key: string } }>(
    '/v1/networks/:id/mesh/proof/:key',
    { config: { doc: { summary: 'state proof of a mesh key against the certified head', tags: ['mesh'] } } },
    async (req) => {
      const n = net(req.params.id)
      if (!/^([0-9a-f]{2}){2,256}$/.test(req.params.key))
        throw new PulseError('BAD_REQUEST', 'key must be lowercase hex')
      const key = fromHex(req.params.key)
      if (key[0] !== MESH_PREFIX)
        throw new PulseError('BAD_REQUEST', 'only mesh keys (prefix 07) are served here')
      const r = await n.proveState(key)
      if (r.header === undefined) throw new PulseError('NOT_FOUND', 'no block yet')
      return {
        height: r.height.toString(),
        header: toHex(encodeHeader(r.header)),
        commit: toHex(encodeCommit(r.commit)),
        validators: await validators(n, r.height),
        value: r.value === null ? null : toHex(r.value),
        proof: toHex(encodeStateProof(r.proof)),
      }
    },
  )

  app.get<{ Params: { id: string; account: string } }>(
    '/v1/networks/:id/mesh/submit-info/:account',
    { config: { doc: { summary: 'next nonce and fee floor for signing a tx', tags: ['mesh'] } } },
    async (req) => {
      const n = net(req.params.id)
      if (!/^[0-9a-f]{40}$/.test(req.params.account))
        throw new PulseError('BAD_REQUEST', 'account must be 40 hex chars')
      const p = n.genesis.params
      return {
        nonce: n.nextNonce(fromHex(req.params.account)).toString(),
        height: n.height.toString(),
        minFee: p.minFee.toString(),
        txLifetimeBlocksMax: p.txLifetimeBlocksMax.toString(),
      }
    },
  )
}
