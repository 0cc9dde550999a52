/** GraphQL over real HTTP: queries over the same services, depth/complexity limits, bad input, SSE subscriptions. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildApi } from '../src/api/server.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const t = tempDir()
let node: NetworkNode
let url = ''
let close: () => Promise<void>
before(async () => {
  const opened = await openNetwork(t.dir, makeGenesis([alice]))
  node = opened.node
  await node.produceBlock()
  const api = buildApi({ networks: new Map([['hub', node]]), graphql: { depthMax: 3, fieldsMax: 50 } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const a = api.server.address()
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
  close = async () => {
    await api.close()
    await node.idle()
    await opened.store.close()
  }
})
after(async () => {
  await close()
  t.cleanup()
})

type Gql = { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] }
const gql = async (query: string): Promise<{ status: number; body: Gql }> => {
  const r = await fetch(`${url}/v1/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  })
  const text = await r.text()
  return { status: r.status, body: JSON.parse(text) as Gql }
}
const code = (b: Gql) => b.errors?.[0]?.extensions?.code

describe('GraphQL', () => {
  test('queries the same data as REST', async () => {
    const r = await gql(
      `{ networks { id height } block(network: "hub") { height header { txCount } } account(network: "hub", address: "${alice.address}") { nonce balances { asset amount } } }`,
    )
    assert.equal(r.status, 200)
    const d = r.body.data as {
      networks: { id: string }[]
      block: { height: string }
      account: { balances: unknown[] }
    }
    assert.equal(d.networks[0].id, 'hub')
    assert.equal(d.block.height, '1')
    assert.ok(d.account.balances.length > 0)
  })

  test('limits and bad input: typed errors, node healthy', async () => {
    assert.equal(code((await gql('{ block(network: "hub") { header { height } } }')).body), undefined)
    assert.equal(
      code(
        (
          await gql(
            '{ a: block(network: "hub") { b: header { c: height } } } fragment F on Header { height }',
          )
        ).body,
      ),
      'GRAPHQL_VALIDATION_FAILED',
    )
    const aliases = Array.from({ length: 100 }, (_, i) => `n${i}: networks { id }`).join(' ')
    assert.equal(code((await gql(`{ ${aliases} }`)).body), 'QUERY_TOO_COMPLEX')
    assert.equal(code((await gql('{'.repeat(5000))).body), 'GRAPHQL_PARSE_FAILED')
    assert.equal(code((await gql('{ block(network: "nope") { height } }')).body), 'UNKNOWN_NETWORK')
    assert.equal(code((await gql('{ block(network: "hub", height: "x") { height } }')).body), 'BAD_REQUEST')
    assert.equal(
      code((await gql(`{ account(network: "hub", address: "pm1bad") { nonce } }`)).body),
      'INVALID_ADDRESS',
    )
    // Depth: 4 levels through a fragment is over the limit of 3 even though the schema allows it.
    const deep = await gql(
      '{ block(network: "hub") { ...B } } fragment B on Block { header { ...H } } fragment H on Header { height }',
    )
    assert.equal(code(deep.body), undefined)
    assert.equal((await fetch(`${url}/livez`)).status, 200)
  })

  test('depth limit counts fields through fragments', async () => {
    const api = buildApi({
      networks: new Map([['hub', node]]),
      graphql: { depthMax: 2 },
      metrics: false,
      streams: false,
    })
    const r = await api.inject({
      method: 'POST',
      url: '/v1/graphql',
      payload: { query: '{ block(network: "hub") { ...B } } fragment B on Block { header { height } }' },
    })
    assert.equal(code(JSON.parse(r.body) as Gql), 'QUERY_TOO_DEEP')
    await api.close()
  })

  test('subscription: new blocks over SSE', async () => {
    const ctl = new AbortController()
    const res = await fetch(
      `${url}/v1/graphql?query=${encodeURIComponent('subscription { blocks(network: "hub") { height } }')}`,
      {
        headers: { accept: 'text/event-stream' },
        signal: ctl.signal,
      },
    )
    assert.equal(res.status, 200)
    const reader = res.body!.getReader()
    const produced = node.produceBlock()
    let text = ''
    while (!text.includes('"height"')) text += new TextDecoder().decode((await reader.read()).value)
    assert.match(text, new RegExp(`"height":"${(await produced).height}"`))
    ctl.abort()
  })
})
