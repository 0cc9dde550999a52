/**
 * Browsers have no `Buffer`, but @chainsafe/ssz (core's codec) creates Buffers when its types are
 * constructed, i.e. as soon as @pulsemesh/core loads. This module runs before any other import of
 * the SDK (index.ts imports it first) and installs the `buffer` package's implementation only where
 * the global is missing; in Node it does nothing.
 */
import { Buffer as BufferPolyfill } from 'buffer'

const g = globalThis as { Buffer?: unknown }
if (g.Buffer === undefined) g.Buffer = BufferPolyfill
