/**
 * Test fixture for verify-pool.test.ts: the real worker, except that a chunk containing the text
 * `crash-always` kills the thread, and one containing `crash-once:<path>!` kills it only the first
 * time (marker file). Not a test file itself (no .test.ts suffix).
 */
import { existsSync, writeFileSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { verifyChunk } from '@pulsemesh/node/crypto/verify-codec.ts'

const port = parentPort!
port.on('message', (m: { t: string; id: number; buf: ArrayBuffer }) => {
  if (m.t !== 'verify') return
  const text = Buffer.from(m.buf).toString('latin1')
  if (text.includes('crash-always')) process.exit(1)
  const once = /crash-once:([^!]+)!/.exec(text)
  if (once !== null && !existsSync(once[1])) {
    writeFileSync(once[1], '')
    process.exit(1)
  }
  const res = verifyChunk(m.buf)
  port.postMessage({ t: 'verify', id: m.id, res }, [res.buffer])
})
