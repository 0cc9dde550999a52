/**
 * Worker thread of the verification pool (run by Node 24 directly from this .ts file). Messages:
 *   { t: 'verify', id, buf }  -> { t: 'verify', id, res }   (buf: packed chunk, res: 0/1 per job; both transferred)
 *   { t: 'bench', id, n }     -> { t: 'bench', id, verified, elapsedNs }
 */
import { parentPort } from 'node:worker_threads'
import { selfBenchEd25519, verifyChunk } from './verify-codec.ts'

type Request = { t: 'verify'; id: number; buf: ArrayBuffer } | { t: 'bench'; id: number; n: number }

const port = parentPort
if (port === null) throw new Error('verify-worker.ts must run in a worker thread')

port.on('message', (m: Request) => {
  if (m.t === 'verify') {
    const res = verifyChunk(m.buf)
    port.postMessage({ t: 'verify', id: m.id, res }, [res.buffer])
  } else if (m.t === 'bench') {
    port.postMessage({ t: 'bench', id: m.id, ...selfBenchEd25519(m.n) })
  }
})
