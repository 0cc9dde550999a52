/** The dashboard's static bundle at / (web-routes.ts) and the module list route. */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { after, before, test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { registerModuleRoutes } from '../src/api/module-routes.ts'
import { problemFor } from '../src/api/problem.ts'
import { registerWebRoutes } from '../src/api/web-routes.ts'

let dir: string
let app: FastifyInstance
const js = `console.log(${JSON.stringify('x'.repeat(4000))})`

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pm-web-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>')
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), js)
  writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}')
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>')
  writeFileSync(join(tmpdir(), 'pm-web-secret.txt'), 'TOP-SECRET-CONTENT')
  app = Fastify()
  app.setErrorHandler((err, _req, reply) => {
    const p = problemFor(err)
    reply.status(p.status).send(p)
  })
  registerWebRoutes(app, dir)
  const stand = {
    app: {
      modules: [{ name: 'bank', queries: { balance: () => 0, account: () => 0 } }, { name: 'staking' }],
    },
  }
  // biome-ignore lint/suspicious/noExplicitAny: a stand-in network with only what the route reads
  registerModuleRoutes(app, new Map([['hub', stand as any]]))
  await app.ready()
})
after(async () => {
  await app.close()
  rmSync(dir, { recursive: true, force: true })
  rmSync(join(tmpdir(), 'pm-web-secret.txt'), { force: true })
})

test('index.html: html type, revalidated, CSP allowing only self (and wasm compile)', async () => {
  const r = await app.inject({ url: '/' })
  assert.equal(r.statusCode, 200)
  assert.match(r.headers['content-type'] as string, /^text\/html/)
  assert.equal(r.headers['cache-control'], 'no-cache')
  assert.match(r.headers['content-security-policy'] as string, /default-src 'self'/)
  assert.match(r.headers['content-security-policy'] as string, /script-src 'self' 'wasm-unsafe-eval'/)
  assert.equal(r.headers['x-content-type-options'], 'nosniff')
})

test('hashed assets: right type, immutable, gzip when accepted', async () => {
  const plain = await app.inject({ url: '/assets/index-abc123.js' })
  assert.equal(plain.statusCode, 200)
  assert.match(plain.headers['content-type'] as string, /^text\/javascript/)
  assert.match(plain.headers['cache-control'] as string, /immutable/)
  assert.equal(plain.headers['content-encoding'], undefined)
  assert.equal(plain.body, js)
  const gz = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.ok(gz.rawPayload.length < js.length / 4)
  assert.equal(gunzipSync(gz.rawPayload).toString(), js)
  const css = await app.inject({ url: '/assets/index-abc123.css' })
  assert.match(css.headers['content-type'] as string, /^text\/css/)
  const svg = await app.inject({ url: '/static/favicon.svg' })
  assert.equal(svg.headers['content-type'], 'image/svg+xml')
})

test('no path leaves the bundle: traversal, encoded slashes, dotfiles, missing files -> 404', async () => {
  for (const url of [
    '/assets/..%2F..%2Fpm-web-secret.txt',
    '/assets/%2e%2e%2findex.html',
    '/static/..%2fpm-web-secret.txt',
    '/static/.hidden',
    '/assets/nope.js',
    '/static/index.html',
    '/assets/a%00b.js',
  ]) {
    const r = await app.inject({ url })
    assert.equal(r.statusCode, 404, url)
    assert.doesNotMatch(r.body, /TOP-SECRET-CONTENT|<title>/)
  }
})

test('without a build, / explains how to build instead of failing', async () => {
  const bare = Fastify()
  registerWebRoutes(bare, join(dir, 'does-not-exist'))
  const r = await bare.inject({ url: '/' })
  assert.equal(r.statusCode, 200)
  assert.match(r.body, /npm run build -w packages\/web/)
  await bare.close()
})

test('GET /v1/networks/:id/modules lists modules and their queries; unknown network is a typed 4xx', async () => {
  const r = await app.inject({ url: '/v1/networks/hub/modules' })
  assert.equal(r.statusCode, 200)
  assert.deepEqual(r.json(), {
    network: 'hub',
    modules: [
      { name: 'bank', queries: ['balance', 'account'] },
      { name: 'staking', queries: [] },
    ],
  })
  const bad = await app.inject({ url: '/v1/networks/nope/modules' })
  assert.equal(bad.statusCode, 404)
  assert.equal(bad.json().code, 'UNKNOWN_NETWORK')
})
