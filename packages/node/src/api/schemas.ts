/**
 * Request and response schemas of the REST API, declared once (TypeBox = JSON Schema). Fastify
 * validates requests against them and serialises responses with them; openapi.ts turns the same
 * objects into the OpenAPI 3.1 document. Response objects allow extra properties so a view can
 * grow without the serialiser silently dropping fields.
 */
import { type TProperties, type TSchema, Type as T } from '@sinclair/typebox'

/** An object response schema that keeps undeclared properties (documentation + serialisation). */
export const Obj = <P extends TProperties>(props: P, description?: string) =>
  T.Object(props, { additionalProperties: true, ...(description ? { description } : {}) })

export const PAGE_LIMIT_MAX = 100

export const Hex32 = T.String({ pattern: '^(0x)?[0-9a-fA-F]{64}$', description: '32 bytes of hex' })
export const Height = T.String({ pattern: '^([0-9]{1,19}|latest)$', description: 'block height or "latest"' })
export const U64 = T.String({ pattern: '^[0-9]{1,20}$', description: 'unsigned integer as a decimal string' })
export const Address = T.String({ minLength: 3, maxLength: 120, description: 'bech32m account address' })

export const NetParams = T.Object({
  id: T.String({ minLength: 1, maxLength: 64, description: 'network id' }),
})
export const HeightParams = T.Object({ id: NetParams.properties.id, height: Height })
export const HashParams = T.Object({ id: NetParams.properties.id, hash: Hex32 })
export const AddressParams = T.Object({ id: NetParams.properties.id, address: Address })

export const PageQuery = T.Object({
  limit: T.Optional(T.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX, default: 20 })),
  cursor: T.Optional(T.String({ maxLength: 64, description: 'opaque cursor from a previous page' })),
})
export const AssetQuery = T.Object({ asset: T.Optional(T.String({ minLength: 1, maxLength: 64 })) })

export const Problem = T.Object(
  {
    type: T.String(),
    title: T.String(),
    status: T.Integer(),
    detail: T.String(),
    code: T.String({ description: 'stable machine code, UPPER_SNAKE' }),
    meta: T.Optional(T.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
)

export const HeaderJson = Obj({
  networkId: T.String(),
  height: U64,
  timeMs: U64,
  txRoot: T.String(),
  stateRoot: T.String(),
  validatorsHash: T.String(),
})
export const CommitJson = Obj({
  height: U64,
  round: T.Integer(),
  blockHash: T.String(),
  signatures: T.Array(Obj({ validatorIndex: T.Integer(), signature: T.String() })),
})
export const ValidatorJson = Obj({ name: T.Optional(T.String()), publicKey: T.String(), power: U64 })

export const SubmitTxJson = T.Object(
  { tx: T.String({ pattern: '^(0x)?([0-9a-fA-F]{2})+$', description: 'hex of the signed tx' }) },
  { description: 'or send the raw bytes as application/octet-stream' },
)

/** Batch submit bounds (POST /v1/networks/{id}/txs/batch). */
export const TX_BATCH_SUBMIT_MAX = 2048
export const TX_BATCH_SUBMIT_BYTES_MAX = 1024 * 1024
export const SubmitTxBatchJson = T.Object(
  {
    txs: T.Array(T.String({ pattern: '^(0x)?([0-9a-fA-F]{2})+$' }), {
      minItems: 1,
      description: `hex of each signed tx, at most ${TX_BATCH_SUBMIT_MAX} txs and ${TX_BATCH_SUBMIT_BYTES_MAX} bytes of txs`,
    }),
  },
  {
    description:
      'or application/octet-stream: the txs back to back, each as a u32 big-endian length then its bytes',
  },
)
const BatchTxResult = Obj({
  hash: T.String({ description: 'SHA-256 of the submitted bytes (the tx hash)' }),
  status: T.Union([T.Literal('pending'), T.Literal('rejected')]),
  code: T.Optional(T.String({ description: 'stable error code of a rejected tx (e.g. NONCE_GAP)' })),
  message: T.Optional(T.String()),
})

export const WebhookBody = T.Object(
  {
    url: T.String({ minLength: 8, maxLength: 2048, description: 'http(s) URL receiving POSTs' }),
    events: T.Array(T.Union([T.Literal('block'), T.Literal('tx'), T.Literal('event')]), {
      minItems: 1,
      maxItems: 3,
      uniqueItems: true,
    }),
    eventType: T.Optional(
      T.String({ minLength: 1, maxLength: 64, description: 'only chain events of this type' }),
    ),
  },
  { additionalProperties: false },
)
export const IdempotencyHeaders = T.Object({
  'idempotency-key': T.String({
    minLength: 1,
    maxLength: 128,
    description: 'replays with the same key return the same registration',
  }),
})
export const WebhookParams = T.Object({
  id: NetParams.properties.id,
  wid: T.String({ pattern: '^ep_[0-9a-f]{24}$' }),
})
const WebhookJson = Obj({ id: T.String(), network: T.String(), url: T.String(), events: T.Array(T.String()) })

export const R = {
  webhook: Obj({
    id: T.String(),
    url: T.String(),
    events: T.Array(T.String()),
    secret: T.String(),
    replayed: T.Boolean(),
  }),
  webhooks: Obj({ webhooks: T.Array(WebhookJson) }),
  deadLetters: Obj({
    deadLetters: T.Array(Obj({ id: T.String(), endpointId: T.String(), attempts: T.Integer() })),
  }),
  ok: Obj({ ok: T.Boolean() }),
  networks: Obj({ networks: T.Array(Obj({ id: T.String(), height: U64, validators: T.Integer() })) }),
  status: Obj({
    networkId: T.String(),
    height: U64,
    headHash: T.String(),
    stateRoot: T.String(),
    latestHeader: T.Union([HeaderJson, T.Null()]),
    params: Obj({}),
    mempool: Obj({ txs: T.Integer(), bytes: T.Integer() }),
    validators: T.Array(ValidatorJson),
    /** True once this node halted the network (fork: two certified blocks at one height). */
    halted: T.Boolean(),
    haltReason: T.Union([T.String(), T.Null()]),
  }),
  block: Obj({ hash: T.String(), header: HeaderJson, txs: T.Array(T.String()), commit: CommitJson }),
  blockPage: Obj({
    blocks: T.Array(Obj({ height: U64, hash: T.String(), time: T.String(), txCount: T.Integer() })),
    nextCursor: T.Union([T.String(), T.Null()]),
  }),
  commit: Obj({
    height: U64,
    header: T.String({ description: 'canonical header bytes, hex' }),
    commit: T.String({ description: 'canonical commit bytes, hex' }),
    headerJson: HeaderJson,
    commitJson: CommitJson,
    validators: T.Array(ValidatorJson),
  }),
  validators: Obj({
    height: U64,
    validatorsHash: T.String(),
    totalPower: U64,
    validators: T.Array(ValidatorJson),
  }),
  tx: Obj({
    status: T.Union([T.Literal('pending'), T.Literal('committed')]),
    height: T.Optional(U64),
    index: T.Optional(T.Integer()),
    tx: Obj({}),
    result: T.Optional(Obj({ ok: T.Boolean() })),
  }),
  submitted: Obj({ hash: T.String(), status: T.Literal('pending') }),
  submittedBatch: Obj({
    accepted: T.Integer(),
    rejected: T.Integer(),
    results: T.Array(BatchTxResult, { description: 'one per submitted tx, in order' }),
  }),
  produced: Obj({ height: U64, hash: T.String(), txs: T.Array(T.String()) }),
  account: Obj({
    address: T.String(),
    nonce: U64,
    nextNonce: U64,
    balances: T.Record(T.String(), U64),
    height: U64,
  }),
  balances: Obj({ address: T.String(), height: U64, balances: T.Record(T.String(), U64) }),
  txPage: Obj({
    txs: T.Array(Obj({ hash: T.String(), height: U64, index: T.Integer() })),
    nextCursor: T.Union([T.String(), T.Null()]),
  }),
  txProof: Obj({
    height: U64,
    index: T.Integer(),
    tx: T.String(),
    proof: T.String(),
    header: T.String(),
    commit: T.String(),
    validators: T.Array(ValidatorJson),
  }),
  accountProof: Obj({
    height: U64,
    address: T.String(),
    asset: T.String(),
    key: T.String(),
    value: T.Union([T.String(), T.Null()]),
    stateRoot: T.String(),
    proof: T.String(),
    header: T.Union([T.String(), T.Null()]),
    commit: T.String(),
    validators: T.Array(ValidatorJson),
  }),
  mempool: Obj({ txs: T.Integer(), bytes: T.Integer(), limits: T.Integer() }),
  health: Obj({ status: T.String() }),
} satisfies Record<string, TSchema>

/** Error responses every route may give. */
export const ERRORS = { '4xx': Problem, '5xx': Problem }
