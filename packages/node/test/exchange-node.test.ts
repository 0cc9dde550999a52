/**
 * The exchange module inside a real NetworkNode: LevelDB persistence, the authenticated state tree
 * (the book is provable against the state root) and a restart that rebuilds the book from state.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { join } from 'node:path'
import { App, bankModule, exchange, exchangeModule, genesisToJson, getBalance } from '@pulsemesh/app'
import { equalBytes, parseAddress, verifyStateProof } from '@pulsemesh/core'
import { NetworkNode } from '../src/chain/network-node.ts'
import { ChainStore } from '../src/storage/chain-store.ts'
import { signed } from '../../app/test/helpers.ts'
import { inlineVerifier, keyFromByte, makeGenesis, tempDir, validator } from './fixtures.ts'

const alice = keyFromByte(1)
const bob = keyFromByte(2)
const genesis = makeGenesis([alice, bob])
const t = tempDir()
after(t.cleanup)
const { EXCHANGE_KIND: K, codec } = exchange
const nonces = new Map<string, bigint>()
const tx = (k: typeof alice, kind: number, payload: Uint8Array) => {
  const n = nonces.get(k.address) ?? 0n
  nonces.set(k.address, n + 1n)
  return signed(k, { kind, payload, nonce: n, expiresAt: 50n }).bytes
}
const place = (k: typeof alice, side: 'buy' | 'sell', price: bigint, size: bigint) =>
  tx(
    k,
    K.place,
    codec.place.encode({ market: 'gold:pulse', side, type: 'limit', price, size, stp: 'cancel-newest' }),
  )

async function open() {
  const store = await ChainStore.open(join(t.dir, 'data'))
  const node = await NetworkNode.open({
    app: new App(genesis.params, [bankModule, exchangeModule]),
    genesis,
    genesisJson: JSON.stringify(genesisToJson(genesis)),
    store: store.network(genesis.networkId),
    verifyPool: inlineVerifier,
    validatorKey: { seed: validator.secretKey, publicKey: validator.publicKey.bytes },
  })
  return { store, node }
}
const q = (node: NetworkNode, name: string, args: Record<string, string>) =>
  node.app.query(node.state, 'exchange', name, args, { params: genesis.params, height: node.height }) as never

test('orders persist in the state tree, the book is provable, a restart rebuilds it', async () => {
  let { store, node } = await open()
  await node.submitTx(
    tx(
      alice,
      K.createMarket,
      codec.createMarket.encode({
        base: 'gold',
        quote: 'pulse',
        tickSize: 1n,
        lotSize: 1n,
        mode: 'continuous',
        maxPrice: 0n,
        maxLots: 0n,
      }),
    ),
  )
  await node.produceBlock()
  await node.submitTx(place(alice, 'sell', 100n, 10n))
  await node.submitTx(place(alice, 'sell', 101n, 10n))
  await node.produceBlock()
  const book = q(node, 'book', { market: 'gold:pulse' }) as { asks: { price: string; lots: string }[] }
  assert.deepEqual(book.asks, [
    { price: '100', lots: '10' },
    { price: '101', lots: '10' },
  ])
  // the book's key is in the authenticated state: a proof against the state root shows it
  const p = await node.proveState(exchange.KEYS.book('gold:pulse'))
  assert.ok(p.value !== null)
  assert.ok(verifyStateProof(p.stateRoot, exchange.KEYS.book('gold:pulse'), p.value, p.proof))
  assert.ok(equalBytes(p.stateRoot, node.stateRoot()))
  await store.close()

  // restart with a cold cache: the book comes back from state and trades
  exchange.clearBookCache()
  ;({ store, node } = await open())
  await node.submitTx(place(bob, 'buy', 101n, 15n))
  await node.produceBlock()
  const bobId = parseAddress(bob.address).bytes
  assert.equal(getBalance(node.state, bobId, 'gold'), 1000n + 15n)
  const after = q(node, 'book', { market: 'gold:pulse' }) as { asks: { price: string; lots: string }[] }
  assert.deepEqual(after.asks, [{ price: '101', lots: '5' }])
  assert.equal(getBalance(node.state, exchange.ESCROW, 'gold'), 5n)
  await store.close()
})
