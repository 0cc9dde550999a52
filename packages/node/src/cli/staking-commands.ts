/**
 * Staking commands of the `pulsemesh` CLI (networks with the staking module, e.g. `devnet
 * --validators 4`): tx create-validator | stake | delegate | unstake | unjail | rotate-key and
 * query validators. Amounts are whole units of the bond asset (the fee asset, 6 decimals) like
 * `tx send`; --base-units takes them verbatim. Reads use GET /v1/networks/:id/modules/staking/:query.
 */
import {
  CreateValidatorSSZ,
  DelegateSSZ,
  parseAccount,
  RotateKeySSZ,
  STAKING_KIND,
  UnjailSSZ,
} from '@pulsemesh/app'
import { addressFromPublicKey, fromHex } from '@pulsemesh/core'
import type { Command } from 'commander'
import { cliContext } from './context.ts'
import { Keystore } from '../keys/keystore.ts'
import { amountOption } from './amount.ts'

export function registerStakingCommands(program: Command): void {
  const { g, client, out, act, submit: submitTx } = cliContext(program)
  // The bond asset is the fee asset: 6 decimals on every network the devnets make.
  const amountOf = (o: { amount: string; baseUnits?: boolean }) => amountOption(o, 6)
  /** A consensus public key: 64 hex chars, or the name of an ed25519 key in the keystore. */
  const consensusKey = (s: string): Uint8Array => {
    if (/^[0-9a-fA-F]{64}$/.test(s)) return fromHex(s)
    const k = new Keystore(g().home).load(s)
    if (k.scheme !== 'ed25519') throw new Error('a consensus key must be ed25519')
    return k.publicKey.bytes
  }

  /** Signs, submits and waits for one staking tx; exit code 1 if it failed in its block. */
  const submit = async (what: string, from: string, kind: number, payload: Uint8Array, wait: boolean) => {
    const r = await submitTx(from, kind, payload, { wait })
    if (!wait) return out(`${what}: submitted ${r.hash}`, r.response)
    out(
      `${what}: tx ${r.hash}${r.ok ? ` committed at height ${r.height}` : ` FAILED: ${r.error}`}`,
      r.response,
    )
    if (!r.ok) process.exitCode = 1
  }
  const operatorOf = async (from: string, validator?: string): Promise<Uint8Array> => {
    const prefix = (await client().status(g().network)).params.addressPrefix
    if (validator) return parseAccount(validator, prefix)
    const k = new Keystore(g().home).load(from)
    return parseAccount(addressFromPublicKey(k.publicKey, prefix), prefix)
  }

  const tx = program.commands.find((c) => c.name() === 'tx') ?? program.command('tx')
  const common = (c: Command) =>
    c
      .requiredOption('--from <key>', 'key name in the keystore (pays the fee)')
      .option('--no-wait', 'do not wait for the block')
  const withAmount = (c: Command) =>
    c
      .requiredOption('--amount <amount>', 'whole units of the bond asset (e.g. 10.5)')
      .option('--base-units', '--amount is in base units')

  type AmountOpts = { from: string; amount: string; baseUnits?: boolean; wait: boolean; validator?: string }

  withAmount(common(tx.command('create-validator')))
    .description('become a validator: bond a self-stake behind a consensus key (joins the set at H+2)')
    .requiredOption('--consensus-key <key>', 'ed25519 key name in the keystore, or 64 hex chars')
    .action(
      act(async (o: AmountOpts & { consensusKey: string }) =>
        submit(
          'create-validator',
          o.from,
          STAKING_KIND.createValidator,
          CreateValidatorSSZ.serialize({ consensusKey: consensusKey(o.consensusKey), amount: amountOf(o) }),
          o.wait,
        ),
      ),
    )
  const delegateAction = (what: string, kind: number) =>
    act(async (o: AmountOpts) =>
      submit(
        what,
        o.from,
        kind,
        DelegateSSZ.serialize({ validator: await operatorOf(o.from, o.validator), amount: amountOf(o) }),
        o.wait,
      ),
    )
  withAmount(common(tx.command('delegate')))
    .description('bond tokens to a validator')
    .requiredOption('--validator <address>', "the validator's operator address")
    .action(delegateAction('delegate', STAKING_KIND.delegate))
  withAmount(common(tx.command('stake')))
    .description('bond tokens (default: to your own validator, i.e. add self-stake)')
    .option('--validator <address>', "the validator's operator address (default: --from's account)")
    .action(delegateAction('stake', STAKING_KIND.delegate))
  withAmount(common(tx.command('unstake')))
    .description('start unbonding (tokens return after the unbonding period)')
    .option('--validator <address>', "the validator's operator address (default: --from's account)")
    .action(delegateAction('unstake', STAKING_KIND.undelegate))
  common(tx.command('unjail'))
    .description('bring your jailed validator back (after its jail time; never after a double sign)')
    .action(
      act(async (o: { from: string; wait: boolean }) =>
        submit(
          'unjail',
          o.from,
          STAKING_KIND.unjail,
          UnjailSSZ.serialize({ operator: await operatorOf(o.from) }),
          o.wait,
        ),
      ),
    )
  common(tx.command('rotate-key'))
    .description("replace your validator's consensus key (the new key signs from H+2)")
    .requiredOption('--new-key <key>', 'ed25519 key name in the keystore, or 64 hex chars')
    .action(
      act(async (o: { from: string; newKey: string; wait: boolean }) =>
        submit(
          'rotate-key',
          o.from,
          STAKING_KIND.rotateKey,
          RotateKeySSZ.serialize({ newKey: consensusKey(o.newKey) }),
          o.wait,
        ),
      ),
    )

  const query = program.commands.find((c) => c.name() === 'query') ?? program.command('query')
  query
    .command('validators')
    .description('validators of the staking module (power, stake, jail state)')
    .action(
      act(async () => {
        const r = await client().request<{ height: string; result: Record<string, unknown>[] }>(
          'GET',
          `/v1/networks/${g().network}/modules/staking/validators`,
        )
        const rows = r.result as {
          operator: string
          consensusKey: string
          power: string
          tokens: string
          jailed: boolean
          tombstoned: boolean
          missedBlocks: number
        }[]
        out(
          `validators at height ${r.height}\n` +
            rows
              .map(
                (v) =>
                  `  ${v.operator}  power ${v.power.padStart(8)}  tokens ${v.tokens}  key ${v.consensusKey.slice(0, 16)}…` +
                  `${v.tombstoned ? '  TOMBSTONED' : v.jailed ? '  JAILED' : ''}${v.missedBlocks ? `  missed ${v.missedBlocks}` : ''}`,
              )
              .join('\n'),
          r,
        )
      }),
    )
}
