/** Auth (JWT roles through JWKS, API keys, rotation) and per-caller rate limits over real HTTP. */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { Authenticator, sha256Hex } from '../src/api/auth.ts'
import { RateLimiter } from '../src/api/rate-limit.ts'
import { devToken } from '../src/api/dev-token.ts'
import { apiServers } from './api-servers.ts'
import type { NetworkNode } from '../src/chain/network-node.ts'
import { keyFromByte, makeGenesis, openNetwork, tempDir } from './fixtures.ts'

const t = tempDir()
let node: NetworkNode
let closeStore: () => Promise<void>
const { serve, closeAll } = apiServers()

type Key = { priv: CryptoKey; jwk: JWK }
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true })
  return { priv: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' } }
}
const token = (k: Key, claims: Record<string, unknown>, exp = '5m', kid = k.jwk.kid as string) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid })
    .setSubject(String(claims.sub ?? 'user-1'))
    .setIssuer('pulsemesh-test')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(k.priv)

let k1: Key
let k2: Key
before(async () => {
  const opened = await openNetwork(t.dir, makeGenesis([keyFromByte(1)]))
  node = opened.node
  closeStore = async () => {
    await node.idle()
    await opened.store.close()
  }
  k1 = await newKey('k1')
  k2 = await newKey('k2')
})
after(async () => {
  await closeAll()
  await closeStore()
  t.cleanup()
})

const call = async (
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
) => {
  const r = await fetch(url + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await r.text()
  return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : {}) as { code?: string } }
}
const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` })

describe('auth', () => {
  test('roles: public reads, trader submits, operator produces; bad tokens are 401 with codes', async () => {
    const auth = new Authenticator({
      issuer: 'pulsemesh-test',
      jwks: { keys: [k1.jwk] },
      apiKeys: [{ name: 'ops-bot', sha256: sha256Hex('secret-ops-key'), role: 'operator' }],
    })
    const url = await serve({ networks: new Map([['hub', node]]), auth })
    const submit = (h: Record<string, string>) => call(url, 'POST', '/v1/networks/hub/txs', h, '{"tx":"00"}')
    const produce = (h: Record<string, string>) => call(url, 'POST', '/v1/networks/hub/blocks', h, '{}')

    assert.equal((await call(url, 'GET', '/v1/networks/hub/status')).status, 200)
    const anon = await submit({})
    assert.equal(anon.status, 401)
    assert.equal(anon.body.code, 'UNAUTHORIZED')
    assert.equal(anon.headers.get('www-authenticate'), 'Bearer')
    assert.equal((await submit(bearer(await token(k1, { role: 'viewer' })))).body.code, 'FORBIDDEN')
    // A trader gets past auth: the body is then judged (and rejected) on its own merits.
    assert.equal((await submit(bearer(await token(k1, { role: 'trader' })))).body.code, 'DECODE_ERROR')
    assert.equal(
      (await submit(bearer(await token(k1, { roles: ['viewer', 'admin'] })))).body.code,
      'DECODE_ERROR',
    )
    assert.equal((await produce(bearer(await token(k1, { role: 'trader' })))).body.code, 'FORBIDDEN')
    const heightBefore = node.height
    assert.equal((await produce(bearer(await token(k1, { role: 'operator' })))).status, 200)
    assert.equal(node.height, heightBefore + 1n)
    assert.equal((await produce({ 'x-api-key': 'secret-ops-key' })).status, 200)

    const bad: [Record<string, string>, string][] = [
      [bearer(await token(k1, { role: 'admin' }, '-1m')), 'TOKEN_EXPIRED'],
      [bearer(await token(k2, { role: 'admin' }, '5m', 'k1')), 'TOKEN_INVALID'], // forged: k2 signs, claims kid k1
      [bearer(await token(k2, { role: 'admin' })), 'TOKEN_INVALID'], // unknown kid
      [bearer(`${btoa('{"alg":"none"}')}.${btoa('{"role":"admin"}')}.`), 'TOKEN_INVALID'],
      [bearer('not-a-jwt'), 'TOKEN_INVALID'],
      [{ authorization: 'Basic YTpi' }, 'TOKEN_INVALID'],
      [{ 'x-api-key': 'guess' }, 'TOKEN_INVALID'],
    ]
    for (const [h, code] of bad) {
      const r = await produce(h)
      assert.equal(r.status, 401, JSON.stringify(r.body))
      assert.equal(r.body.code, code)
    }
    const wrongIssuer = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setIssuer('someone-else')
      .setExpirationTime('5m')
      .sign(k1.priv)
    assert.equal((await produce(bearer(wrongIssuer))).body.code, 'TOKEN_INVALID')
    assert.equal((await produce(bearer(await token(k1, { role: 'root' })))).body.code, 'FORBIDDEN')
    assert.equal(node.height, heightBefore + 2n)

    // Rotation without restart: k2 in, k1 out.
    auth.setJwks({ keys: [k2.jwk] })
    assert.equal((await produce(bearer(await token(k2, { role: 'operator' })))).status, 200)
    assert.equal((await produce(bearer(await token(k1, { role: 'operator' })))).body.code, 'TOKEN_INVALID')
  })

  test('a JWKS file is re-read when an unknown kid arrives (rotation by editing the file)', async () => {
    const file = join(t.dir, 'jwks.json')
    writeFileSync(file, JSON.stringify({ keys: [k1.jwk] }))
    const url = await serve({
      networks: new Map([['hub', node]]),
      auth: { jwksFile: file, publicRead: false },
    })
    assert.equal((await call(url, 'GET', '/v1/networks/hub/status')).body.code, 'UNAUTHORIZED')
    assert.equal(
      (await call(url, 'GET', '/v1/networks/hub/status', bearer(await token(k1, { role: 'viewer' })))).status,
      200,
    )
    writeFileSync(file, JSON.stringify({ keys: [k1.jwk, k2.jwk] }))
    await new Promise((r) => setTimeout(r, 1100)) // the re-read cooldown
    assert.equal(
      (await call(url, 'GET', '/v1/networks/hub/status', bearer(await token(k2, { role: 'viewer' })))).status,
      200,
    )
  })

  test('dev-token issues a JWT the node accepts through the JWKS file it writes', async () => {
    const home = join(t.dir, 'home')
    const tok = await devToken(home, 'trader', 'alice')
    const a = new Authenticator({ jwksFile: join(home, 'auth', 'jwks.json') })
    assert.deepEqual(await a.authenticate({ authorization: `Bearer ${tok}` }), {
      subject: 'alice',
      role: 'trader',
      via: 'jwt',
    })
    await assert.rejects(devToken(home, 'root' as never), /role must be/)
  })

  test('config errors are typed', () => {
    assert.throws(
      () => new Authenticator({ apiKeys: [{ name: 'x', sha256: 'nothex', role: 'admin' }] }),
      (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID',
    )
  })
})

describe('rate limits', () => {
  test('token bucket per IP and per key, RateLimit headers, 429 problem', async () => {
    const url = await serve({
      networks: new Map([['hub', node]]),
      auth: { apiKeys: [{ name: 'svc', sha256: sha256Hex('svc-key'), role: 'viewer' }] },
      rateLimit: { capacity: 3, refillPerSecond: 0.01 },
    })
    const seen: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await call(url, 'GET', '/v1/networks/hub/mempool')
      assert.equal(r.status, 200)
      seen.push(Number(r.headers.get('ratelimit-remaining')))
      assert.equal(r.headers.get('ratelimit-limit'), '3')
    }
    assert.deepEqual(seen, [2, 1, 0])
    const limited = await call(url, 'GET', '/v1/networks/hub/mempool')
    assert.equal(limited.status, 429)
    assert.equal(limited.body.code, 'RATE_LIMITED')
    assert.ok(Number(limited.headers.get('retry-after')) > 0)
    // A keyed caller has its own bucket; health stays reachable.
    assert.equal((await call(url, 'GET', '/v1/networks/hub/mempool', { 'x-api-key': 'svc-key' })).status, 200)
    assert.equal((await call(url, 'GET', '/livez')).status, 200)
    // Forged credentials spend the IP's bucket too.
    assert.equal((await call(url, 'GET', '/v1/networks/hub/mempool', { 'x-api-key': 'nope' })).status, 429)
  })

  test('RateLimiter refills and bounds its key count', () => {
    const l = new RateLimiter({ capacity: 2, refillPerSecond: 1, keysMax: 3 })
    assert.equal(l.take('a', 0).ok, true)
    assert.equal(l.take('a', 0).ok, true)
    assert.equal(l.take('a', 0).ok, false)
    assert.equal(l.take('a', 1000).ok, true)
    for (const k of ['b', 'c', 'd', 'e']) l.take(k, 0)
    assert.equal(l.size, 3)
  })
})
