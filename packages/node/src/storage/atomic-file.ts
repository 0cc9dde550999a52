/**
 * Replaces a small file so that after a crash at any point it holds either the old bytes or the
 * new ones, never a mix or nothing: write a temporary file, fsync it, rename it over the target,
 * fsync the directory (the rename itself is only durable once the directory entry is). Used for
 * the sign-state file's creation, fork evidence and the node's peer key.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

export function writeFileAtomic(path: string, bytes: Uint8Array, o: { mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', o.mode ?? 0o644)
  try {
    // openSync's mode applies only to a new file; a stale tmp file keeps its own without this.
    if (o.mode !== undefined) chmodSync(tmp, o.mode)
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, off)
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
