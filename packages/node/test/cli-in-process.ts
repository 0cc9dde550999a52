/**
 * The pulsemesh mesh and exchange CLI commands run inside the test process against a node API, for
 * tests of an in-process devnet (no child process per command).
 */
import { Command } from 'commander'
import { registerExchangeCommands } from '../src/cli/exchange-commands.ts'
import { registerMeshCommands } from '../src/cli/mesh-commands.ts'

/**
 * Runs one command with `--json` on `network` (default hub) and returns its parsed output. The
 * CLI's error path prints one JSON line and exits 1: the exit is turned into that output so the
 * test process lives on, and process.exitCode is restored.
 */
export async function runCliJson<T>(
  o: { home: string; node: string; network?: string },
  args: string[],
): Promise<T> {
  const program = new Command()
    .option('--home <dir>', 'home', o.home)
    .option('--node <url>', 'node', o.node)
    .option('--network <id>', 'network', 'hub')
    .option('--json', 'json')
  registerMeshCommands(program)
  registerExchangeCommands(program)
  const lines: string[] = []
  const orig = console.log
  const code = process.exitCode
  const exit = process.exit
  console.log = (s: string) => lines.push(s)
  process.exit = ((c?: number) => {
    throw Object.assign(new Error('cli exit'), { cliExit: c })
  }) as typeof process.exit
  try {
    const argv = ['--home', o.home, '--node', o.node, '--network', o.network ?? 'hub', '--json']
    await program.parseAsync(['node', 'pulsemesh', ...argv, ...args])
  } catch (e) {
    if ((e as { cliExit?: number }).cliExit === undefined) throw e
  } finally {
    console.log = orig
    process.exit = exit
    process.exitCode = code
  }
  return JSON.parse(lines.join('\n')) as T
}
