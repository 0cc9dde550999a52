/**
 * Issues a JWT for a node you run yourself (development and small deployments):
 *
 *   node packages/node/src/api/dev-token.ts <home> <role> [subject] [ttl]
 *
 * The first run creates an Ed25519 signing key in <home>/auth/signing-key.json (mode 0600) and
 * publishes its public half in <home>/auth/jwks.json; point the node at it with
 * `"auth": { "jwksFile": "auth/jwks.json" }` in <home>/config.json. Rotating = run with
 * ROTATE=1: a new key is added to jwks.json and the node picks it up on the next unknown kid.
 * Production setups use their identity provider's JWKS URL (`auth.jwksUrl`) instead.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import { ROLES, type Role } from './auth.ts'

export async function devToken(
  home: string,
  role: Role,
  subject = 'dev',
  ttl = '12h',
  rotate = false,
): Promise<string> {
  if (!ROLES.includes(role)) throw new Error(`role must be one of ${ROLES.join(', ')}`)
  const dir = join(home, 'auth')
  mkdirSync(dir, { recursive: true })
  const keyFile = join(dir, 'signing-key.json')
  const jwksFile = join(dir, 'jwks.json')
  let priv: JWK
  if (!existsSync(keyFile) || rotate) {
    const kp = await generateKeyPair('EdDSA', { extractable: true })
    const kid = `k${Date.now().toString(36)}`
    priv = { ...(await exportJWK(kp.privateKey)), kid, alg: 'EdDSA' }
    const pub = { ...(await exportJWK(kp.publicKey)), kid, alg: 'EdDSA', use: 'sig' }
    const old = existsSync(jwksFile)
      ? (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }).keys
      : []
    writeFileSync(keyFile, JSON.stringify(priv), { mode: 0o600 })
    writeFileSync(jwksFile, `${JSON.stringify({ keys: [pub, ...old].slice(0, 3) }, null, 2)}\n`)
  } else priv = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'EdDSA', kid: priv.kid as string })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(await importJWK(priv, 'EdDSA'))
}

if (import.meta.main) {
  const [home, role, subject, ttl] = process.argv.slice(2)
  if (!home || !role) {
    console.error(
      'usage: node packages/node/src/api/dev-token.ts <home> <admin|operator|trader|viewer> [subject] [ttl]',
    )
    process.exit(2)
  }
  console.log(await devToken(home, role as Role, subject, ttl, process.env.ROTATE === '1'))
}
