/**
 * Mesh commands of the `pulsemesh` CLI:
 *   network create <id> | update <id> | retire <id> | list   the hub's registry (--network hub)
 *   transfer --from-network A --to-network B --to <addr> --amount X --asset Y [--wait]
 *   relayer --from A --to B [--from-node url] [--to-node url] [--key relayer]
 *   mesh totals --origin A --asset Y           conservation: escrow on A vs vouchers elsewhere
 *   mesh clients | mesh misbehaviour           light clients (status) and fork evidence against one
 *   mesh devnet  (and `devnet --mesh`)         hub + EmotionalChain + two tenants in one node
 * Amounts are base units. Talks to node APIs through the SDK client.
 */
import { resolve } from 'node:path'
import { MESH_KIND, mesh, parseAccount } from '@pulsemesh/app'
import { fromHex } from '@pulsemesh/core'
import { PulseClient, type PulseStream } from '@pulsemesh/sdk'
import type { Command } from 'commander'
import { amountOption, formatAmount } from './amount.ts'
import { cliContext } from './context.ts'
import { Keystore } from '../keys/keystore.ts'
import { encodeMesh } from '../mesh/devnet-deps.ts'
import { runMeshDevnet } from '../mesh/devnet.ts'
import { HttpEndpoint } from '../mesh/endpoint.ts'
import { Relayer } from '../mesh/relayer.ts'

/** `success` or the error code of an acknowledgement (hex of its SSZ bytes). */
const ackText = (hex: string | null) => {
  if (hex === null) return 'pending'
  const a = mesh.decodeAck(fromHex(hex))
  return a.success ? 'success' : `error ${a.error}`
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function registerMeshCommands(program: Command): void {
  const { g, out, fail, act, assetDecimals } = cliContext(program)
  const keyOf = (name: string) => {
    const k = new Keystore(g().home).load(name)
    return { secretKey: k.secret, publicKey: k.publicKey }
  }
  const endpoint = (node: string, network: string, key: string) =>
    new HttpEndpoint(new PulseClient({ baseUrl: node }), network, keyOf(key))
  /** Submits a mesh tx and waits for its result; exits 1 if it failed in its block. */
  const submit = async (node: string, network: string, from: string, kind: number, payload: Uint8Array) => {
    const hash = await endpoint(node, network, from).submit(kind, payload)
    const r = await new PulseClient({ baseUrl: node }).waitForTx(network, hash)
    const err = r.result?.ok === false ? (r.result.error ?? 'FAILED') : ''
    if (err) throw Object.assign(new Error(`tx ${hash} failed: ${err}`), { code: err })
    return { hash, tx: r }
  }
  /** `submit` of the mesh tx `kind` with its payload fields (the kind picks the encoding). */
  const submitMesh = (network: string, from: string, kind: number, fields: unknown) =>
    submit(g().node, network, from, kind, encodeMesh(kind, fields))

  const parseValidators = (vs: string[]) =>
    vs.map((s) => {
      const [k, p] = s.split(':')
      if (!/^[0-9a-fA-F]{64}$/.test(k ?? '')) throw new Error(`bad validator key ${k}`)
      return { publicKey: fromHex(k!), power: BigInt(p ?? '10') }
    })

  // ------------------------------------------------------------------ registry
  const network = program.command('network').description("the hub's network registry")
  network
    .command('create <id>')
    .description(
      'register a tenant network (hub): consensus profile, validators, native asset, block interval',
    )
    .requiredOption('--from <key>', 'signing key (becomes the owner)')
    .requiredOption('--native <asset>', 'native asset id')
    // Commander makes an option repeatable only with a word character before "...>" (the former
    // "<hex[:power]...>" took one string, and parseValidators failed on it).
    .requiredOption(
      '--validator <key:power...>',
      'initial validators: ed25519 consensus key hex, optional :power (10)',
    )
    .option('--profile <bft|poe>', 'consensus profile', 'bft')
    .option('--block-interval <ms>', 'block interval', '1000')
    .option('--policy <text>', 'compliance policy (placeholder)', '')
    .action(
      act(
        async (
          id: string,
          o: {
            from: string
            native: string
            validator: string[]
            profile: string
            blockInterval: string
            policy: string
          },
        ) => {
          const validators = parseValidators(o.validator)
          const r = await submitMesh(g().network, o.from, MESH_KIND.networkCreate, {
            id,
            profile: o.profile,
            validators,
            nativeAsset: o.native,
            blockIntervalMs: Number(o.blockInterval),
            compliancePolicy: o.policy,
          })
          out(`network ${id} registered on ${g().network} (tx ${r.hash})`, { network: id, tx: r.hash })
        },
      ),
    )
  network
    .command('update <id>')
    .description('change a network: validator set, block interval, policy (owner only; hosts apply it)')
    .requiredOption('--from <key>', 'owner key')
    .requiredOption('--validator <key:power...>', 'the new validator set: key hex, optional :power (10)')
    .option('--block-interval <ms>', 'block interval', '1000')
    .option('--policy <text>', 'compliance policy (placeholder)', '')
    .action(
      act(
        async (
          id: string,
          o: { from: string; validator: string[]; blockInterval: string; policy: string },
        ) => {
          const r = await submitMesh(g().network, o.from, MESH_KIND.networkUpdate, {
            id,
            validators: parseValidators(o.validator),
            blockIntervalMs: Number(o.blockInterval),
            compliancePolicy: o.policy,
          })
          out(`network ${id} updated on ${g().network} (tx ${r.hash}); relayers carry it to ${id}`, {
            network: id,
            tx: r.hash,
          })
        },
      ),
    )
  network
    .command('retire <id>')
    .description('retire a network (owner only): hosting nodes stop it, data is kept')
    .requiredOption('--from <key>', 'owner key')
    .action(
      act(async (id: string, o: { from: string }) => {
        const r = await submitMesh(g().network, o.from, MESH_KIND.networkRetire, { id })
        out(`network ${id} retired on ${g().network} (tx ${r.hash})`, { network: id, tx: r.hash })
      }),
    )
  network
    .command('list')
    .description('networks in the registry')
    .action(
      act(async () => {
        const r = await endpoint(g().node, g().network, 'demo').query<
          {
            id: string
            profile: string
            nativeAsset: string
            blockIntervalMs: number
            status: string
            validators: unknown[]
          }[]
        >('networks')
        out(
          r.length === 0
            ? 'no networks registered'
            : r
                .map(
                  (n) =>
                    `${n.id.padEnd(20)} ${n.profile.padEnd(4)} ${n.nativeAsset.padEnd(10)} ${String(n.blockIntervalMs).padStart(6)} ms  ${n.validators.length} validators  ${n.status}`,
                )
                .join('\n'),
          r,
        )
      }),
    )

  // ------------------------------------------------------------------ transfer
  program
    .command('transfer')
    .description('send an asset to another network (escrow or burn here, voucher or release there)')
    .requiredOption('--from-network <id>', 'source network')
    .requiredOption('--to-network <id>', 'destination network')
    .requiredOption('--to <address>', 'receiver on the destination')
    .requiredOption('--amount <n>', 'amount in whole units of the asset (e.g. 2.5)')
    .option('--base-units', '--amount is in base units')
    .requiredOption('--asset <id>', 'asset (native id or voucher trace transfer/<network>/<denom>)')
    .option('--from <key>', 'signing key', 'demo')
    .option('--to-node <url>', 'API of a node hosting the destination (default --node)')
    .option('--timeout-blocks <n>', 'destination blocks before the transfer times out', '1000')
    .option('--wait', 'wait until the destination credited the receiver')
    .action(
      act(
        async (o: {
          fromNetwork: string
          toNetwork: string
          to: string
          amount: string
          baseUnits?: boolean
          asset: string
          from: string
          toNode?: string
          timeoutBlocks: string
          wait?: boolean
        }) => {
          const dst = new PulseClient({ baseUrl: o.toNode ?? g().node })
          const dstStatus = await dst.status(o.toNetwork)
          const receiver = parseAccount(o.to, dstStatus.params.addressPrefix)
          // Vouchers carry the origin's decimals, so one formatting rule fits both sides.
          const decimals = await assetDecimals(o.fromNetwork, o.asset)
          const amount = amountOption(o, decimals)
          const payload = encodeMesh(MESH_KIND.transfer, {
            destNetwork: o.toNetwork,
            asset: o.asset,
            amount,
            receiver,
            timeoutHeight: BigInt(dstStatus.height) + BigInt(o.timeoutBlocks),
            timeoutTimeMs: 0n,
          })
          const home = `transfer/${o.toNetwork}/`
          const landing = o.asset.startsWith(home)
            ? o.asset.slice(home.length)
            : `transfer/${o.fromNetwork}/${o.asset}`
          const before = BigInt((await dst.balances(o.toNetwork, o.to)).balances[landing] ?? '0')
          const r = await submit(g().node, o.fromNetwork, o.from, MESH_KIND.transfer, payload)
          const shown = (v: string | bigint) => `${formatAmount(BigInt(v), decimals)} (${v} base units)`
          const ev = JSON.stringify(r.tx)
          const seq = /"key":"sequence","value":"(\d+)"/.exec(ev)?.[1]
          let credited: string | undefined
          if (o.wait) {
            const end = Date.now() + 60_000
            while (Date.now() < end) {
              const now = BigInt((await dst.balances(o.toNetwork, o.to)).balances[landing] ?? '0')
              if (now > before) {
                credited = now.toString()
                break
              }
              await sleep(200)
            }
            if (credited === undefined)
              throw new Error('timed out waiting for the destination (is a relayer running?)')
          }
          const receipt = seq
            ? await endpoint(o.toNode ?? g().node, o.toNetwork, o.from).query<{
                received: boolean
                ack: string | null
              }>('receipt', { source: o.fromNetwork, seq })
            : undefined
          out(
            [
              `packet ${o.fromNetwork}#${seq ?? '?'} -> ${o.toNetwork}: ${shown(amount)} ${o.asset} (tx ${r.hash})`,
              credited !== undefined
                ? `  delivered: state proof of the packet verified by ${o.toNetwork}'s light client of ${o.fromNetwork}; ${o.to} now holds ${shown(credited)} ${landing}`
                : `  submitted; a relayer delivers it with a state proof (use --wait to follow)`,
              receipt?.received
                ? `  receipt on ${o.toNetwork}: received; acknowledgement ${ackText(receipt.ack)}`
                : '',
            ]
              .filter(Boolean)
              .join('\n'),
            { tx: r.hash, sequence: seq, landingDenom: landing, decimals, credited, receipt },
          )
        },
      ),
    )

  // ------------------------------------------------------------------ relayer
  program
    .command('relayer')
    .description('relay packets, acknowledgements and timeouts between two networks (node APIs)')
    .requiredOption('--from <network>', 'one network')
    .requiredOption('--to <network>', 'the other network')
    .option('--from-node <url>', 'API of a node hosting --from (default --node)')
    .option('--to-node <url>', 'API of a node hosting --to (default --node)')
    .option('--key <name>', 'relayer key (pays fees on both networks)', 'relayer')
    .option('--interval <ms>', 'pause between passes when polling (a node without a WebSocket feed)', '500')
    .action(
      act(
        async (o: {
          from: string
          to: string
          fromNode?: string
          toNode?: string
          key: string
          interval: string
        }) => {
          // A pass per block of either network through each node's /v1/ws block feed; a node
          // whose feed cannot be opened is polled every --interval ms instead.
          const feeds = new Map<string, PulseStream | undefined>()
          const feedOf = async (url: string) => {
            if (!feeds.has(url)) {
              const s = new PulseClient({ baseUrl: url }).stream()
              s.onError = (e) => console.error(`block feed ${url}: ${e.message}`)
              try {
                await s.connect()
                feeds.set(url, s)
              } catch (e) {
                console.error(`no block feed at ${url} (${(e as Error).message}): polling`)
                feeds.set(url, undefined)
              }
            }
            return feeds.get(url)
          }
          const fromNode = o.fromNode ?? g().node
          const toNode = o.toNode ?? g().node
          const r = new Relayer(
            new HttpEndpoint(
              new PulseClient({ baseUrl: fromNode }),
              o.from,
              keyOf(o.key),
              await feedOf(fromNode),
            ),
            new HttpEndpoint(new PulseClient({ baseUrl: toNode }), o.to, keyOf(o.key), await feedOf(toNode)),
            {
              intervalMs: Number(o.interval),
              log: (m) => console.error(m),
            },
          )
          r.start()
          console.error(
            `relaying ${o.from} <-> ${o.to} ${r.eventDriven ? 'on every block' : `every ${o.interval} ms`} (Ctrl-C to stop)`,
          )
          const timer = setInterval(() => console.error(JSON.stringify(r.stats)), 10_000)
          const stop = async () => {
            clearInterval(timer)
            await r.stop()
            for (const f of feeds.values()) f?.close()
            process.exit(0)
          }
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
          await new Promise(() => {})
        },
      ),
    )

  // ------------------------------------------------------------------ mesh
  const meshCmd = program.command('mesh').description('mesh: multi-network devnet and conservation checks')
  meshCmd
    .command('totals')
    .description('escrowed on the origin vs vouchers outstanding on each other network')
    .requiredOption('--origin <network>', 'network the asset is native to')
    .requiredOption('--asset <id>', 'native asset id')
    .action(
      act(async (o: { origin: string; asset: string }) => {
        const c = new PulseClient({ baseUrl: g().node })
        const nets = (await c.networks()).networks.map((n) => n.id).filter((id) => id !== o.origin)
        const rows: { network: string; escrowed: string; vouchers: string; conserved: boolean }[] = []
        for (const id of nets) {
          const esc = await endpoint(g().node, o.origin, 'demo').query<{ amount: string }>('escrow', {
            network: id,
            asset: o.asset,
          })
          const { supply } = await endpoint(g().node, id, 'demo').query<{ supply: string }>('vouchers', {
            origin: o.origin,
            asset: o.asset,
          })
          rows.push({ network: id, escrowed: esc.amount, vouchers: supply, conserved: esc.amount === supply })
        }
        out(
          rows
            .map(
              (r) =>
                `${r.network.padEnd(16)} escrowed ${r.escrowed.padStart(12)}  vouchers ${r.vouchers.padStart(12)}  ${r.conserved ? 'OK' : 'IN FLIGHT / MISMATCH'}`,
            )
            .join('\n'),
          rows,
        )
      }),
    )
  meshCmd
    .command('clients')
    .description("this network's light clients of other networks (status active / frozen)")
    .action(
      act(async () => {
        const r = await endpoint(g().node, g().network, 'demo').query<
          { counterparty: string; latestHeight: string; status: string; frozenAt: string | null }[]
        >('clients')
        out(
          r.length === 0
            ? 'no light clients'
            : r
                .map(
                  (c) =>
                    `${c.counterparty.padEnd(20)} height ${c.latestHeight.padStart(8)}  ${c.status}${c.frozenAt ? ` (misbehaviour at ${c.frozenAt})` : ''}`,
                )
                .join('\n'),
          r,
        )
      }),
    )
  meshCmd
    .command('misbehaviour')
    .description(
      'submit evidence that a counterparty signed conflicting headers (freezes the light client on --network)',
    )
    .requiredOption('--counterparty <id>', 'the network whose validators misbehaved')
    .requiredOption('--header1 <hex>', 'SSZ header')
    .requiredOption('--commit1 <hex>', 'its commit certificate')
    .option('--header2 <hex>', 'conflicting header (absent: conflicts with what the client trusts)')
    .option('--commit2 <hex>', "the second header's commit")
    .option('--from <key>', 'signing key (anyone may submit)', 'demo')
    .action(
      act(
        async (o: {
          counterparty: string
          header1: string
          commit1: string
          header2?: string
          commit2?: string
          from: string
        }) => {
          const r = await submitMesh(g().network, o.from, MESH_KIND.misbehaviour, {
            counterparty: o.counterparty,
            header1: fromHex(o.header1),
            commit1: fromHex(o.commit1),
            validators1: [],
            header2: fromHex(o.header2 ?? ''),
            commit2: fromHex(o.commit2 ?? ''),
            validators2: [],
          })
          out(`client of ${o.counterparty} on ${g().network} frozen (tx ${r.hash})`, {
            counterparty: o.counterparty,
            tx: r.hash,
          })
        },
      ),
    )
  const devnetAction = async (o: { port: string; blockInterval?: string }) => {
    const home = resolve(program.getOptionValueSource('home') === 'default' ? '.data/mesh-devnet' : g().home)
    const d = await runMeshDevnet(home, {
      port: Number(o.port),
      // `devnet --mesh` shares the devnet command, whose --block-interval has no default
      blockIntervalMs: Number(o.blockInterval ?? 500),
      log: (m) => console.error(m),
    })
    const ids = [...d.host.networks.keys()]
    console.log(
      [
        '',
        `PulseMesh mesh devnet is running: ${ids.join(', ')} in one node (relayers hub <-> each)`,
        `  API:           ${d.url}/v1/networks`,
        `  demo account:  ${d.demoAddress} (key "demo" in ${home}/keys), funded on every network`,
        `  try:           npm run pulsemesh -- --home ${home} --node ${d.url} transfer --from-network tenant-a --to-network hub --to ${d.demoAddress} --amount 1000 --asset acoin --wait`,
        `                 npm run pulsemesh -- --home ${home} --node ${d.url} mesh totals --origin tenant-a --asset acoin`,
        '',
      ].join('\n'),
    )
    const stop = async () => {
      await d.stop()
      process.exit(0)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    await new Promise(() => {})
  }
  meshCmd
    .command('devnet')
    .description('hub + EmotionalChain + two tenant networks in one node, with relayers')
    .option('--port <n>', 'API port', '8645')
    .option('--block-interval <ms>', 'block interval', '500')
    .action(act(devnetAction))
  // `devnet --mesh`: the same, from the devnet command.
  const devnet = program.commands.find((c) => c.name() === 'devnet')
  if (devnet) {
    devnet.option('--mesh', 'hub + EmotionalChain + two tenant networks in one node (see `mesh devnet`)')
    devnet.hook('preAction', async (cmd) => {
      const o = cmd.opts<{ mesh?: boolean; port: string; blockInterval: string }>()
      if (o.mesh) await devnetAction(o).catch(fail)
    })
  }
}
