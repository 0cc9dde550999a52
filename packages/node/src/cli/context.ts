/**
 * What every group of `pulsemesh` commands shares: the global options, output in human or `--json`
 * form, one error path (a line with the stable code, exit 1), the API client, and signing +
 * submitting a tx from a keystore key.
 */
import { addressFromPublicKey, isPulseError } from '@pulsemesh/core'
import { type NetworkStatus, PulseClient, signTx, type TxResponse } from '@pulsemesh/sdk'
import type { Command } from 'commander'
import { Keystore } from '../keys/keystore.ts'

export type Globals = { home: string; node: string; network: string; json?: boolean }

export interface SubmitOptions {
  /** Wait for the tx's block (default true). */
  wait?: boolean
  /** Default: the account's next nonce from the node. */
  nonce?: bigint
  /** Default: the network's minimum fee. */
  fee?: bigint
  memo?: string
  /** The network's status, when the caller already fetched it. */
  status?: NetworkStatus
}
export interface SubmitResult {
  hash: string
  /** false when the tx failed in its block; true while unwaited. */
  ok: boolean
  error: string
  height: string
  /** The committed tx (when waited), else the node's submit answer. */
  response: TxResponse | { hash: string; status: string }
}

export function cliContext(program: Command) {
  const g = (): Globals => program.opts<Globals>()
  const client = () => new PulseClient({ baseUrl: g().node })
  const out = (human: string, json: unknown): void => {
    if (g().json) console.log(JSON.stringify(json, null, 2))
    else console.log(human)
  }
  const fail = (e: unknown): never => {
    const code = isPulseError(e) ? e.code : ((e as { code?: string }).code ?? 'ERROR')
    const msg = e instanceof Error ? e.message : String(e)
    if (g().json) console.log(JSON.stringify({ error: code, message: msg }))
    else console.error(`error: ${msg} (${code})`)
    process.exit(1)
  }
  const act =
    <A extends unknown[]>(fn: (...a: A) => Promise<void>) =>
    (...a: A) =>
      fn(...a).catch(fail)

  /** Signs one tx with keystore key `from` (expires 100 blocks ahead), submits it, and by default waits for its block. */
  const submit = async (
    from: string,
    kind: number,
    payload: Uint8Array,
    o: SubmitOptions = {},
  ): Promise<SubmitResult> => {
    const c = client()
    const net = g().network
    const st = o.status ?? (await c.status(net))
    const key = new Keystore(g().home).load(from)
    const addr = addressFromPublicKey(key.publicKey, st.params.addressPrefix)
    const signed = signTx(
      { scheme: key.scheme, publicKey: key.publicKey, secret: key.secret },
      {
        networkId: net,
        nonce: o.nonce ?? BigInt((await c.account(net, addr)).nextNonce),
        fee: o.fee ?? BigInt(st.params.minFee),
        expiresAt: BigInt(st.height) + 100n,
        memo: o.memo,
      },
      kind,
      payload,
    )
    const r = await c.submitTx(net, signed.bytes)
    if (o.wait === false) return { hash: r.hash, ok: true, error: '', height: '', response: r }
    const done = await c.waitForTx(net, r.hash)
    return {
      hash: r.hash,
      ok: done.result?.ok ?? false,
      error: done.result?.error ?? '',
      height: done.height ?? '',
      response: done,
    }
  }

  /** The asset's decimals on `network` (its bank record; vouchers carry their origin's decimals). */
  const assetDecimals = async (network: string, asset: string): Promise<number> =>
    (
      await client().request<{ result: { decimals: number } }>(
        'GET',
        `/v1/networks/${encodeURIComponent(network)}/modules/bank/asset?asset=${encodeURIComponent(asset)}`,
      )
    ).result.decimals

  return { g, client, out, fail, act, submit, assetDecimals }
}
