/** The REST API over a real HTTP socket, driven by the SDK client and raw fetch. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { BANK_KIND } from '@pulsemesh/app'
import { parseAddress } from '@pulsemesh/core'
import {
  ApiError,
  PulseClient,
  signTx,
  transferPayload,
  verifyAccountProof,
  verifyTxProof,
} from '@pulsemesh/sdk'
import { buildApi } from '../src/api/server.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = makeGenesis([alice])
const t = tempDir()
let url = ''
let node: NetworkNode
let close: () => Promise<void>

before(async () => {
  const opened = await openNetwork(t.dir, genesis)
  node = opened.node
  const api = buildApi({ networks: new Map([['hub', node]]) })
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

const signer = { scheme: alice.scheme, publicKey: alice.publicKey, secret: alice.secretKey }
const env = (nonce: bigint) => ({ networkId: 'hub', nonce, fee: 10n, expiresAt: 50n })

describe('REST API', () => {
  test('submit, produce, read back, prove', async () => {
    const c = new PulseClient({ baseUrl: url })
    const st = await c.status('hub')
    assert.equal(st.networkId, 'hub')
    const acct = await c.account('hub', alice.address)
    assert.equal(acct.nextNonce, '0')
    const s = signTx(
      signer,
      env(0n),
      BANK_KIND.transfer,
      transferPayload(parseAddress(bob.address).bytes, 'pulse', 42n),
    )
    const r = await c.submitTx('hub', s.bytes)
    assert.equal(r.hash, s.hash)
    assert.equal((await c.tx('hub', s.hash)).status, 'pending')
    await c.produceBlock('hub')
    const done = await c.waitForTx('hub', s.hash, 5000)
    assert.equal(done.status, 'committed')
    assert.equal(done.result?.ok, true)
    assert.equal((await c.account('hub', bob.address)).balances.pulse, '42')
    assert.equal(verifyTxProof(await c.txProof('hub', s.hash)).height, 1n)
    const ap = await c.accountProof('hub', bob.address)
    assert.equal(verifyAccountProof(ap).value !== null, true)
    const block = await c.block('hub', 'latest')
    assert.deepEqual(block.txs, [s.hash])
  })

  test('bad requests are problem+json 4xx with stable codes', async () => {
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(url + path, { method: 'POST', headers: { 'content-type': type }, body })
    const cases: [Promise<Response>, number, string][] = [
      [post('/v1/networks/hub/txs', '{not json'), 400, 'INVALID_JSON'],
      [post('/v1/networks/hub/txs', '{"tx": 5}'), 400, 'BAD_REQUEST'],
      [post('/v1/networks/hub/txs', '{"tx": "0102"}'), 400, 'DECODE_ERROR'],
      [post('/v1/networks/hub/txs', JSON.stringify({ tx: 'ab'.repeat(300_000) })), 413, 'PAYLOAD_TOO_LARGE'],
      [post('/v1/networks/nope/txs', '{"tx":"00"}'), 404, 'UNKNOWN_NETWORK'],
      [fetch(`${url}/v1/networks/hub/blocks/abc`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/blocks/999`), 404, 'NOT_FOUND'],
      [fetch(`${url}/v1/networks/hub/txs/zz`), 400, 'BAD_REQUEST'],
      [fetch(`${url}/v1/networks/hub/txs/${'00'.repeat(32)}`), 404, 'NOT_FOUND'],
      [fetch(`${url}/v1/networks/hub/accounts/pm1bad`), 400, 'INVALID_ADDRESS'],
      [fetch(`${url}/v1/no/such/route`), 404, 'NOT_FOUND'],
    ]
    for (const [p, status, code] of cases) {
      const res = await p
      const body = (await res.json()) as { code: string; status: number }
      assert.equal(res.status, status, `${code}: ${JSON.stringify(body)}`)
      assert.equal(body.code, code)
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/)
    }
    // Replay through the API: NONCE_REUSED.
    const c = new PulseClient({ baseUrl: url })
    const again = signTx(
      signer,
      env(0n),
      BANK_KIND.transfer,
      transferPayload(parseAddress(bob.address).bytes, 'pulse', 42n),
    )
    await assert.rejects(
      c.submitTx('hub', again.bytes),
      (e: unknown) => e instanceof ApiError && e.code === 'NONCE_REUSED' && e.status === 400,
    )
    // Still healthy.
    assert.equal((await fetch(`${url}/livez`)).status, 200)
  })
})
