/**
 * Load generator of the network bench, in its own process (forked by network.bench.ts) so signing
 * and HTTP work do not run on the benchmark's event loop. It signs transfers of its senders and
 * submits them with the batch route (POST /txs/batch, length-prefixed). Sender i always goes to
 * validator i % 4, and batches to one validator are sent one after the other, so a sender's nonces
 * arrive in order. Times are epoch milliseconds (performance.timeOrigin + now) so the parent can
 * compare them with the times it sees blocks.
 *
 * Messages from the parent:
 *  - {type:'init', apis, network, to, senders, seedBase}
 *  - {type:'saturate', txsPerSender, batchTxs} -> {type:'done', hashes, startAt, endAt, refused}
 *  - {type:'rate', tps, seconds, batchMs} -> {type:'done', items:[hash, scheduledAt][], refused, lagMs}
 *  - {type:'burst', count, skipValidator} -> {type:'done', refused}
 */
import { parseAccount } from '@pulsemesh/app'
import { addressFromPublicKey, encodeFrames, generateKeyPair, type KeyPair } from '@pulsemesh/core'
import { installNodeCrypto } from '@pulsemesh/node/crypto/node-backend.ts'
import { signTx, transferPayload } from '@pulsemesh/sdk'

installNodeCrypto()
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let apis: string[] = []
let network = ''
let to: Uint8Array = new Uint8Array()
const senders: (KeyPair & { address: string; nonce: bigint })[] = []

function sign(i: number): { bytes: Uint8Array; hash: string } {
  const s = senders[i]
  return signTx(
    { scheme: 'ed25519', publicKey: s.publicKey, secret: s.secretKey },
    { networkId: network, nonce: s.nonce++, fee: 1000n, expiresAt: 5_000n, memo: '' },
    0x0101,
    transferPayload(to, 'pulse', 1n),
  )
}

/** POSTs one batch; returns how many txs the node refused (a failed request refuses all). */
async function post(v: number, txs: Uint8Array[]): Promise<number> {
  for (let k = 0; ; k++) {
    try {
      const r = await fetch(`${apis[v]}/v1/networks/${network}/txs/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: encodeFrames(txs),
      })
      const body = (await r.json()) as { rejected?: number }
      return r.ok ? (body.rejected ?? 0) : txs.length
    } catch (e) {
      // A keep-alive socket closed under load: retry (the node saw nothing, or duplicates are refused).
      if (k >= 4) throw e
      await sleep(50 * 2 ** k)
    }
  }
}

/**
 * One request in flight per validator: txs queued while it runs go out together in the next
 * request (up to the route's 2,048), so a slow answer delays txs instead of piling up requests,
 * and a sender's nonces reach its validator in order.
 */
class Lanes {
  private readonly queued: Uint8Array[][]
  private readonly busy: boolean[]
  private readonly idle: (() => void)[] = []
  refused = 0
  constructor(n: number) {
    this.queued = Array.from({ length: n }, () => [])
    this.busy = new Array(n).fill(false)
  }
  send(v: number, txs: Uint8Array[]): void {
    this.queued[v].push(...txs)
    if (!this.busy[v]) void this.pump(v)
  }
  private async pump(v: number): Promise<void> {
    this.busy[v] = true
    while (this.queued[v].length > 0) {
      const txs = this.queued[v].splice(0, 2048)
      const refused = await post(v, txs)
      this.refused += refused
    }
    this.busy[v] = false
    if (this.busy.every((b) => !b)) for (const f of this.idle.splice(0)) f()
  }
  drain(): Promise<void> {
    if (this.busy.every((b) => !b)) return Promise.resolve()
    return new Promise((r) => this.idle.push(r))
  }
}

process.on('message', async (m: Record<string, unknown>) => {
  const reply = (x: unknown) => process.send!(x)
  switch (m.type) {
    case 'init': {
      apis = m.apis as string[]
      network = m.network as string
      to = parseAccount(m.to as string, 'pm')
      for (let i = 0; i < (m.senders as number); i++) {
        const seed = new Uint8Array(32)
        new DataView(seed.buffer).setUint32(0, (m.seedBase as number) + i)
        const kp = generateKeyPair('ed25519', seed)
        senders.push({ ...kp, address: addressFromPublicKey(kp.publicKey, 'pm'), nonce: 0n })
      }
      reply({ type: 'done', addresses: senders.map((s) => s.address) })
      return
    }
    case 'saturate': {
      // Everything is signed before the clock starts: the bench measures the validators.
      const n = apis.length
      const perSender = m.txsPerSender as number
      const batchTxs = m.batchTxs as number
      const queues: Uint8Array[][] = Array.from({ length: n }, () => [])
      const hashes: string[] = []
      for (let k = 0; k < perSender; k++)
        for (let i = 0; i < senders.length; i++) {
          const t = sign(i)
          queues[i % n].push(t.bytes)
          hashes.push(t.hash)
        }
      const lanes = new Lanes(n)
      const startAt = now()
      for (let v = 0; v < n; v++)
        for (let o = 0; o < queues[v].length; o += batchTxs) lanes.send(v, queues[v].slice(o, o + batchTxs))
      await lanes.drain()
      reply({ type: 'done', hashes, startAt, endAt: now(), refused: lanes.refused })
      return
    }
    case 'rate': {
      // Open loop: batch k is due at start + k * batchMs and carries exactly its share of the rate;
      // latency counts from that due time, so a lagging sender cannot hide queueing.
      const n = apis.length
      const tps = m.tps as number
      const batchMs = m.batchMs as number
      const total = Math.round(tps * (m.seconds as number))
      const items: [string, number][] = []
      const lanes = new Lanes(n)
      const start = now() + 50
      let sent = 0
      let next = 0
      let lagMax = 0
      for (let k = 0; sent < total; k++) {
        const due = start + k * batchMs
        const wait = due - now()
        if (wait > 0) await sleep(wait)
        lagMax = Math.max(lagMax, now() - due)
        const count = Math.min(total, Math.round(((k + 1) * batchMs * tps) / 1000)) - sent
        const perV: Uint8Array[][] = Array.from({ length: n }, () => [])
        for (let j = 0; j < count; j++) {
          const i = next
          next = (next + 1) % senders.length
          const t = sign(i)
          perV[i % n].push(t.bytes)
          items.push([t.hash, due])
        }
        sent += count
        for (let v = 0; v < n; v++) if (perV[v].length > 0) lanes.send(v, perV[v])
      }
      const endAt = now()
      await lanes.drain()
      reply({
        type: 'done',
        items,
        refused: lanes.refused,
        lagMaxMs: lagMax,
        seconds: (endAt - start) / 1000,
      })
      return
    }
    case 'burst': {
      const n = apis.length
      const skip = m.skipValidator as number
      const perV: Uint8Array[][] = Array.from({ length: n }, () => [])
      for (let k = 0; k < (m.count as number); k++) {
        const i = k % senders.length
        if (i % n === skip) continue
        perV[i % n].push(sign(i).bytes)
      }
      const lanes = new Lanes(n)
      for (let v = 0; v < n; v++)
        for (let o = 0; o < perV[v].length; o += 256) lanes.send(v, perV[v].slice(o, o + 256))
      await lanes.drain()
      reply({ type: 'done', refused: lanes.refused })
      return
    }
    case 'exit':
      process.exit(0)
  }
})
