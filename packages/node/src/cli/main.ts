#!/usr/bin/env node
/**
 * `pulsemesh`: the node and wallet command line. Every command takes --json for machine output;
 * errors print one human line (and exit 1), or a JSON problem with --json.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, type KeyScheme, PulseError, toHex } from '@pulsemesh/core'
import { transferPayload, verifyAccountProof, verifyTxProof } from '@pulsemesh/sdk'
import { installNodeCrypto } from '../crypto/node-backend.ts'
import { initHome, startHost } from '../host.ts'
import { Keystore } from '../keys/keystore.ts'
import { runDevnetProfile } from '../emotion/run-devnet.ts'
import { inspectDevnetDir, moveOldSingleDevnet, startMeshProcessDevnet } from '../mesh/devnet-processes.ts'
import { amountOption } from './amount.ts'
import { cliContext } from './context.ts'
import { registerExchangeCommands } from './exchange-commands.ts'
import { registerStakingCommands } from './staking-commands.ts'
import { initBftDevnetHome } from '../consensus/devnet-home.ts'
import { registerMeshCommands } from './mesh-commands.ts'

installNodeCrypto()

const DEVNET_HOME = '.data/devnet'
const SINGLE_HOME = '.data/devnet-single'
const DEFAULT_NODE = 'http://127.0.0.1:8645'

const program = new Command()
program
  .name('pulsemesh')
  .description('PulseMesh node and wallet')
  .option(
    '--home <dir>',
    'node/wallet directory (default: .data/devnet when it holds the devnet, else ~/.pulsemesh)',
    process.env.PULSEMESH_HOME ??
      (existsSync(join(DEVNET_HOME, 'devnet.json')) ? DEVNET_HOME : join(homedir(), '.pulsemesh')),
  )
  .option('--node <url>', 'API of the node to talk to', process.env.PULSEMESH_NODE ?? DEFAULT_NODE)
  .option('--network <id>', 'network id', 'hub')
  .option('--json', 'machine-readable output')

const { g, client, out, act, submit, assetDecimals } = cliContext(program)

// A home that is the default devnet's wallet talks to that devnet's first node unless told otherwise.
program.hook('preAction', (cmd) => {
  if (cmd.getOptionValueSource('node') !== 'default') return
  try {
    const l = JSON.parse(readFileSync(join(String(cmd.opts().home), 'devnet.json'), 'utf8')) as {
      members?: { apiPort?: number }[]
    }
    const port = l.members?.[0]?.apiPort
    if (typeof port === 'number') cmd.setOptionValueWithSource('node', `http://127.0.0.1:${port}`, 'default')
  } catch {}
})

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
    await host.stop().catch((e: Error) => {
      console.error(`error while stopping: ${e.message}`)
      process.exitCode = 1
    })
    process.exit(process.exitCode ?? 0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // Forked by a devnet: if that parent goes away without stopping us, stop too (no orphans).
  if (process.send) process.on('disconnect', stop)
}

program
  .command('start')
  .description('run the node in --home')
  .action(act(async () => runNode(resolve(g().home), (url) => `node API at ${url}`)))

program
  .command('devnet')
  .description(
    'run a local devnet: by default 4 validator processes, each hosting hub, emotionalchain, tenant-a and tenant-b (initialised on first run, resumed after)',
  )
  .option('--port <n>', 'API port of the first node (others follow; 0 = free ports)', '8645')
  .option('--block-interval <ms>', 'block interval of hub and tenants (default 500)')
  .option('--emotion-block-interval <ms>', 'process devnet: block interval of emotionalchain', '2000')
  .option(
    '--profile <name>',
    'emotionalchain: the Proof of Emotion network (EMO) alone, validators in one process',
  )
  .option('--epoch-blocks <n>', 'emotionalchain: blocks per emotion epoch (process devnet 20, --profile 60)')
  .option('--validators <n>', 'validators (process devnet 4; --profile 21)', '4')
  .option('--full-nodes <n>', 'process devnet: non-validator full-node processes', '0')
  .option('--single', 'one process, one validator, network hub only (home .data/devnet-single)')
  .option(
    '--in-process',
    'with --validators N: the N validators of hub in one process (home .data/devnet-<N>v)',
  )
  .option('--processes', 'one process per validator (the default; kept for older scripts)')
  .action(
    act(
      async (o: {
        port: string
        blockInterval?: string
        emotionBlockInterval: string
        epochBlocks?: string
        validators: string
        fullNodes: string
        single?: boolean
        inProcess?: boolean
      }) => {
        const devnet = program.commands.find((c) => c.name() === 'devnet')!
        if ((o as { profile?: string }).profile !== undefined) {
          if (devnet.getOptionValueSource('epochBlocks') === undefined)
            devnet.setOptionValue('epochBlocks', '60')
          return runDevnetProfile(devnet)
        }
        const n = int(o.validators, '--validators')
        if (o.single || n === 1)
          return runSingleDevnet({ port: o.port, blockInterval: o.blockInterval ?? '500' })
        if (o.inProcess) return runBftDevnet(n, { port: o.port, blockInterval: o.blockInterval ?? '500' })
        return runMeshProcessDevnet(n, o)
      },
    ),
  )

function int(v: string, name: string): number {
  if (!/^[0-9]{1,6}$/.test(v)) throw new PulseError('BAD_OPTION', `${name} must be a non-negative integer`)
  return Number(v)
}

const defaultHome = () => program.getOptionValueSource('home') === 'default'

/** `devnet --single` (or --validators 1): one validator of network hub in this process. */
async function runSingleDevnet(o: { port: string; blockInterval: string }): Promise<void> {
  const home = resolve(defaultHome() ? SINGLE_HOME : g().home)
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
      `PulseMesh devnet is running (one validator, network hub)`,
      `  API:            ${url}/v1/networks/hub/status`,
      `  demo account:   ${demoAddress} (key "demo" in ${home}/keys)`,
      `  try:            npm run pulsemesh -- --home ${home} --node ${url} tx send --from demo --to <address> --amount 1.5`,
      '',
      `Dashboard: ${url}/`,
    ].join('\n'),
  )
}

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

/**
 * The default devnet: N validator processes (and optional full nodes) on 127.0.0.1, each hosting
 * hub, emotionalchain, tenant-a and tenant-b (mesh/devnet-processes.ts). Home .data/devnet; an
 * older single-validator home found there is moved to .data/devnet-single (what --single runs).
 */
async function runMeshProcessDevnet(
  n: number,
  o: {
    port: string
    blockInterval?: string
    emotionBlockInterval: string
    epochBlocks?: string
    fullNodes: string
  },
): Promise<void> {
  const dir = resolve(defaultHome() ? DEVNET_HOME : g().home)
  if (defaultHome()) {
    const moved = moveOldSingleDevnet(dir, resolve(SINGLE_HOME))
    if (moved) console.error(moved)
  }
  const port = int(o.port, '--port')
  const fullNodes = int(o.fullNodes, '--full-nodes')
  const epochBlocks = o.epochBlocks === undefined ? undefined : int(o.epochBlocks, '--epoch-blocks')
  if (epochBlocks !== undefined && (epochBlocks < 4 || epochBlocks > 100_000))
    throw new PulseError('BAD_OPTION', '--epoch-blocks must be 4..100000')
  const ms = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined
    const x = int(v, name)
    if (x < 100 || x > 60_000) throw new PulseError('BAD_OPTION', `${name} must be 100..60000 ms`)
    return x
  }
  if (
    inspectDevnetDir(dir).state === 'devnet' &&
    [o.blockInterval, o.epochBlocks].some((x) => x !== undefined)
  )
    console.error(
      `note: ${dir} exists, so its chains keep their settings; --block-interval / --epoch-blocks apply to a new devnet (another --home)`,
    )
  const started = Date.now()
  console.error(
    `starting ${n} validator processes${fullNodes ? ` and ${fullNodes} full nodes` : ''} in ${dir} …`,
  )
  let ready = false
  const { net, layout } = await startMeshProcessDevnet({
    dir,
    validators: n,
    fullNodes,
    basePort: port,
    blockIntervalMs: ms(o.blockInterval, '--block-interval'),
    emotionBlockIntervalMs: ms(o.emotionBlockInterval, '--emotion-block-interval'),
    epochBlocks,
    // Blocks with txs from v0 and every non-block line (errors, sync progress, relayer) are shown.
    onLine: (i, line) => {
      const block = /^\[[^\]]+\] block \d+ \S+ (\d+) txs/.exec(line)
      if (block && (i !== 0 || block[1] === '0' || !ready)) return
      console.error(`[${i < n ? `v${i}` : `f${i - n}`}] ${line}`)
    },
  })
  ready = true
  const v0 = net.members[0]!
  const flags = [
    ...(dir === resolve(DEVNET_HOME) ? [] : ['--home', dir]),
    ...(v0.apiUrl === DEFAULT_NODE ? [] : ['--node', v0.apiUrl]),
  ].join(' ')
  const cli = `npm run pulsemesh --${flags ? ` ${flags}` : ''}`
  const demo = layout.demo
  const summary = {
    home: dir,
    startedInMs: Date.now() - started,
    networks: layout.networks.map((x) => x.id),
    members: net.members.map((m) => ({
      name: m.name,
      api: m.apiUrl,
      p2p: m.p2pAddr,
      home: m.home,
      pid: m.child?.pid,
      role: m.index < layout.validators ? 'validator' : 'full node',
    })),
    demo,
  }
  if (g().json) console.log(JSON.stringify(summary))
  else
    console.log(
      [
        '',
        `PulseMesh devnet: ${n} validator processes${fullNodes ? ` + ${fullNodes} full nodes` : ''} over libp2p, each hosting ${layout.networks.map((x) => x.id).join(', ')} (BFT, one validator per process per network)`,
        ...summary.members.map(
          (m, i) =>
            `  ${m.name}: API ${m.api}  p2p ${m.p2p}${m.role === 'validator' ? '' : '  (full node)'}${i === 0 ? '  (relayer hub <-> each network)' : ''}`,
        ),
        `  emotionalchain: EMO, Proof of Emotion; each validator process runs its biometric agent on simulated devices`,
        `  demo account (key "demo" in ${dir}/keys, funded on every network): ${demo.hub} (emotionalchain: ${demo.emotionalchain})`,
        `  assets: pulse (hub), emo (emotionalchain), acoin (tenant-a), bcoin (tenant-b)`,
        `  Ctrl-C stops every process; the next start continues the same chains (data in ${dir})`,
        '',
        'try (in another terminal):',
        `  ${cli} keys new bob`,
        `  ${cli} tx send --from demo --to <bob-address> --amount 1.5`,
        `  ${cli} proof tx <tx-hash>`,
        `  ${cli} transfer --from-network tenant-a --to-network hub --to ${demo.hub} --amount 1000 --asset acoin --wait`,
        `  ${cli} transfer --from-network hub --to-network tenant-a --to ${demo['tenant-a']} --amount 400 --asset transfer/tenant-a/acoin --wait`,
        `  ${cli} mesh totals --origin tenant-a --asset acoin`,
        `  ${cli} --network emotionalchain query account ${demo.emotionalchain}`,
        `  curl ${v0.apiUrl}/v1/networks/emotionalchain/modules/emotion/validators`,
        '',
      ].join('\n'),
    )
  // The summary's last line: what a newcomer opens to see it working (served by the first node).
  if (!g().json) console.log(`Dashboard: ${v0.apiUrl}/`)
  // A heights line now and then, so a quiet devnet visibly lives.
  const ticker = setInterval(() => {
    net
      .status(0)
      .then((s) =>
        console.error(
          `[devnet] heights: ${Object.entries(s.heights)
            .map(([k, h]) => `${k} ${h}`)
            .join(', ')}; v0 peers ${s.peers.length}`,
        ),
      )
      .catch(() => {})
  }, 30_000)
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    clearInterval(ticker)
    console.error('stopping every devnet process…')
    await net.stop()
    console.error('stopped')
    process.exit(0)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  for (const m of net.members)
    m.child?.on('exit', (code, signal) => {
      if (!stopping) console.error(`[${m.name}] exited (${signal ?? code}); the others keep running`)
    })
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
  .requiredOption('--amount <amount>', 'amount in whole units of the asset (e.g. 1.5)')
  .option('--base-units', '--amount is in base units')
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
        baseUnits?: boolean
        asset?: string
        fee?: string
        memo: string
        wait: boolean
      }) => {
        const st = await client().status(g().network)
        const to = parseAccount(o.to, st.params.addressPrefix)
        const asset = o.asset ?? st.params.feeAsset
        const payload = transferPayload(to, asset, amountOption(o, await assetDecimals(g().network, asset)))
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
