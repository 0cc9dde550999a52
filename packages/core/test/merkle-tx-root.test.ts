import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { fromHex, toHex } from '../src/bytes.ts'
import { sha256 } from '../src/crypto/index.ts'
import { DecodeError, PulseError } from '../src/errors.ts'
import {
  decodeMerkleProof,
  encodeMerkleProof,
  MERKLE_PROOF_MAX_BYTES,
  type MerkleProof,
  merkleLeafHash,
  merkleNodeHash,
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from '../src/merkle/tx-root.ts'

// Certificate Transparency reference vectors (RFC 6962): leaves and MTH of the first n, n = 0..8.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex)
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
// Inclusion proofs from the same vector set: [leaf index, tree size, audit path].
const INCLUSION: [number, number, string[]][] = [
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
]

// Distinct leaves: with duplicates, a proof for one position legitimately verifies at the other.
const leafList = fc.uniqueArray(fc.uint8Array({ maxLength: 40 }), {
  minLength: 1,
  maxLength: 70,
  selector: toHex,
})

describe('merkleRoot (RFC 6962)', () => {
  it('matches the CT reference roots for 0..8 leaves', () => {
    for (let n = 0; n <= 8; n++) assert.equal(toHex(merkleRoot(LEAVES.slice(0, n))), ROOTS[n], `n=${n}`)
  })

  it('produces and accepts the CT reference audit paths', () => {
    for (const [index, total, path] of INCLUSION) {
      const leaves = LEAVES.slice(0, total)
      const proof = merkleProof(leaves, index)
      assert.deepEqual(proof.siblings.map(toHex), path)
      assert.equal(verifyMerkleProof(fromHex(ROOTS[total]), leaves[index], proof), true)
    }
  })

  it('rejects bad arguments with typed errors', () => {
    assert.throws(
      () => merkleProof([], 0),
      (e) => e instanceof PulseError && e.code === 'MERKLE_INDEX_OUT_OF_RANGE',
    )
    assert.throws(
      () => merkleProof(LEAVES, 8),
      (e) => e instanceof PulseError && e.code === 'MERKLE_INDEX_OUT_OF_RANGE',
    )
    assert.throws(
      () => merkleProof(LEAVES, 1.5),
      (e) => e instanceof PulseError && e.code === 'MERKLE_INDEX_OUT_OF_RANGE',
    )
    assert.throws(
      () => merkleRoot(['x' as unknown as Uint8Array]),
      (e) => e instanceof PulseError && e.code === 'MERKLE_INVALID_ARGUMENT',
    )
  })
})

describe('merkleRoot (in-place levels) equals the recursive RFC 6962 definition', () => {
  it('for 0..70 leaves of mixed lengths', () => {
    const mth = (d: Uint8Array[]): Uint8Array => {
      if (d.length === 0) return sha256(new Uint8Array(0))
      if (d.length === 1) return merkleLeafHash(d[0])
      let k = 1
      while (k * 2 < d.length) k *= 2
      return merkleNodeHash(mth(d.slice(0, k)), mth(d.slice(k)))
    }
    const leaves = Array.from({ length: 70 }, (_, i) =>
      Uint8Array.from({ length: (i * 37) % 300 }, (_, j) => i + j),
    )
    for (let n = 0; n <= 70; n++)
      assert.equal(toHex(merkleRoot(leaves.slice(0, n))), toHex(mth(leaves.slice(0, n))), `n=${n}`)
  })
})

describe('verifyMerkleProof', () => {
  it('every leaf of every size verifies; wrong leaf/index/total/path length do not', () => {
    fc.assert(
      fc.property(leafList, fc.nat(), (leaves, pick) => {
        const index = pick % leaves.length
        const root = merkleRoot(leaves)
        const proof = merkleProof(leaves, index)
        assert.equal(verifyMerkleProof(root, leaves[index], proof), true)
        const other = Uint8Array.from([...leaves[index], 1])
        assert.equal(verifyMerkleProof(root, other, proof), false)
        for (const bad of [
          { ...proof, index: index + 1 },
          { ...proof, index: index - 1 },
          { ...proof, index: index ^ 2 },
          { ...proof, siblings: [...proof.siblings, root] },
          { ...proof, siblings: [root, ...proof.siblings] },
          ...(proof.siblings.length > 0 ? [{ ...proof, siblings: proof.siblings.slice(1) }] : []),
        ]) {
          assert.equal(verifyMerkleProof(root, leaves[index], bad), false)
        }
        // RFC 6962 roots do not commit to the leaf count (a 3-leaf path also fits a 4-leaf claim),
        // so `total` must come from an authenticated source (the block header). Only check that a
        // wrong total never throws and, when the path shape differs, fails.
        for (const total of [proof.total * 2, proof.total + 1, Math.floor(proof.total / 2)]) {
          const ok = verifyMerkleProof(root, leaves[index], { ...proof, total })
          if (ok)
            assert.equal(
              merkleProof(new Array(total).fill(leaves[0]), index).siblings.length,
              proof.siblings.length,
            )
        }
        for (let i = 0; i < proof.siblings.length; i++) {
          const s = proof.siblings.map((x) => x.slice())
          s[i][0] ^= 1
          assert.equal(verifyMerkleProof(root, leaves[index], { ...proof, siblings: s }), false)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('returns false, never throws, on malformed input', () => {
    const leaves = LEAVES.slice(0, 5)
    const root = merkleRoot(leaves)
    const good = merkleProof(leaves, 2)
    const cases: unknown[][] = [
      [root.subarray(0, 31), leaves[2], good],
      [root, 'x', good],
      [root, leaves[2], null],
      [root, leaves[2], { ...good, index: -1 }],
      [root, leaves[2], { ...good, index: 5 }],
      [root, leaves[2], { ...good, total: 0 }],
      [root, leaves[2], { ...good, index: Number.NaN }],
      [root, leaves[2], { ...good, siblings: 'nope' }],
      [root, leaves[2], { ...good, siblings: [new Uint8Array(31), ...good.siblings.slice(1)] }],
      [root, leaves[2], { ...good, siblings: new Array(65).fill(root) }],
    ]
    for (const [r, l, p] of cases) {
      assert.equal(verifyMerkleProof(r as Uint8Array, l as Uint8Array, p as MerkleProof), false)
    }
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (a, b) => {
        assert.equal(verifyMerkleProof(root, a as Uint8Array, b as MerkleProof), false)
      }),
      { numRuns: 200 },
    )
  })
})

describe('Merkle proof encoding', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(leafList, fc.nat(), (leaves, pick) => {
        const proof = merkleProof(leaves, pick % leaves.length)
        const bytes = encodeMerkleProof(proof)
        assert.deepEqual(decodeMerkleProof(bytes), proof)
        assert.ok(bytes.length <= MERKLE_PROOF_MAX_BYTES)
      }),
      { numRuns: 100 },
    )
  })

  it('throws DecodeError, and only DecodeError, on bad bytes', () => {
    const good = encodeMerkleProof(merkleProof(LEAVES, 3))
    const expectCode = (b: Uint8Array, code: string) =>
      assert.throws(
        () => decodeMerkleProof(b),
        (e) => e instanceof DecodeError && e.code === code,
      )
    expectCode(good.subarray(0, 8), 'DECODE_ERROR')
    expectCode(good.subarray(0, good.length - 1), 'DECODE_ERROR')
    expectCode(Uint8Array.from([...good, 0]), 'DECODE_NON_CANONICAL')
    expectCode(new Uint8Array(MERKLE_PROOF_MAX_BYTES + 1), 'DECODE_TOO_LARGE')
    expectCode(Uint8Array.from([0, 0, 0, 5, 0, 0, 0, 5, 0]), 'DECODE_ERROR') // index >= total
    expectCode(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 5, 33]), 'DECODE_ERROR') // too many siblings
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeMerkleProof(b)
        } catch (e) {
          assert.ok(e instanceof DecodeError)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('refuses to encode a malformed proof', () => {
    assert.throws(
      () => encodeMerkleProof({ index: 3, total: 3, siblings: [] }),
      (e) => e instanceof PulseError && e.code === 'MERKLE_PROOF_INVALID',
    )
  })
})
