/**
 * Chain-core benchmark (issue: chain core).
 *  - the limit: raw Ed25519 verifies/s using every core (the worker pool, OpenSSL);
 *  - committed transfers/s on one node with LevelDB persistence (fsync per block), state roots,
 *    mempool admission and signature verification on the same pool, measured in the same run;
 *  - their ratio (target >= 0.7);
 *  - the state tree figures (updates/s, proof size) from bench/state-tree.bench.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { App, BANK_KIND, bankModule, type Genesis, genesisToJson } from '../packages/app/src/index.ts'
import { addressFromPublicKey, generateKeyPair, parseAddress } from '../packages/core/src/index.ts'
import { signTx, transferPayload } from '../packages/sdk/src/index.ts'
import { NetworkNode, type NetworkNodeOptions } from '../packages/node/src/chain/network-node.ts'
import { installNodeCrypto } from '../packages/node/src/crypto/node-backend.ts'
import { measureRawVerifyRate, VerifyPool } from '../packages/node/src/crypto/verify-pool.ts'
import { ChainStore } from '../packages/node/src/storage/chain-store.ts'
import { run as stateTreeRun } from './state-tree.bench.ts'

const ACCOUNTS = 2000
const TXS_PER_ACCOUNT = 15
const BLOCK_TXS = 5000

function key(i: number) {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, i + 1)
  return generateKeyPair('ed25519', seed)
}

/** Hooks around the timed phase (profilers attach here, so tx signing is not in the profile). */
export interface TimedHooks {
  start?: () => Promise<void> | void
  stop?: () => Promise<void> | void
}
export async function committedTpsForProfile(pool: VerifyPool, hooks: TimedHooks = {}) {
  return committedTps(pool, hooks)
}
/** The bench network (one validator, ACCOUNTS funded senders) and its pre-signed transfers. */
export function coreFixture() {
  const validator = key(1_000_000)
  const senders = Array.from({ length: ACCOUNTS }, (_, i) => key(i))
  const genesis: Genesis = {
    networkId: 'bench',
    genesisTimeMs: 1_700_000_000_000n,
    params: {
      networkId: 'bench',
      addressPrefix: 'pm',
      feeAsset: 'pulse',
      minFee: 1n,
      blockIntervalMs: 500,
      txLifetimeBlocksMax: 1000n,
      blockTxsMax: BLOCK_TXS,
      blockBytesMax: 8 << 20,
    },
    assets: [{ id: 'pulse', decimals: 6, maxSupply: 0n }],
    balances: senders.map((k) => ({
      address: addressFromPublicKey(k.publicKey, 'pm'),
      asset: 'pulse',
      amount: 10n ** 12n,
    })),
    validators: [{ name: 'v', publicKey: validator.publicKey.bytes, power: 1n }],
  }
  // Pre-signed before timing: signing is the clients' work, not the node's.
  const txs: Uint8Array[] = []
  for (let n = 0; n < TXS_PER_ACCOUNT; n++) {
    for (let i = 0; i < ACCOUNTS; i++) {
      const to = parseAddress(addressFromPublicKey(senders[(i + 1) % ACCOUNTS].publicKey, 'pm')).bytes
      const k = senders[i]
      txs.push(
        signTx(
          { scheme: 'ed25519', publicKey: k.publicKey, secret: k.secretKey },
          { networkId: 'bench', nonce: BigInt(n), fee: 1n, expiresAt: 900n },
          BANK_KIND.transfer,
          transferPayload(to, 'pulse', 1n),
        ).bytes,
      )
    }
  }
  return { genesis, validator, txs }
}

/** A fresh node on a temp LevelDB for the fixture's genesis; `close` removes it. */
export async function openCoreNode(
  f: ReturnType<typeof coreFixture>,
  pool: NetworkNodeOptions['verifyPool'],
) {
  const dir = mkdtempSync(join(os.tmpdir(), 'pm-bench-core-'))
  const store = await ChainStore.open(join(dir, 'data'))
  const node = await NetworkNode.open({
    app: new App(f.genesis.params, [bankModule]),
    genesis: f.genesis,
    genesisJson: JSON.stringify(genesisToJson(f.genesis)),
    store: store.network('bench'),
    verifyPool: pool,
    validatorKey: { seed: f.validator.secretKey, publicKey: f.validator.publicKey.bytes },
  })
  return {
    node,
    async close() {
      await node.idle()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function committedTps(pool: VerifyPool, hooks: TimedHooks = {}) {
  const f = coreFixture()
  const { txs } = f
  const { node, close } = await openCoreNode(f, pool)
  await hooks.start?.()
  const t0 = performance.now()
  let committed = 0
  let blocks = 0
  let submitted = 0
  let rejected = 0
  let produceMs = 0
  const cpu0 = process.cpuUsage()
  const thread0 = process.threadCpuUsage()
  const submitter = (async () => {
    // In nonce order, in windows, as many clients would: admission verifies on the pool.
    const WINDOW = 2000
    for (let i = 0; i < txs.length; i += WINDOW) {
      const rs = await Promise.allSettled(txs.slice(i, i + WINDOW).map((b) => node.submitTx(b)))
      for (const r of rs) r.status === 'fulfilled' ? submitted++ : rejected++
    }
  })()
  let done = false
  // The producer sleeps until a tx is admitted (or the submitter is done) instead of polling
  // with setImmediate, which cost the main thread ~3% of its time in profiles.
  let wake: (() => void) | undefined
  const onTx = () => {
    wake?.()
    wake = undefined
  }
  node.on('tx', onTx)
  submitter.then(() => {
    done = true
    onTx()
  })
  while (!done || node.mempool.size > 0) {
    if (node.mempool.size === 0) {
      await new Promise<void>((r) => {
        wake = r
      })
      continue
    }
    const tb = performance.now()
    const b = await node.produceBlock()
    produceMs += performance.now() - tb
    committed += b.txHashes.length
    blocks++
  }
  node.off('tx', onTx)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const thread = process.threadCpuUsage(thread0)
  await hooks.stop?.()
  await close()
  return {
    txs: txs.length,
    submitted,
    rejected,
    committed,
    blocks,
    seconds: Number(seconds.toFixed(2)),
    committedTps: Math.round(committed / seconds),
    /** Where the time goes: block production (execute, roots, fsynced write) vs the rest (admission). */
    produceSeconds: Number((produceMs / 1000).toFixed(2)),
    /** The main thread alone (admission, execution, roots, storage calls): what the workers do not do. */
    mainThreadCpuSeconds: Number(((thread.user + thread.system) / 1e6).toFixed(2)),
    mainThreadCpuUsPerTx: Math.round((thread.user + thread.system) / committed),
    /** Every thread of the process (verify workers, LevelDB, GC helpers included). */
    processCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  }
}

export async function run(): Promise<Record<string, unknown>> {
  installNodeCrypto()
  const pool = new VerifyPool()
  try {
    const raw = await measureRawVerifyRate(pool, 60_000)
    const rawVerifiesPerSecAllCores = raw.verifiesPerSecond
    const tps = await committedTps(pool)
    const stateTree = await stateTreeRun()
    return {
      limit: { rawEd25519VerifiesPerSecAllCores: rawVerifiesPerSecAllCores },
      node: tps,
      ratioCommittedTpsToRawVerifies: Number((tps.committedTps / rawVerifiesPerSecAllCores).toFixed(3)),
      target: 0.7,
      stateTree,
    }
  } finally {
    await pool.close()
  }
}
