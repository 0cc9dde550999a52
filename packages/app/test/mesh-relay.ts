/** Test relayer over SimNetworks: the same steps the node relayer takes, in-process. */
import { toHex } from '@pulsemesh/core'
import { mesh } from '../src/index.ts'
import type { TestKey } from './helpers.ts'
import { MESH_KIND, type SimNetwork } from './mesh-harness.ts'

const { encodePacket, MESH_KEYS } = mesh
const kinds = mesh.createMeshModule().txKinds
const enc = (kind: number, p: unknown) => kinds.find((k) => k.kind === kind)!.encode(p)

export function createClientTx(on: SimNetwork, of: SimNetwork, key: TestKey, trustPeriodMs = 3_600_000n) {
  const c = of.certified()
  return on.tx(
    key,
    MESH_KIND.clientCreate,
    enc(MESH_KIND.clientCreate, {
      counterparty: of.id,
      header: c.header,
      commit: c.commit,
      validators: of.validatorEntries,
      trustPeriodMs,
    }),
  )
}
export function updateClientTx(on: SimNetwork, of: SimNetwork, key: TestKey, withValidators = false) {
  const c = of.certified()
  return on.tx(
    key,
    MESH_KIND.clientUpdate,
    enc(MESH_KIND.clientUpdate, {
      counterparty: of.id,
      header: c.header,
      commit: c.commit,
      validators: withValidators ? of.validatorEntries : [],
    }),
  )
}
export function transferTx(
  on: SimNetwork,
  key: TestKey,
  o: {
    to: string
    asset: string
    amount: bigint
    receiver: Uint8Array
    timeoutHeight?: bigint
    timeoutTimeMs?: bigint
  },
) {
  return on.tx(
    key,
    MESH_KIND.transfer,
    enc(MESH_KIND.transfer, {
      destNetwork: o.to,
      asset: o.asset,
      amount: o.amount,
      receiver: o.receiver,
      timeoutHeight: o.timeoutHeight ?? 1000n,
      timeoutTimeMs: o.timeoutTimeMs ?? 0n,
    }),
  )
}
export function recvTx(
  dst: SimNetwork,
  src: SimNetwork,
  key: TestKey,
  p: mesh.Packet,
  proofHeight?: bigint,
  packetBytes?: Uint8Array,
) {
  const pr = src.prove(MESH_KEYS.packet(p.sourceNetwork, p.destNetwork, p.sequence))
  return dst.tx(
    key,
    MESH_KIND.recvPacket,
    enc(MESH_KIND.recvPacket, {
      packet: packetBytes ?? encodePacket(p),
      proofHeight: proofHeight ?? pr.height,
      proof: pr.proof,
    }),
  )
}
export function ackTx(src: SimNetwork, dst: SimNetwork, key: TestKey, p: mesh.Packet) {
  const pr = dst.prove(MESH_KEYS.ack(p.sourceNetwork, p.destNetwork, p.sequence))
  return src.tx(
    key,
    MESH_KIND.acknowledge,
    enc(MESH_KIND.acknowledge, {
      packet: encodePacket(p),
      ack: pr.value!,
      proofHeight: pr.height,
      proof: pr.proof,
    }),
  )
}
export function timeoutTx(src: SimNetwork, dst: SimNetwork, key: TestKey, p: mesh.Packet) {
  const pr = dst.prove(MESH_KEYS.receipt(p.sourceNetwork, p.destNetwork, p.sequence))
  return src.tx(
    key,
    MESH_KIND.timeout,
    enc(MESH_KIND.timeout, { packet: encodePacket(p), proofHeight: pr.height, proof: pr.proof }),
  )
}

export function pending(src: SimNetwork, dst: SimNetwork): mesh.Packet[] {
  return mesh.pendingPackets(src.tree, src.id, dst.id, 1000)
}

/**
 * Delivers every pending packet src -> dst (client update + recv in one block), then carries the
 * acknowledgements back (client update + ack). Returns the recv results.
 */
export function relayAll(src: SimNetwork, dst: SimNetwork, key: TestKey) {
  const received = (p: mesh.Packet) =>
    dst.tree.get(MESH_KEYS.receipt(src.id, dst.id, p.sequence)) !== undefined
  const all = pending(src, dst)
  const ps = all.filter((p) => !received(p))
  let recv: ReturnType<SimNetwork['block']> = []
  if (ps.length > 0) {
    src.block() // a header certifying the packets' state
    recv = dst.block([updateClientTx(dst, src, key), ...ps.map((p) => recvTx(dst, src, key, p))]).slice(1)
  }
  // Acknowledge everything the destination has received (including earlier, unacknowledged ones).
  const done = all.filter(received)
  if (done.length === 0) return recv
  dst.block()
  const acks = src.block([updateClientTx(src, dst, key), ...done.map((p) => ackTx(src, dst, key, p))])
  return [...recv, ...acks.slice(1)]
}

export const hex = toHex
