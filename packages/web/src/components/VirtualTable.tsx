/**
 * A table that renders only the rows in view (@tanstack/react-virtual): 10,000 blocks or a deep
 * order book cost the same few dozen DOM rows, so the page never freezes on a big list.
 */
import { useVirtualizer } from '@tanstack/react-virtual'
import { type ReactNode, useRef } from 'react'

export interface Column<T> {
  key: string
  header: string
  /** CSS grid track, e.g. '6rem' or '1fr'. */
  width: string
  align?: 'left' | 'right'
  render: (row: T) => ReactNode
}

export function VirtualTable<T>({
  rows,
  columns,
  rowKey,
  height = 420,
  rowHeight = 34,
  label,
  rowClass,
  testId,
}: {
  rows: T[]
  columns: Column<T>[]
  rowKey: (row: T) => string
  height?: number
  rowHeight?: number
  label: string
  rowClass?: (row: T) => string
  testId?: string
}) {
  const parent = useRef<HTMLTableSectionElement>(null)
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => rowHeight,
    overscan: 10,
  })
  const grid = columns.map((c) => c.width).join(' ')
  return (
    <table className="vtable" aria-label={label} aria-rowcount={rows.length + 1} data-testid={testId}>
      <thead>
        <tr className="vrow vhead" style={{ gridTemplateColumns: grid }}>
          {columns.map((c) => (
            <th key={c.key} scope="col" className={c.align === 'right' ? 'num' : undefined}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody
        ref={parent}
        className="vbody"
        style={{ height: Math.min(height, Math.max(rows.length, 1) * rowHeight + 2) }}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable by keyboard
        tabIndex={0}
      >
        <tr className="vspacer" style={{ height: v.getTotalSize() }} />
        {v.getVirtualItems().map((it) => {
          const row = rows[it.index]
          return (
            <tr
              key={rowKey(row)}
              aria-rowindex={it.index + 2}
              className={`vrow ${rowClass?.(row) ?? ''}`}
              style={{ gridTemplateColumns: grid, height: it.size, transform: `translateY(${it.start}px)` }}
            >
              {columns.map((c) => (
                <td key={c.key} className={c.align === 'right' ? 'num' : undefined}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          )
        })}
        {rows.length === 0 && (
          <tr className="vrow">
            <td className="muted">Nothing yet.</td>
          </tr>
        )}
      </tbody>
    </table>
  )
}
