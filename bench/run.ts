/**
 * Benchmark runner: `npm run bench -- <suite> [<suite> ...]` (no suite = all).
 * Each suite is `bench/<suite>.bench.ts` exporting `run(): Promise<Record<string, unknown>>`.
 * Prints one JSON document to stdout and writes `bench/results/<suite>.json`.
 * Figures are ratios against a peer or physical limit measured in the same run (DESIGN §2.6).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const all = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort()
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const suites = wanted.length > 0 ? wanted : all
const unknown = suites.filter((s) => !all.includes(s))
if (unknown.length > 0) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; available: ${all.join(', ')}`)
  process.exit(2)
}
mkdirSync(join(here, 'results'), { recursive: true })
const machine = { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, node: process.version }
const out: Record<string, unknown> = { machine }
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2)
for (const suite of suites) {
  const mod = (await import(join(here, `${suite}.bench.ts`))) as {
    run: () => Promise<Record<string, unknown>>
  }
  const startedAt = new Date().toISOString()
  const result = { suite, startedAt, machine, ...(await mod.run()) }
  writeFileSync(join(here, 'results', `${suite}.json`), json(result) + '\n')
  out[suite] = result
}
console.log(json(out))
