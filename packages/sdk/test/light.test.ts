import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type Commit,
  encodeCommit,
  encodeHeader,
  fromHex,
  encodeMerkleProof,
  generateKeyPair,
  type Header,
  merkleProof,
  merkleRoot,
  toHex,
} from '@pulsemesh/core'
import {
  type CertifiedJson,
  LightClient,
  parseLightState,
  pinCheckpoint,
  UntrustedError,
  validatorsHash,
  verifyStep,
} from '../src/light.ts'
import { ProofError, type ValidatorJson } from '../src/verify.ts'
import { certifyHeader } from '../../app/test/helpers.ts'

const NET = 'hub'
const Z = new Uint8Array(32)
type Key = ReturnType<typeof generateKeyPair>
const key = (b: number): Key => generateKeyPair('ed25519', new Uint8Array(32).fill(b))
const json = (keys: Key[], power = 10n): ValidatorJson[] =>
  keys.map((k) => ({ publicKey: toHex(k.publicKey.bytes), power: power.toString() }))

const certify = (header: Header, keys: Key[], signers: Key[] = keys): Commit =>
  certifyHeader(
    NET,
    header,
    keys.map((k) => ({ publicKey: k.publicKey.bytes, power: 10n })),
    signers,
  )

/** A chain of `n` headers whose validator set at height h is `setAt(h)` (announced one block ahead). */
function chain(
  n: number,
  setAt: (h: number) => Key[],
  txsAt: (h: number) => Uint8Array[] = () => [],
): Map<bigint, CertifiedJson> {
  const out = new Map<bigint, CertifiedJson>()
  for (let h = 1; h <= n; h++) {
    const keys = setAt(h)
    const header: Header = {
      networkId: NET,
      height: BigInt(h),
      timeMs: 1_000_000n + BigInt(h) * 1000n,
      prevHash: Z,
      lastCommitHash: Z,
      txRoot: txsAt(h).length ? merkleRoot(txsAt(h)) : Z,
      txCount: txsAt(h).length,
      stateRoot: Z,
      resultsRoot: Z,
      validatorsHash: fromHex(validatorsHash(json(keys))),
      nextValidatorsHash: fromHex(validatorsHash(json(setAt(h + 1)))),
      evidenceHash: Z,
      proposer: keys[0]!.publicKey.bytes,
    }
    out.set(BigInt(h), {
      header: toHex(encodeHeader(header)),
      commit: toHex(encodeCommit(certify(header, keys))),
      validators: json(keys),
    })
  }
  return out
}

const A = [key(1), key(2), key(3), key(4)]
const B = [key(11), key(12), key(13), key(14)]
const C = [key(21), key(22), key(23), key(24)]

function client(c: Map<bigint, CertifiedJson>) {
  const fetched: bigint[] = []
  const lc = LightClient.pin(NET, c.get(1n)!, {
    fetchCertified: async (h) => {
      fetched.push(h)
      const x = c.get(h)
      if (!x) throw new Error(`no header ${h}`)
      return x
    },
  })
  return { lc, fetched }
}

test('pin: a self-certified header becomes the root of trust; a mismatched set is refused', () => {
  const c = chain(3, () => A)
  const pin = pinCheckpoint(NET, c.get(1n)!)
  assert.equal(pin.height, '1')
  assert.equal(pin.validatorsHash, validatorsHash(json(A)))
  assert.throws(() => pinCheckpoint(NET, { ...c.get(1n)!, validators: json(B) }), ProofError)
  assert.throws(() => pinCheckpoint('other', c.get(1n)!), ProofError)
})

test('valid chain with an unchanged set: one step, no fetches', async () => {
  const c = chain(20, () => A)
  const { lc, fetched } = client(c)
  const cp = await lc.verifyHeader(c.get(20n)!)
  assert.equal(cp.height, '20')
  assert.deepEqual(fetched, [])
  assert.equal(lc.latest.height, '20')
})

test('skipped heights across a full validator change: bisects to the announced hand-over', async () => {
  // A until height 9, B (disjoint) from 10: A announced B in header 9's nextValidatorsHash.
  const c = chain(30, (h) => (h < 10 ? A : B))
  const { lc, fetched } = client(c)
  const cp = await lc.verifyHeader(c.get(30n)!)
  assert.equal(cp.validatorsHash, validatorsHash(json(B)))
  assert.ok(fetched.length > 0 && fetched.length < 10, `fetched ${fetched}`)
  assert.ok(
    lc.state.checkpoints.some((x) => x.height === '10'),
    'the hand-over height is verified',
  )
  // A height between checkpoints verifies from the nearest one below.
  assert.equal((await lc.verifyHeader(c.get(12n)!)).height, '12')
})

test('forged set: a self-consistent certificate by keys the chain never announced is not trusted', async () => {
  const real = chain(20, () => A)
  const forged = chain(20, () => C)
  const { lc } = client(real)
  await assert.rejects(lc.verifyHeader(forged.get(15n)!), UntrustedError)
  // A forged set at the adjacent height is not announced either.
  assert.throws(() => verifyStep(lc.state.pin, forged.get(2n)!), UntrustedError)
  // The response's own set swapped in for the real header: the hash no longer matches.
  assert.throws(() => verifyStep(lc.state.pin, { ...real.get(5n)!, validators: json(C) }), ProofError)
  // Bisection verified real headers on the way; none of the forged set was recorded.
  const forgedHash = validatorsHash(json(C))
  assert.ok(lc.state.checkpoints.every((x) => x.validatorsHash !== forgedHash))
})

test('a minority of the old set cannot vouch for a new set; a second header at a trusted height is refused', async () => {
  // B plus one A member from height 2 without any announcement: 10 of 40 trusted power < 1/3.
  const mixed = [A[0]!, ...B]
  const c = chain(5, (h) => (h === 1 ? A : mixed))
  const pin = pinCheckpoint(NET, c.get(1n)!)
  assert.throws(() => verifyStep(pin, c.get(3n)!), UntrustedError)
  assert.equal(verifyStep(pin, c.get(1n)!).height, '1') // the identical header is fine
  const tampered = chain(1, () => B)
  assert.throws(() => verifyStep(pin, tampered.get(1n)!), UntrustedError)
})

test('stored state is re-validated: tampered validators or hashes are dropped', async () => {
  const c = chain(3, () => A)
  const { lc } = client(c)
  await lc.verifyHeader(c.get(3n)!)
  const s = JSON.parse(JSON.stringify(lc.state))
  assert.deepEqual(parseLightState(s, NET), s)
  assert.equal(parseLightState(s, 'other'), undefined)
  const bad = structuredClone(s)
  bad.pin.validators = json(C)
  assert.equal(parseLightState(bad, NET), undefined)
  assert.equal(parseLightState('x', NET), undefined)
  assert.equal(parseLightState({ pin: s.pin, checkpoints: [] }, NET), undefined)
})

test('verifyTx: a valid proof verifies through the tracked set; the same proof under a forged set does not', async () => {
  const txs = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])]
  const real = chain(
    8,
    () => A,
    (h) => (h === 6 ? txs : []),
  )
  const forged = chain(
    8,
    () => C,
    (h) => (h === 6 ? txs : []),
  )
  const proof = toHex(encodeMerkleProof(merkleProof(txs, 1)))
  const { lc } = client(real)
  const ok = await lc.verifyTx({ ...real.get(6n)!, tx: toHex(txs[1]!), proof })
  assert.equal(ok.height, 6n)
  assert.equal(ok.checkpoint.validatorsHash, validatorsHash(json(A)))
  // The forged header is self-consistent and the Merkle path is right: only the set gives it away.
  await assert.rejects(lc.verifyTx({ ...forged.get(6n)!, tx: toHex(txs[1]!), proof }), UntrustedError)
  // Wrong leaf under the real, trusted header: the Merkle check fails.
  await assert.rejects(lc.verifyTx({ ...real.get(6n)!, tx: toHex(txs[0]!), proof }), ProofError)
  // Below the pin nothing is trusted.
  const late = LightClient.pin(NET, real.get(7n)!, { fetchCertified: async () => assert.fail('no fetch') })
  await assert.rejects(late.verifyTx({ ...real.get(6n)!, tx: toHex(txs[1]!), proof }), UntrustedError)
})
