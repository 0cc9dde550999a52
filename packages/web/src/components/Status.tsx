import type { ReactNode } from 'react'

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  )
}

export function ErrorBox({ error, retry }: { error: Error | string; retry?: () => void }) {
  const e = typeof error === 'string' ? { message: error } : error
  const code = (e as { code?: string }).code
  return (
    <div className="error" role="alert">
      <strong>{code ?? 'Error'}</strong>: {e.message}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  )
}

/** Loading / error / empty / content for one query result. */
export function Show<T>({
  q,
  children,
  empty,
  what,
}: {
  q: { data: T | undefined; error: Error | undefined; loading: boolean; reload: () => void }
  children: (data: T) => ReactNode
  empty?: (data: T) => boolean
  what?: string
}) {
  if (q.data === undefined) {
    if (q.error) return <ErrorBox error={q.error} retry={q.reload} />
    return <Loading what={what} />
  }
  return (
    <>
      {q.error && <ErrorBox error={q.error} retry={q.reload} />}
      {empty?.(q.data) ? <p className="muted">Nothing yet.</p> : children(q.data)}
    </>
  )
}

export function Badge({
  tone,
  children,
  title,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'info'
  children: ReactNode
  title?: string
}) {
  return (
    <span className={`badge ${tone}`} title={title}>
      {children}
    </span>
  )
}

export function Card({
  title,
  children,
  actions,
}: {
  title: ReactNode
  children: ReactNode
  actions?: ReactNode
}) {
  return (
    <section className="card">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  )
}
