/**
 * Empatica E4 CSV exports (E4 Connect "session download" format, Empatica support: "Data export and
 * formatting from E4 connect"):
 *   BVP.csv (64 Hz), EDA.csv (4 Hz, µS), TEMP.csv (4 Hz, °C), HR.csv (1 Hz, bpm):
 *     row 1 = session start, UNIX time in seconds (UTC); row 2 = sample rate in Hz; then one
 *     sample per row.
 *   ACC.csv (32 Hz): the same with three comma-separated columns (x, y, z) on every row, samples
 *     are integers in units of 1/64 g.
 *   IBI.csv: row 1 = "<start time>, IBI"; then rows "<offset seconds from start>, <IBI seconds>".
 * All numbers become integers: decimals are read into micro-units (value · 10^6, see decimal.ts),
 * so EDA is in picosiemens, TEMP in micro-°C, times in microseconds; ACC stays in 1/64 g counts.
 * Accepts "\n" or "\r\n" line ends and a missing final newline; anything else non-ASCII, a wrong
 * column count, a non-positive rate, or a file over the size limit is a typed DecodeError.
 */
import { MICRO, parseDecimalMicro } from './decimal.ts'
import { decodeFail, decodeTooLarge } from './fail.ts'

/** 16 MiB: a one-hour 64 Hz BVP export is ~3 MB. */
export const E4_MAX_FILE_BYTES = 16 * 1024 * 1024
export const E4_MAX_ROWS = 2_000_000

export type E4SignalKind = 'BVP' | 'EDA' | 'TEMP' | 'HR' | 'ACC'

export interface E4Signal {
  readonly kind: E4SignalKind
  /** Session start, UNIX time in microseconds. */
  readonly startUs: number
  /** Sample rate in micro-hertz (4 Hz -> 4_000_000). */
  readonly rateMicroHz: number
  /** 1, or 3 for ACC (interleaved x, y, z). */
  readonly columns: number
  /** Micro-units of the file's unit; for ACC integer 1/64 g counts. */
  readonly values: readonly number[]
}

export interface E4Ibi {
  readonly startUs: number
  /** Offsets from start and inter-beat intervals, both microseconds. */
  readonly offsetUs: readonly number[]
  readonly ibiUs: readonly number[]
}

function toBytes(input: Uint8Array | string): Uint8Array {
  if (typeof input === 'string') {
    if (input.length > E4_MAX_FILE_BYTES)
      decodeTooLarge('E4_TOO_LARGE', 'E4 file over the size limit', { length: input.length })
    const b = new Uint8Array(input.length)
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i)
      if (c > 0x7e) decodeFail('E4_NOT_ASCII', 'E4 file contains a non-ASCII character', { offset: i })
      b[i] = c
    }
    return b
  }
  if (!(input instanceof Uint8Array)) decodeFail('NOT_BYTES', 'E4 file: expected bytes or a string')
  if (input.length > E4_MAX_FILE_BYTES)
    decodeTooLarge('E4_TOO_LARGE', 'E4 file over the size limit', { length: input.length })
  return input
}

/** Splits into rows of cells (byte ranges); skips a final empty line. */
function rows(b: Uint8Array, visit: (cells: number[], row: number) => void): number {
  let row = 0
  let lineStart = 0
  const cells: number[] = []
  for (let i = 0; i <= b.length; i++) {
    const c = i < b.length ? b[i] : 0x0a
    if (c !== 0x0a && c !== 0x0d && c !== 0x2c && c !== 0x09 && (c < 0x20 || c > 0x7e)) {
      decodeFail('E4_NOT_ASCII', 'E4 file contains a control or non-ASCII byte', { offset: i })
    }
    if (c === 0x0a) {
      let end = i
      if (end > lineStart && b[end - 1] === 0x0d) end--
      if (i === b.length && end === lineStart) break // final newline
      cells.length = 0
      let cs = lineStart
      for (let k = lineStart; k < end; k++) {
        if (b[k] === 0x2c) {
          cells.push(cs, k)
          cs = k + 1
        }
      }
      cells.push(cs, end)
      if (row >= E4_MAX_ROWS)
        decodeTooLarge('E4_TOO_MANY_ROWS', 'E4 file has too many rows', { max: E4_MAX_ROWS })
      visit(cells, row)
      row++
      lineStart = i + 1
    } else if (c === 0x0d && (i + 1 >= b.length || b[i + 1] !== 0x0a)) {
      decodeFail('E4_BAD_LINE_END', 'bare carriage return in E4 file', { offset: i })
    }
  }
  return row
}

function columnsOf(kind: E4SignalKind): number {
  return kind === 'ACC' ? 3 : 1
}

export function parseE4Signal(kind: E4SignalKind, input: Uint8Array | string): E4Signal {
  if (!['BVP', 'EDA', 'TEMP', 'HR', 'ACC'].includes(kind))
    decodeFail('E4_UNKNOWN_KIND', 'unknown E4 signal kind', { kind })
  const b = toBytes(input)
  const cols = columnsOf(kind)
  let startUs = 0
  let rateMicroHz = 0
  const values: number[] = []
  const n = rows(b, (cells, row) => {
    if (cells.length !== 2 * cols)
      decodeFail('E4_ROW_COLUMNS', `E4 ${kind} row must have ${cols} column(s)`, {
        row,
        columns: cells.length / 2,
      })
    if (row <= 1) {
      const first = parseDecimalMicro(b, cells[0], cells[1])
      for (let c = 1; c < cols; c++) {
        if (parseDecimalMicro(b, cells[2 * c], cells[2 * c + 1]) !== first)
          decodeFail('E4_HEADER_MISMATCH', 'E4 header columns differ', { row })
      }
      if (row === 0) {
        if (first < 0) decodeFail('E4_BAD_START', 'E4 start time is negative')
        startUs = first
      } else {
        if (first <= 0) decodeFail('E4_BAD_RATE', 'E4 sample rate must be positive')
        rateMicroHz = first
      }
      return
    }
    for (let c = 0; c < cols; c++) {
      const v = parseDecimalMicro(b, cells[2 * c], cells[2 * c + 1])
      if (kind === 'ACC') {
        if (v % MICRO !== 0)
          decodeFail('E4_ACC_NOT_INTEGER', 'E4 ACC samples are integer 1/64 g counts', { row })
        values.push(v / MICRO)
      } else values.push(v)
    }
  })
  if (n < 2) decodeFail('E4_TRUNCATED', 'E4 file lacks its two header rows', { rows: n })
  return { kind, startUs, rateMicroHz, columns: cols, values }
}

export function parseE4Ibi(input: Uint8Array | string): E4Ibi {
  const b = toBytes(input)
  let startUs = 0
  const offsetUs: number[] = []
  const ibiUs: number[] = []
  const n = rows(b, (cells, row) => {
    if (cells.length !== 4) decodeFail('E4_ROW_COLUMNS', 'E4 IBI rows have two columns', { row })
    if (row === 0) {
      startUs = parseDecimalMicro(b, cells[0], cells[1])
      if (startUs < 0) decodeFail('E4_BAD_START', 'E4 start time is negative')
      let label = ''
      for (let k = cells[2]; k < cells[3]; k++) label += String.fromCharCode(b[k])
      if (label.trim().toUpperCase() !== 'IBI')
        decodeFail('E4_BAD_HEADER', 'E4 IBI header must be "<start>, IBI"')
      return
    }
    const off = parseDecimalMicro(b, cells[0], cells[1])
    const ibi = parseDecimalMicro(b, cells[2], cells[3])
    if (off < 0 || ibi <= 0) decodeFail('E4_BAD_IBI', 'E4 IBI offset must be >= 0 and interval > 0', { row })
    if (offsetUs.length > 0 && off <= offsetUs[offsetUs.length - 1])
      decodeFail('E4_BAD_IBI', 'E4 IBI offsets must increase', { row })
    offsetUs.push(off)
    ibiUs.push(ibi)
  })
  if (n < 1) decodeFail('E4_TRUNCATED', 'E4 IBI file is empty')
  return { startUs, offsetUs, ibiUs }
}
