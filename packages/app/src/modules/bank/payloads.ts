/** SSZ payloads of the bank's tx kinds. */
import { ssz } from '@pulsemesh/core'

const { ContainerType } = ssz

export const TransferSSZ = new ContainerType({ to: ssz.Bytes20, asset: ssz.AssetIdSSZ, amount: ssz.Uint128 })
export const CreateAssetSSZ = new ContainerType({
  id: ssz.AssetIdSSZ,
  decimals: ssz.Uint8,
  /** 0 = unlimited */
  maxSupply: ssz.Uint128,
  /** Minted to the creator, who becomes the issuer. */
  initialSupply: ssz.Uint128,
})
export const MintSSZ = new ContainerType({ asset: ssz.AssetIdSSZ, to: ssz.Bytes20, amount: ssz.Uint128 })
export const BurnSSZ = new ContainerType({ asset: ssz.AssetIdSSZ, amount: ssz.Uint128 })
