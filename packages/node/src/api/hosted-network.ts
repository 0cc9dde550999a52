import { PulseError } from '@pulsemesh/core'

/** The network `id` among those this node hosts, else PulseError UNKNOWN_NETWORK (404 on the API). */
export function hostedNetwork<N>(networks: ReadonlyMap<string, N>, id: string): N {
  const n = networks.get(id)
  if (n === undefined)
    throw new PulseError('UNKNOWN_NETWORK', `this node does not host network ${JSON.stringify(id)}`)
  return n
}
