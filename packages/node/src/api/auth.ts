/**
 * Who is calling: a JWT (jose, verified against a JWKS that can rotate without restart) or an API
 * key for services. Roles are ordered viewer < trader < operator < admin; a route asks for a
 * minimum role. API keys are stored as SHA-256 hashes only, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { PulseError } from '@pulsemesh/core'
import { createLocalJWKSet, createRemoteJWKSet, errors, type JSONWebKeySet, jwtVerify } from 'jose'

export const ROLES = ['viewer', 'trader', 'operator', 'admin'] as const
export type Role = (typeof ROLES)[number]
const RANK: Record<Role, number> = { viewer: 0, trader: 1, operator: 2, admin: 3 }

export interface ApiKeyConfig {
  name: string
  /** SHA-256 of the key, hex. The key itself is never stored. */
  sha256: string
  role: Role
}

export interface AuthConfig {
  /** Read routes open without a credential (default true). Write/admin routes always need a role. */
  publicRead?: boolean
  issuer?: string
  audience?: string
  /** Where the verification keys come from: a JWKS URL (refetched on unknown kid), a file (re-read on unknown kid) or inline keys. */
  jwksUrl?: string
  jwksFile?: string
  jwks?: JSONWebKeySet
  apiKeys?: ApiKeyConfig[]
}

export interface Principal {
  subject: string
  role: Role
  via: 'jwt' | 'api-key'
}

export class AuthError extends PulseError<'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'TOKEN_INVALID' | 'FORBIDDEN'> {}

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex')

function roleOf(claims: Record<string, unknown>): Role | undefined {
  const raw = claims.roles ?? claims.role
  const list = Array.isArray(raw) ? raw : [raw]
  let best: Role | undefined
  for (const r of list)
    if (typeof r === 'string' && r in RANK && (best === undefined || RANK[r as Role] > RANK[best]))
      best = r as Role
  return best
}

export class Authenticator {
  readonly publicRead: boolean
  private readonly cfg: AuthConfig
  private keys: ReturnType<typeof createLocalJWKSet> | ReturnType<typeof createRemoteJWKSet> | undefined
  private fileReadAtMs = 0
  private readonly apiKeys: { name: string; hash: Buffer; role: Role }[]

  constructor(cfg: AuthConfig) {
    this.cfg = cfg
    this.publicRead = cfg.publicRead ?? true
    this.apiKeys = (cfg.apiKeys ?? []).map((k) => {
      if (!/^[0-9a-f]{64}$/.test(k.sha256) || !(k.role in RANK))
        throw new PulseError(
          'CONFIG_INVALID',
          `api key ${k.name}: sha256 must be 64 hex chars and role one of ${ROLES}`,
        )
      return { name: k.name, hash: Buffer.from(k.sha256, 'hex'), role: k.role }
    })
    if (cfg.jwksUrl) this.keys = createRemoteJWKSet(new URL(cfg.jwksUrl), { cooldownDuration: 1000 })
    else if (cfg.jwksFile) this.reloadFile()
    else if (cfg.jwks) this.keys = createLocalJWKSet(cfg.jwks)
  }

  /** Replaces the verification keys (rotation without restart). */
  setJwks(jwks: JSONWebKeySet): void {
    this.keys = createLocalJWKSet(jwks)
  }

  private reloadFile(): boolean {
    if (!this.cfg.jwksFile || Date.now() - this.fileReadAtMs < 1000) return false
    this.fileReadAtMs = Date.now()
    this.keys = createLocalJWKSet(JSON.parse(readFileSync(this.cfg.jwksFile, 'utf8')) as JSONWebKeySet)
    return true
  }

  /** The caller, or undefined when no credential was sent. Throws AuthError on a bad credential. */
  async authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal | undefined> {
    const apiKey = headers['x-api-key']
    if (typeof apiKey === 'string') {
      const h = createHash('sha256').update(apiKey).digest()
      for (const k of this.apiKeys)
        if (timingSafeEqual(h, k.hash)) return { subject: `key:${k.name}`, role: k.role, via: 'api-key' }
      throw new AuthError('TOKEN_INVALID', 'unknown API key')
    }
    const auth = headers.authorization
    if (typeof auth !== 'string') return undefined
    const m = /^Bearer ([A-Za-z0-9_\-.]{1,8192})$/.exec(auth)
    if (!m) throw new AuthError('TOKEN_INVALID', 'authorization must be "Bearer <jwt>"')
    return this.verifyJwt(m[1], true)
  }

  private async verifyJwt(token: string, retry: boolean): Promise<Principal> {
    if (this.keys === undefined)
      throw new AuthError('TOKEN_INVALID', 'this node accepts no JWTs (no JWKS configured)')
    try {
      const { payload } = await jwtVerify(token, this.keys as ReturnType<typeof createLocalJWKSet>, {
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        algorithms: ['EdDSA', 'ES256', 'RS256', 'PS256'],
        clockTolerance: 5,
      })
      const role = roleOf(payload as Record<string, unknown>)
      if (role === undefined) throw new AuthError('FORBIDDEN', `token carries no role (${ROLES.join(', ')})`)
      return { subject: payload.sub ?? 'unknown', role, via: 'jwt' }
    } catch (e) {
      if (e instanceof AuthError) throw e
      if (e instanceof errors.JWKSNoMatchingKey && retry && this.reloadFile())
        return this.verifyJwt(token, false)
      if (e instanceof errors.JWTExpired) throw new AuthError('TOKEN_EXPIRED', 'token expired')
      throw new AuthError('TOKEN_INVALID', `token rejected: ${(e as Error).message}`)
    }
  }

  /** Throws unless `p` may use a route needing `need` (undefined = public read). */
  authorize(p: Principal | undefined, need: Role | undefined): void {
    if (need === undefined) {
      if (this.publicRead || p !== undefined) return
      throw new AuthError('UNAUTHORIZED', 'this node requires a credential for reads')
    }
    if (p === undefined)
      throw new AuthError('UNAUTHORIZED', `this route needs role ${need}; send a Bearer token or x-api-key`)
    if (RANK[p.role] < RANK[need])
      throw new AuthError('FORBIDDEN', `role ${p.role} may not do this (needs ${need})`)
  }
}
