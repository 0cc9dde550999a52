/** HTTP APIs (buildApi) on 127.0.0.1 at free ports for one test file, closed together in after(). */
import { buildApi } from '../src/api/server.ts'

export function apiServers() {
  const open: ReturnType<typeof buildApi>[] = []
  return {
    /** Builds and starts an API with `opts`; its base URL. */
    async serve(opts: Parameters<typeof buildApi>[0]): Promise<string> {
      const api = buildApi(opts)
      open.push(api)
      await api.listen({ host: '127.0.0.1', port: 0 })
      const a = api.server.address()
      return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
    },
    async closeAll(): Promise<void> {
      for (const s of open) await s.close()
    },
  }
}
