/**
 * Decimals of a network's assets from the bank module's asset records (vouchers carry their
 * origin's decimals in theirs). Cached per network and asset: decimals never change once created.
 */
import { useEffect, useState } from 'react'
import { client } from './live.ts'

const cache = new Map<string, Promise<number>>()

export function assetDecimals(network: string, asset: string): Promise<number> {
  const k = `${network}\u0000${asset}`
  let p = cache.get(k)
  if (!p) {
    p = client
      .moduleQuery<{ decimals: number }>(network, 'bank', 'asset', { asset })
      .then((r) => r.result.decimals)
    // A failed lookup (node restarting) is retried next time instead of being remembered.
    p.catch(() => cache.delete(k))
    cache.set(k, p)
  }
  return p
}

/** Decimals of `assets` on `network`; undefined until all are known (or `error` set). */
export function useDecimals(
  network: string,
  assets: string[],
): { decimals?: Record<string, number>; error?: Error } {
  const key = assets.join(',')
  const [v, setV] = useState<{ key: string; decimals?: Record<string, number>; error?: Error }>({ key })
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `assets`
  useEffect(() => {
    let live = true
    Promise.all(assets.map((a) => assetDecimals(network, a))).then(
      (ds) => live && setV({ key, decimals: Object.fromEntries(assets.map((a, i) => [a, ds[i]!])) }),
      (error: Error) => live && setV({ key, error }),
    )
    return () => {
      live = false
    }
  }, [network, key])
  return v.key === key ? v : {}
}
