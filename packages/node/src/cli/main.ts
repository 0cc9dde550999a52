#!/usr/bin/env node
/**
 * `pulsemesh`: the node and wallet command line. Every command takes --json for machine output;
 * errors print one human line (and exit 1), or a JSON problem with --json.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, type KeyScheme, toHex } from '@pulsemesh/core'
import { transferPayload, verifyAccountProof, verifyTxProof } from '@pulsemesh/sdk'
import { installNodeCrypto } from '../crypto/node-backend.ts'
import { initHome, startHost } from '../host.ts'
import { Keystore } from '../keys/keystore.ts'
import { runDevnetProfile } from '../emotion/run-devnet.ts'
import { ProcessDevnet } from '../p2p/devnet-processes.ts'
import { parseAmount } from './amount.ts'
import { cliContext } from './context.ts'
import { registerExchangeCommands } from './exchange-commands.ts'
import { registerStakingCommands } from './staking-commands.ts'
import { initBftDevnetHome } from '../consensus/devnet-home.ts'
import { registerMeshCommands } from './mesh-commands.ts'

installNodeCrypto()

const program = new Command()
program
  .name('pulsemesh')
  .description('PulseMesh node and wallet')
  .option(
    '--home <dir>',
    'node/wallet directory',
    process.env.PULSEMESH_HOME ?? join(homedir(), '.pulsemesh'),
  )
  .option('--node <url>', 'API of the node to talk to', process.env.PULSEMESH_NODE ?? 'http://127.0.0.1:8645')
  .option('--network <id>', 'network id', 'hub')
  .option('--json', 'machine-readable output')

const { g, client, out, act, submit } = cliContext(program)

program
  .command('init')
  .description('create a node directory with a validator key, a funded demo account and a genesis')
  .option('--network-id <id>', 'network id', 'hub')
  .option('--port <n>', 'API port', '8645')
  .option('--block-interval <ms>', 'block interval', '500')
  .action(
    act(async (o: { networkId: string; port: string; blockInterval: string }) => {
      const home = resolve(g().home)
      const r = initHome(home, {
        networkId: o.networkId,
        port: Number(o.port),
        blockIntervalMs: Number(o.blockInterval),
        addressPrefix: 'pm',
        feeAsset: 'pulse',
        nowMs: BigInt(Date.now()),
      })
      out(
        `initialised ${home}\n  network ${o.networkId}\n  demo account ${r.demoAddress}\n  validator ${r.validatorAddress}`,
        {
          home,
          network: o.networkId,
          demoAddress: r.demoAddress,
          validatorAddress: r.validatorAddress,
        },
      )
    }),
  )

async function runNode(home: string, banner: (url: string) => string): Promise<void> {
  const host = await startHost(home, { log: (m) => console.error(m) })
  console.log(banner(host.url))
  for (const n of host.networks.values()) {
    n.on('block', (b: { height: bigint; txHashes: string[]; hash: Uint8Array }) => {
      if (!g().json)
        console.log(`[${n.id}] block ${b.height} ${toHex(b.hash).slice(0, 16)}… ${b.txHashes.length} txs`)
    })
  }
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.error('stopping…')
    await host.stop()
    process.exit(process.exitCode ?? 0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

program
  .command('start')
  .description('run the node in --home')
  .action(act(async () => runNode(resolve(g().home), (url) => `node API at ${url}`)))

program
  .command('devnet')
  .description(
    'run a local single-validator devnet (initialised on first run) and print a funded demo account',
  )
  .option('--port <n>', 'API port', '8645')
  .option('--block-interval <ms>', 'block interval', '500')
  .option('--profile <name>', 'emotionalchain: the Proof of Emotion network (EMO)')
  .option('--epoch-blocks <n>', 'with --profile emotionalchain: blocks per emotion epoch', '60')
  .option('--validators <n>', 'validators in this process (> 1: BFT; --profile: 21)', '1')
  .option('--processes', 'with --validators N: one process per validator, over libp2p')
  .action(
    act(async (o: { port: string; blockInterval: string; validators: string; processes?: boolean }) => {
      if ((o as { profile?: string }).profile !== undefined)
        return runDevnetProfile(program.commands.find((c) => c.name() === 'devnet')!)
      const n = Number(o.validators)
      if (n > 1 && o.processes) return runProcessDevnet(n, o)
      if (n > 1) return runBftDevnet(n, o)
      const home = resolve(program.getOptionValueSource('home') === 'default' ? '.data/devnet' : g().home)
      if (!existsSync(join(home, 'config.json'))) {
        initHome(home, {
          networkId: 'hub',
          port: Number(o.port),
          blockIntervalMs: Number(o.blockInterval),
          addressPrefix: 'pm',
          feeAsset: 'pulse',
          nowMs: BigInt(Date.now()),
        })
      }
      const demo = new Keystore(home).load('demo')
      const demoAddress = addressFromPublicKey(demo.publicKey, 'pm')
      await runNode(home, (url) =>
        [
          '',
          `PulseMesh devnet is running`,
          `  API:            ${url}/v1/networks/hub/status`,
          `  demo account:   ${demoAddress} (key "demo" in ${home}/keys)`,
          `  try:            npm run pulsemesh -- --home ${home} --node ${url} tx send --from demo --to <address> --amount 1.5`,
          '',
        ].join('\n'),
      )
    }),
  )

/** N validators of network "hub" in this process, agreeing through BFT consensus (home .data/devnet-<N>v). */
async function runBftDevnet(n: number, o: { port: string; blockInterval: string }): Promise<void> {
  const home = resolve(program.getOptionValueSource('home') === 'default' ? `.data/devnet-${n}v` : g().home)
  const r = initBftDevnetHome(home, {
    networkId: 'hub',
    port: Number(o.port),
    blockIntervalMs: Number(o.blockInterval),
    addressPrefix: 'pm',
    feeAsset: 'pulse',
    nowMs: BigInt(Date.now()),
    validators: n,
  })
  await runNode(home, (url) =>
    [
      '',
      `PulseMesh BFT devnet is running (${r.validators.length} validators in this process)`,
      `  API:            ${url}/v1/networks/hub/status (validator 0's node)`,
      `  demo account:   ${r.demoAddress} (key "demo" in ${home}/keys)`,
      ...r.validators.map((v) => `  ${v.name}: operator ${v.address}`),
      `  try:            npm run pulsemesh -- --home ${home} --node ${url} query validators`,
      '',
    ].join('\n'),
  )
}

/** `devnet --validators N` (N > 1): N validator processes on 127.0.0.1, see p2p/devnet-processes.ts. */
async function runProcessDevnet(n: number, o: { port: string; blockInterval: string }): Promise<void> {
  if (!Number.isSafeInteger(n) || n > 64) throw new Error('--validators must be an integer from 1 to 64')
  const dir = resolve(program.getOptionValueSource('home') === 'default' ? `.data/devnet-${n}` : g().home)
  console.error(`starting ${n} validator processes in ${dir} …`)
  const net = await ProcessDevnet.start({
    validators: n,
    dir,
    basePort: Number(o.port),
    blockIntervalMs: Number(o.blockInterval),
    // Validator 0's blocks stand for the network's; every other line (sync progress, p2p) is shown.
    onLine: (i, line) => {
      if (i === 0 || !/^\[[^\]]+\] block \d+/.test(line)) console.error(`[v${i}] ${line}`)
    },
  })
  out(
    [
      '',
      `PulseMesh devnet: ${n} validator processes over libp2p`,
      ...net.members.map((m) => `  v${m.index}: API ${m.apiUrl}  p2p ${m.p2pAddr}`),
      `  demo account: ${net.demoAddress} (key "demo" in ${net.members[0].home}/keys)`,
      `  try: npm run pulsemesh -- --home ${net.members[0].home} --node ${net.members[0].apiUrl} tx send --from demo --to <address> --amount 1.5`,
      '',
    ].join('\n'),
    {
      validators: net.members.map((m) => ({ api: m.apiUrl, p2p: m.p2pAddr, home: m.home })),
      demoAddress: net.demoAddress,
    },
  )
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    console.error('stopping validators…')
    await net.stop()
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

const keys = program.command('keys').description('manage local keys')
keys
  .command('new <name>')
  .option('--scheme <scheme>', 'ed25519 or secp256k1', 'ed25519')
  .action(
    act(async (name: string, o: { scheme: string }) => {
      if (o.scheme !== 'ed25519' && o.scheme !== 'secp256k1')
        throw new Error('--scheme must be ed25519 or secp256k1')
      const k = new Keystore(g().home).create(name, o.scheme as KeyScheme)
      const address = addressFromPublicKey(k.publicKey, 'pm')
      out(`created key ${name} (${k.scheme})\n  address ${address}`, {
        name,
        scheme: k.scheme,
        address,
        publicKey: toHex(k.publicKey.bytes),
      })
    }),
  )
keys.command('list').action(
  act(async () => {
    const ks = new Keystore(g().home)
    const list = ks.list().map((k) => ({ ...k, address: ks.address(k.name, 'pm') }))
    out(
      list.map((k) => `${k.name.padEnd(24)} ${k.scheme.padEnd(10)} ${k.address}`).join('\n') || '(no keys)',
      list,
    )
  }),
)

const tx = program.command('tx').description('sign and submit transactions')
tx.command('send')
  .description('transfer an asset')
  .requiredOption('--from <key>', 'key name in the keystore')
  .requiredOption('--to <address>', 'recipient address')
  .requiredOption('--amount <amount>', 'amount in whole units (e.g. 1.5)')
  .option('--asset <id>', 'asset id (default: the fee asset)')
  .option('--fee <base-units>', 'fee in base units (default: the minimum)')
  .option('--memo <text>', 'memo', '')
  .option('--no-wait', 'do not wait for the block')
  .action(
    act(
      async (o: {
        from: string
        to: string
        amount: string
        asset?: string
        fee?: string
        memo: string
        wait: boolean
      }) => {
        const st = await client().status(g().network)
        const to = parseAccount(o.to, st.params.addressPrefix)
        const asset = o.asset ?? st.params.feeAsset
        const payload = transferPayload(to, asset, parseAmount(o.amount, 6))
        const r = await submit(o.from, 0x0101, payload, {
          wait: o.wait,
          fee: o.fee ? BigInt(o.fee) : undefined,
          memo: o.memo,
          status: st,
        })
        if (!o.wait) return out(`submitted ${r.hash}`, r.response)
        out(`tx ${r.hash}\n  committed at height ${r.height}${r.ok ? '' : ` FAILED: ${r.error}`}`, r.response)
        if (!r.ok) process.exitCode = 1
      },
    ),
  )

const query = program.command('query').description('read chain data')
query
  .command('block <height>')
  .description('a block by height, or "latest"')
  .action(
    act(async (h: string) => {
      const b = await client().block(g().network, h === 'latest' ? 'latest' : BigInt(h))
      out(JSON.stringify(b, null, 2), b)
    }),
  )
query.command('tx <hash>').action(
  act(async (h: string) => {
    const t = await client().tx(g().network, h)
    out(JSON.stringify(t, null, 2), t)
  }),
)
query.command('account <address>').action(
  act(async (a: string) => {
    const r = await client().account(g().network, a)
    out(
      `${r.address} at height ${r.height}\n  nonce ${r.nonce}\n` +
        Object.entries(r.balances)
          .map(([k, v]) => `  ${k}: ${v}`)
          .join('\n'),
      r,
    )
  }),
)

const proof = program
  .command('proof')
  .description('fetch proofs and verify them locally (nothing trusted from the node)')
proof.command('tx <hash>').action(
  act(async (h: string) => {
    const r = await client().txProof(g().network, h)
    const v = verifyTxProof(r)
    out(`tx ${h} verified: included at height ${v.height}, certified by the validator set`, {
      ...r,
      verified: true,
      height: v.height.toString(),
    })
  }),
)
proof
  .command('account <address>')
  .option('--asset <id>', 'asset (default: the fee asset)')
  .action(
    act(async (a: string, o: { asset?: string }) => {
      const r = await client().accountProof(g().network, a, o.asset)
      const v = verifyAccountProof(r)
      const amount = v.value === null ? '0 (proved absent)' : BigInt(`0x${toHex(v.value)}`).toString()
      out(
        `account ${a} ${r.asset} = ${amount} at height ${v.height}: verified against the certified state root`,
        {
          ...r,
          verified: true,
          height: v.height.toString(),
        },
      )
    }),
  )

registerExchangeCommands(program)
registerMeshCommands(program)
registerStakingCommands(program)
await program.parseAsync(process.argv)
