/**
 * Not in the menu: #/render-check/<rows>/<virtual|plain> renders a synthetic table of <rows> rows,
 * virtualized (the dashboard's VirtualTable) or as a plain <table> (the comparison), and records
 * when it first painted (window.__renderCheck). The web bench scrolls it and reads long tasks.
 */
import { useEffect, useMemo } from 'react'
import { VirtualTable } from '../components/VirtualTable.tsx'

interface Row {
  i: number
  hash: string
  txs: number
}

declare global {
  interface Window {
    __renderCheck?: { start: number; painted?: number }
  }
}

export function RenderCheck({ rows: rowsParam, mode }: { rows?: string; mode?: string }) {
  const n = Math.min(Math.max(Number(rowsParam) || 10_000, 1), 200_000)
  window.__renderCheck ??= { start: performance.now() }
  const rows = useMemo(
    () =>
      Array.from(
        { length: n },
        (_, i): Row => ({ i, hash: (i * 2654435761).toString(16).padStart(16, '0'), txs: i % 7 }),
      ),
    [n],
  )
  useEffect(() => {
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        if (window.__renderCheck) window.__renderCheck.painted = performance.now()
      }),
    )
  }, [])
  return (
    <>
      <h1>
        Render check: {n.toLocaleString()} rows, {mode === 'plain' ? 'plain table' : 'virtualized'}
      </h1>
      {mode === 'plain' ? (
        <div className="plainbox" data-testid="render-scroll" style={{ height: 520, overflow: 'auto' }}>
          <table className="table">
            <thead>
              <tr>
                <th>#</th>
                <th>Hash</th>
                <th className="num">Txs</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.i}>
                  <td>{r.i}</td>
                  <td>
                    <code>{r.hash}</code>
                  </td>
                  <td className="num">{r.txs}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <VirtualTable
          label="render check"
          testId="render-table"
          rows={rows}
          rowKey={(r) => String(r.i)}
          height={520}
          columns={[
            { key: 'i', header: '#', width: '6rem', render: (r) => r.i },
            { key: 'h', header: 'Hash', width: '1fr', render: (r) => <code>{r.hash}</code> },
            { key: 't', header: 'Txs', width: '4rem', align: 'right', render: (r) => r.txs },
          ]}
        />
      )}
    </>
  )
}
