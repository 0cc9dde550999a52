/** SSZ payloads of the exchange's tx kinds; small enums travel as u8 and are range-checked on decode. */
import { fromUtf8, ssz, utf8 } from '@pulsemesh/core'
import type { SwapDirection } from '@pulsemesh/exchange'
import type { MarketMode, OrderKind, StpName } from './state.ts'

const { ContainerType, ByteListType } = ssz
/** `base:quote`, two asset ids of up to 64 bytes. */
const MarketIdSSZ = new ByteListType(129)
/** A pool: `base:quote@feeBps`, or a bare market id (see pools.ts). */
const PoolRefSSZ = new ByteListType(136)
const PreimageSSZ = new ByteListType(64)

export const ORDER_TYPES: readonly OrderKind[] = ['limit', 'market', 'ioc', 'fok', 'post-only']
export const STP_MODES: readonly StpName[] = [
  'cancel-newest',
  'cancel-oldest',
  'cancel-both',
  'decrement',
  'none',
]
export const SIDES = ['buy', 'sell'] as const
export const MODES: readonly MarketMode[] = ['continuous', 'auction']
export const DIRECTIONS: readonly SwapDirection[] = ['sell-base', 'buy-base']

function pick<T>(list: readonly T[], i: number, what: string): T {
  const v = list[i]
  if (v === undefined) throw new Error(`${what} ${i} out of range`)
  return v
}

export const CreateMarketSSZ = new ContainerType({
  base: ssz.AssetIdSSZ,
  quote: ssz.AssetIdSSZ,
  tickSize: ssz.Uint64,
  lotSize: ssz.Uint64,
  mode: ssz.Uint8,
  /** 0 = default (2^53-1) */
  maxPrice: ssz.Uint64,
  /** 0 = default (2^33-1) */
  maxLots: ssz.Uint64,
})
export interface CreateMarketPayload {
  base: string
  quote: string
  tickSize: bigint
  lotSize: bigint
  mode: MarketMode
  maxPrice: bigint
  maxLots: bigint
}

export const PlaceOrderSSZ = new ContainerType({
  market: MarketIdSSZ,
  side: ssz.Uint8,
  type: ssz.Uint8,
  /** quote units per lot; market orders: worst accepted price (0 = none, sells only) */
  price: ssz.Uint64,
  /** base units, a multiple of the market's lot size */
  size: ssz.Uint128,
  stp: ssz.Uint8,
})
export interface PlaceOrderPayload {
  market: string
  side: 'buy' | 'sell'
  type: OrderKind
  price: bigint
  size: bigint
  stp: StpName
}

export const CancelOrderSSZ = new ContainerType({ orderId: ssz.Uint64 })
export interface CancelOrderPayload {
  orderId: bigint
}
export const ReplaceOrderSSZ = new ContainerType({
  orderId: ssz.Uint64,
  price: ssz.Uint64,
  size: ssz.Uint128,
})
export interface ReplaceOrderPayload {
  orderId: bigint
  price: bigint
  size: bigint
}

export const PoolCreateSSZ = new ContainerType({
  market: MarketIdSSZ,
  feeBps: ssz.Uint16,
  base: ssz.Uint128,
  quote: ssz.Uint128,
})
export interface PoolCreatePayload {
  market: string
  feeBps: number
  base: bigint
  quote: bigint
}
export const PoolAddSSZ = new ContainerType({
  market: PoolRefSSZ,
  base: ssz.Uint128,
  quote: ssz.Uint128,
  minShares: ssz.Uint128,
})
export interface PoolAddPayload {
  market: string
  base: bigint
  quote: bigint
  minShares: bigint
}
export const PoolRemoveSSZ = new ContainerType({
  market: PoolRefSSZ,
  shares: ssz.Uint128,
  minBase: ssz.Uint128,
  minQuote: ssz.Uint128,
})
export interface PoolRemovePayload {
  market: string
  shares: bigint
  minBase: bigint
  minQuote: bigint
}
export const PoolSwapSSZ = new ContainerType({
  market: PoolRefSSZ,
  direction: ssz.Uint8,
  amountIn: ssz.Uint128,
  minOut: ssz.Uint128,
})
export interface PoolSwapPayload {
  market: string
  direction: SwapDirection
  amountIn: bigint
  minOut: bigint
}

export const OracleSubmitSSZ = new ContainerType({ symbol: MarketIdSSZ, price: ssz.Uint64 })
export interface OracleSubmitPayload {
  symbol: string
  price: bigint
}

export const HtlcLockSSZ = new ContainerType({
  recipient: ssz.Bytes20,
  asset: ssz.AssetIdSSZ,
  amount: ssz.Uint128,
  hashlock: ssz.Bytes32,
  timeoutHeight: ssz.Uint64,
})
export interface HtlcLockPayload {
  recipient: Uint8Array
  asset: string
  amount: bigint
  hashlock: Uint8Array
  timeoutHeight: bigint
}
export const HtlcClaimSSZ = new ContainerType({ swapId: ssz.Bytes32, preimage: PreimageSSZ })
export interface HtlcClaimPayload {
  swapId: Uint8Array
  preimage: Uint8Array
}
export const HtlcRefundSSZ = new ContainerType({ swapId: ssz.Bytes32 })
export interface HtlcRefundPayload {
  swapId: Uint8Array
}

/** Encode/decode pairs per payload, used by the tx kinds, the CLI and tests. */
export const codec = {
  createMarket: {
    decode(b: Uint8Array): CreateMarketPayload {
      const v = CreateMarketSSZ.deserialize(b)
      return {
        base: fromUtf8(v.base),
        quote: fromUtf8(v.quote),
        tickSize: v.tickSize,
        lotSize: v.lotSize,
        mode: pick(MODES, v.mode, 'mode'),
        maxPrice: v.maxPrice,
        maxLots: v.maxLots,
      }
    },
    encode: (p: CreateMarketPayload): Uint8Array =>
      CreateMarketSSZ.serialize({
        base: utf8(p.base),
        quote: utf8(p.quote),
        tickSize: p.tickSize,
        lotSize: p.lotSize,
        mode: MODES.indexOf(p.mode),
        maxPrice: p.maxPrice,
        maxLots: p.maxLots,
      }),
  },
  place: {
    decode(b: Uint8Array): PlaceOrderPayload {
      const v = PlaceOrderSSZ.deserialize(b)
      return {
        market: fromUtf8(v.market),
        side: pick(SIDES, v.side, 'side'),
        type: pick(ORDER_TYPES, v.type, 'type'),
        price: v.price,
        size: v.size,
        stp: pick(STP_MODES, v.stp, 'stp'),
      }
    },
    encode: (p: PlaceOrderPayload): Uint8Array =>
      PlaceOrderSSZ.serialize({
        market: utf8(p.market),
        side: SIDES.indexOf(p.side),
        type: ORDER_TYPES.indexOf(p.type),
        price: p.price,
        size: p.size,
        stp: STP_MODES.indexOf(p.stp),
      }),
  },
  cancel: {
    decode: (b: Uint8Array): CancelOrderPayload => CancelOrderSSZ.deserialize(b),
    encode: (p: CancelOrderPayload): Uint8Array => CancelOrderSSZ.serialize(p),
  },
  replace: {
    decode: (b: Uint8Array): ReplaceOrderPayload => ReplaceOrderSSZ.deserialize(b),
    encode: (p: ReplaceOrderPayload): Uint8Array => ReplaceOrderSSZ.serialize(p),
  },
  poolCreate: {
    decode(b: Uint8Array): PoolCreatePayload {
      const v = PoolCreateSSZ.deserialize(b)
      return { market: fromUtf8(v.market), feeBps: v.feeBps, base: v.base, quote: v.quote }
    },
    encode: (p: PoolCreatePayload): Uint8Array => PoolCreateSSZ.serialize({ ...p, market: utf8(p.market) }),
  },
  poolAdd: {
    decode(b: Uint8Array): PoolAddPayload {
      const v = PoolAddSSZ.deserialize(b)
      return { market: fromUtf8(v.market), base: v.base, quote: v.quote, minShares: v.minShares }
    },
    encode: (p: PoolAddPayload): Uint8Array => PoolAddSSZ.serialize({ ...p, market: utf8(p.market) }),
  },
  poolRemove: {
    decode(b: Uint8Array): PoolRemovePayload {
      const v = PoolRemoveSSZ.deserialize(b)
      return { market: fromUtf8(v.market), shares: v.shares, minBase: v.minBase, minQuote: v.minQuote }
    },
    encode: (p: PoolRemovePayload): Uint8Array => PoolRemoveSSZ.serialize({ ...p, market: utf8(p.market) }),
  },
  poolSwap: {
    decode(b: Uint8Array): PoolSwapPayload {
      const v = PoolSwapSSZ.deserialize(b)
      return {
        market: fromUtf8(v.market),
        direction: pick(DIRECTIONS, v.direction, 'direction'),
        amountIn: v.amountIn,
        minOut: v.minOut,
      }
    },
    encode: (p: PoolSwapPayload): Uint8Array =>
      PoolSwapSSZ.serialize({
        market: utf8(p.market),
        direction: DIRECTIONS.indexOf(p.direction),
        amountIn: p.amountIn,
        minOut: p.minOut,
      }),
  },
  oracleSubmit: {
    decode(b: Uint8Array): OracleSubmitPayload {
      const v = OracleSubmitSSZ.deserialize(b)
      return { symbol: fromUtf8(v.symbol), price: v.price }
    },
    encode: (p: OracleSubmitPayload): Uint8Array =>
      OracleSubmitSSZ.serialize({ symbol: utf8(p.symbol), price: p.price }),
  },
  htlcLock: {
    decode(b: Uint8Array): HtlcLockPayload {
      const v = HtlcLockSSZ.deserialize(b)
      return { ...v, asset: fromUtf8(v.asset) }
    },
    encode: (p: HtlcLockPayload): Uint8Array => HtlcLockSSZ.serialize({ ...p, asset: utf8(p.asset) }),
  },
  htlcClaim: {
    decode: (b: Uint8Array): HtlcClaimPayload => HtlcClaimSSZ.deserialize(b),
    encode: (p: HtlcClaimPayload): Uint8Array => HtlcClaimSSZ.serialize(p),
  },
  htlcRefund: {
    decode: (b: Uint8Array): HtlcRefundPayload => HtlcRefundSSZ.deserialize(b),
    encode: (p: HtlcRefundPayload): Uint8Array => HtlcRefundSSZ.serialize(p),
  },
}
