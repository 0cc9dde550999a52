/** Hash routing (#/explorer/hub/tx/ab12...): the node serves one index.html, no server routes needed. */
import { useSyncExternalStore } from 'react'

const subscribe = (l: () => void) => {
  window.addEventListener('hashchange', l)
  return () => window.removeEventListener('hashchange', l)
}
const current = () => location.hash.replace(/^#\/?/, '')

/** The route as path segments (URI-decoded). */
export function useRoute(): string[] {
  const h = useSyncExternalStore(subscribe, current)
  return h === '' ? [] : h.split('/').map((s) => decodeURIComponent(s))
}

export const href = (...parts: (string | number)[]) =>
  `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`

export function navigate(...parts: (string | number)[]): void {
  location.hash = href(...parts)
}
