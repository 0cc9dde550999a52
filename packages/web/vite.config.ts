import { defineConfig } from 'vite'

/**
 * Plain Vite (esbuild's automatic JSX runtime, no React plugin: the node serves the built bundle;
 * `npx vite` still works for a dev server). Public files are served by the node under /static/.
 * PULSEMESH_API points the dev server's proxy at a node.
 */
const api = process.env.PULSEMESH_API ?? 'http://127.0.0.1:8645'
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      // @scure/base puts a /* @__PURE__ */ where Rollup cannot use it; harmless, and not ours.
      onwarn(w, warn) {
        if (w.code !== 'INVALID_ANNOTATION') warn(w)
      },
    },
  },
  server: {
    proxy: {
      '/v1': { target: api, ws: true },
      '/metrics': api,
      '/docs': api,
    },
  },
})
