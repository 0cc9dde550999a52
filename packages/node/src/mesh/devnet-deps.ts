/** App-side helpers the mesh devnet and CLI use (one place to encode mesh payloads). */
import { createMeshModule, type Genesis, genesisToJson, MESH_KIND, mesh, parseGenesis } from '@pulsemesh/app'

const kinds = new Map(createMeshModule().txKinds.map((k) => [k.kind, k]))
/** Encodes the payload of a mesh tx kind. */
export function encodeMesh(kind: number, payload: unknown): Uint8Array {
  const k = kinds.get(kind)
  if (k === undefined) throw new Error(`unknown mesh tx kind ${kind}`)
  return k.encode(payload)
}
export const getNetworkOrUndefined = mesh.getNetwork
export { type Genesis, genesisToJson, MESH_KIND, parseGenesis }
