/**
 * Sign-state persistence (one save before every proposal/vote, 3 per height): the two-slot file
 * (one in-place write + fdatasync) against, in the same run, the previous method (tmp file + fsync
 * + rename + directory fsync) and the physical limit (one 4 KiB pwrite + fdatasync on a bare file).
 * Figures are ms per save (median of 5 rounds); ratios < 1 mean faster than the peer.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { encodeSignState, type SignState } from '@pulsemesh/consensus'
import { SignStateFile } from '@pulsemesh/node/consensus/sign-state-file.ts'

const state = (h: bigint): SignState => ({
  height: h,
  round: 0,
  step: 2,
  proposal: null,
  vote: {
    type: 1,
    height: h,
    round: 0,
    blockHash: new Uint8Array(32).fill(1),
    timestampMs: 5n,
    validatorIndex: 1,
    extension: new Uint8Array(),
  },
  lockedRound: -1,
  lockedBlockHash: null,
})

/** The previous SignStateFile.save: two fsyncs and a rename per save. */
function renameSave(path: string, s: SignState): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, encodeSignState(s))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dfd = openSync(dirname(path), 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const r3 = (x: number) => Math.round(x * 1000) / 1000

export async function run(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'pm-bench-signstate-'))
  const N = 200
  const rounds = { twoSlot: [] as number[], renameFsync: [] as number[], bareFdatasync: [] as number[] }
  try {
    const f = new SignStateFile(join(dir, 'two-slot.json'))
    f.save(state(0n))
    const bare = openSync(join(dir, 'bare'), 'w+')
    const page = new Uint8Array(4096).fill(7)
    writeSync(bare, page, 0, page.length, 0)
    fsyncSync(bare)
    for (let r = 0; r < 5; r++) {
      let t = performance.now()
      for (let i = 1; i <= N; i++) f.save(state(BigInt(r * N + i)))
      rounds.twoSlot.push((performance.now() - t) / N)
      t = performance.now()
      for (let i = 1; i <= N; i++) renameSave(join(dir, 'rename.json'), state(BigInt(i)))
      rounds.renameFsync.push((performance.now() - t) / N)
      t = performance.now()
      for (let i = 1; i <= N; i++) {
        writeSync(bare, page, 0, page.length, 0)
        fdatasyncSync(bare)
      }
      rounds.bareFdatasync.push((performance.now() - t) / N)
    }
    f.close()
    closeSync(bare)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const twoSlot = median(rounds.twoSlot)
  const renameFsync = median(rounds.renameFsync)
  const bareFdatasync = median(rounds.bareFdatasync)
  return {
    savesPerRound: N,
    msPerSave: { twoSlot: r3(twoSlot), renameFsync: r3(renameFsync), bareFdatasync: r3(bareFdatasync) },
    rounds: Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, v.map(r3)])),
    twoSlotVsRenameFsync: r3(twoSlot / renameFsync),
    twoSlotVsBareFdatasync: r3(twoSlot / bareFdatasync),
    msPerHeightSaved: r3(3 * (renameFsync - twoSlot)),
  }
}
