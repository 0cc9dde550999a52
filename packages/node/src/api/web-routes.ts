/**
 * Serves the web dashboard's built bundle (packages/web/dist) at `/`: index.html (revalidated on
 * every load) and content-hashed /assets/* (cached for a year, immutable). Only file names of
 * [A-Za-z0-9._-] directly under dist/ or dist/assets/ are served, so no request can reach outside
 * the bundle. Files are gzipped once in memory when the client accepts gzip.
 */
import { readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFoundProblem } from './problem.ts'

export const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
const CSP = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  // @chainsafe/as-sha256 (SSZ hashing) compiles WebAssembly.
  "script-src 'self' 'wasm-unsafe-eval'",
  "frame-ancestors 'none'",
].join('; ')

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>PulseMesh</title>
<p>The dashboard is not built. Run <code>npm run build -w packages/web</code> (npm start does it for you),
then reload. The API is at <a href="/docs">/docs</a>.</p>`

interface Cached {
  mtimeMs: number
  raw: Buffer
  gz: Buffer | null
}

export function registerWebRoutes(app: FastifyInstance, dist: string = WEB_DIST): void {
  const cache = new Map<string, Cached>()
  const load = (path: string): Cached | undefined => {
    let mtimeMs: number
    try {
      const st = statSync(path)
      if (!st.isFile()) return undefined
      mtimeMs = st.mtimeMs
    } catch {
      return undefined
    }
    const hit = cache.get(path)
    if (hit !== undefined && hit.mtimeMs === mtimeMs) return hit
    const raw = readFileSync(path)
    const type = TYPES[extname(path)] ?? ''
    const compressible = /text|javascript|json|svg/.test(type) && raw.length > 512
    const c = { mtimeMs, raw, gz: compressible ? gzipSync(raw, { level: 9 }) : null }
    cache.set(path, c)
    return c
  }
  const send = (req: FastifyRequest, reply: FastifyReply, path: string, immutable: boolean) => {
    const f = load(path)
    if (f === undefined) return undefined
    reply
      .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('vary', 'accept-encoding')
    if (extname(path) === '.html') reply.header('content-security-policy', CSP)
    const gzip = f.gz !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    if (gzip) reply.header('content-encoding', 'gzip')
    return reply.send(gzip ? f.gz : f.raw)
  }
  const notFound = (reply: FastifyReply, what: string) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(notFoundProblem(`no dashboard file ${what.slice(0, 130)}`))

  const open = { config: { open: true } }
  app.get('/', open, async (req, reply) => {
    const r = send(req, reply, join(dist, 'index.html'), false)
    if (r === undefined) return reply.type('text/html; charset=utf-8').send(NOT_BUILT)
    return r
  })
  app.get<{ Params: { file: string } }>('/assets/:file', open, async (req, reply) => {
    const name = req.params.file
    if (!NAME.test(name)) return notFound(reply, name)
    return send(req, reply, join(dist, 'assets', name), true) ?? notFound(reply, name)
  })
  app.get<{ Params: { file: string } }>('/static/:file', open, async (req, reply) => {
    const name = req.params.file
    if (!NAME.test(name) || name === 'index.html') return notFound(reply, name)
    return send(req, reply, join(dist, name), false) ?? notFound(reply, name)
  })
}
