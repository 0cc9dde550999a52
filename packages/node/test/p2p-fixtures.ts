/** Shared setup of the libp2p host tests: a P2PNode on a free 127.0.0.1 port, and a bounded poll. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type P2PConfig, P2PNode } from '../src/p2p/p2p-node.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A host with a fresh key listening on 127.0.0.1 (tcp, any port); `config` overrides the defaults. */
export async function startTestNode(
  bootstrap: string[] = [],
  config: Partial<P2PConfig> = {},
): Promise<P2PNode> {
  return P2PNode.start({
    privateKey: await generateKeyPair('Ed25519'),
    config: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, redialMaxMs: 1000, ...config },
    topics: [],
  })
}

/** Polls `ok` every 100 ms, at most `polls` times (bounded by polls, not a deadline). */
export async function until(what: string, ok: () => boolean, polls = 300): Promise<void> {
  for (let i = 0; i < polls; i++) {
    if (ok()) return
    await sleep(100)
  }
  throw new Error(`timed out: ${what}`)
}
