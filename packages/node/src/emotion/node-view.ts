/** The agent's view of an in-process NetworkNode (a remote node would implement it over the SDK). */
import { getDevice } from '@pulsemesh/app'
import type { NetworkNode } from '../chain/network-node.ts'
import type { AgentChainView } from './agent.ts'

export function nodeChainView(node: NetworkNode): AgentChainView {
  return {
    head: async () => ({ height: node.height, hash: node.headHash }),
    nextNonce: async (account) => node.nextNonce(account),
    submit: async (tx) => {
      await node.submitTx(tx)
    },
    deviceRegistered: async (id) => getDevice(node.state, id) !== undefined,
  }
}
