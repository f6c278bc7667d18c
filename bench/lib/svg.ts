/** A tiny horizontal bar chart as standalone SVG (no dependencies). @module */

export interface Bar {
  label: string
  value: number
  /** Picks the colour: direct, bare, proxy, legate. */
  group?: string
  /** Text after the value, e.g. "0.62× nginx". */
  note?: string
}

const COLORS: Record<string, string> = { direct: '#9e9e9e', bare: '#5c8dd6', proxy: '#7fb069', legate: '#e07a2f' }
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  if (Math.abs(v) >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

export function barChart(o: { title: string; unit: string; bars: Bar[]; subtitle?: string }): string {
  const bars = o.bars.filter((b) => Number.isFinite(b.value))
  const labelW = 140
  const chartW = 420
  const noteW = 170
  const rowH = 24
  const top = o.subtitle ? 52 : 36
  const width = labelW + chartW + noteW + 20
  const height = top + bars.length * rowH + 16
  const max = Math.max(...bars.map((b) => Math.max(0, b.value)), 1e-9)
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH
      const w = Math.max(1, (Math.max(0, b.value) / max) * chartW)
      const color = COLORS[b.group ?? ''] ?? '#888'
      return `  <text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>
  <rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>
  <text x="${(labelW + w + 6).toFixed(1)}" y="${y + 16}">${fmt(b.value)}${b.note ? ` <tspan fill="#666">${esc(b.note)}</tspan>` : ''}</text>`
    })
    .join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="10" y="20" font-size="14" font-weight="600">${esc(o.title)} <tspan font-weight="400" fill="#666">(${esc(o.unit)})</tspan></text>
${o.subtitle ? `  <text x="10" y="38" fill="#666">${esc(o.subtitle)}</text>\n` : ''}${rows}
</svg>
`
}
