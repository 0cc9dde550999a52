import assert from 'node:assert/strict'
import { test } from 'node:test'
import { App, bankModule, exchangeModule, type Genesis, MemoryStore } from '@pulsemesh/app'
import { generateKeyPair } from '@pulsemesh/core'
import Fastify from 'fastify'
import { problemFor } from '../src/api/problem.ts'
import { moduleRoutes, type QueryableNetwork } from '../src/api/module-routes.ts'

const validator = generateKeyPair('ed25519', new Uint8Array(32).fill(9))
const genesis: Genesis = {
  networkId: 'hub',
  genesisTimeMs: 0n,
  params: {
    networkId: 'hub',
    addressPrefix: 'pm',
    feeAsset: 'pulse',
    minFee: 1n,
    blockIntervalMs: 500,
    txLifetimeBlocksMax: 100n,
    blockTxsMax: 100,
    blockBytesMax: 1 << 20,
  },
  assets: [{ id: 'pulse', decimals: 6, maxSupply: 0n }],
  balances: [],
  validators: [{ name: 'v', publicKey: validator.publicKey.bytes, power: 1n }],
}

test('GET /v1/networks/:id/modules/:module/:query routes to App.query', async () => {
  const app = new App(genesis.params, [bankModule, exchangeModule])
  const state = new MemoryStore()
  app.initGenesis(state, genesis)
  const net = { app, state, genesis, height: 3n, idle: async () => {} } as unknown as QueryableNetwork
  const api = Fastify()
  api.setErrorHandler((e, _req, reply) => {
    const p = problemFor(e)
    reply.status(p.status).send(p)
  })
  await api.register(moduleRoutes, { networks: new Map([['hub', net]]) })
  const ok = await api.inject({ method: 'GET', url: '/v1/networks/hub/modules/exchange/markets' })
  assert.equal(ok.statusCode, 200)
  assert.deepEqual(ok.json(), {
    network: 'hub',
    module: 'exchange',
    query: 'markets',
    height: '3',
    result: [],
  })
  const vals = await api.inject({ method: 'GET', url: '/v1/networks/hub/modules/exchange/oracleValidators' })
  assert.equal(vals.json().result.length, 1)
  const unknownMarket = await api.inject({
    method: 'GET',
    url: '/v1/networks/hub/modules/exchange/book?market=a:b',
  })
  assert.equal(unknownMarket.statusCode, 400)
  assert.equal(unknownMarket.json().code, 'UNKNOWN_MARKET')
  const unknownQuery = await api.inject({ method: 'GET', url: '/v1/networks/hub/modules/exchange/nope' })
  assert.equal(unknownQuery.json().code, 'UNKNOWN_QUERY')
  const unknownNet = await api.inject({ method: 'GET', url: '/v1/networks/zz/modules/exchange/markets' })
  assert.equal(unknownNet.statusCode, 404)
  const repeated = await api.inject({
    method: 'GET',
    url: '/v1/networks/hub/modules/exchange/book?market=a&market=b',
  })
  assert.equal(repeated.json().code, 'BAD_REQUEST')
  await api.close()
})
