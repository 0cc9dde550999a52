/**
 * Builds the dashboard bundle (vite build) unless dist/ is newer than every source it depends on
 * (this package, the SDK and the pure packages it bundles). `--force` always builds.
 * Used by the root `prestart`, the e2e test and the web bench.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const packages = join(root, '..')
const SOURCES = [
  join(root, 'src'),
  join(root, 'index.html'),
  join(root, 'vite.config.ts'),
  join(root, 'public'),
  join(root, 'package.json'),
  ...['sdk', 'core', 'app', 'consensus', 'exchange', 'emotion'].map((p) => join(packages, p, 'src')),
]

function newest(path: string): number {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let m = st.mtimeMs
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)))
  return m
}

export function isStale(): boolean {
  const out = join(root, 'dist', 'index.html')
  if (!existsSync(out)) return true
  const built = statSync(out).mtimeMs
  return SOURCES.some((s) => newest(s) > built)
}

/**
 * Builds unless up to date. Concurrent callers (the e2e test files run in parallel) take turns on
 * a lock directory, and a caller that waited re-checks: nobody reads a dist/ another is rewriting.
 */
export async function buildWeb(force = false): Promise<boolean> {
  if (!force && !isStale()) return false
  const lock = join(root, '.build-lock')
  const deadline = Date.now() + 180_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // A lock older than 3 minutes belongs to a build that died: take it over.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 180_000)
        rmSync(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`web build: ${lock} held for 3 minutes`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    if (!force && !isStale()) return false
    const { build } = await import('vite')
    await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn' })
    return true
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = performance.now()
  const built = await buildWeb(process.argv.includes('--force'))
  console.error(
    built
      ? `web dashboard built in ${((performance.now() - t0) / 1000).toFixed(1)} s (packages/web/dist)`
      : 'web dashboard is up to date (packages/web/dist)',
  )
}
