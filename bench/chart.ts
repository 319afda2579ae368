/**
 * An SVG bar chart of a run: one group per scenario, one bar per contender, each bar's length
 * relative to the fastest contender of its scenario (scenarios differ by orders of magnitude),
 * labelled with its median ops/s.
 */
import { ALL, formatOps, type Results } from './report.js'

const COLORS: Record<(typeof ALL)[number], string> = {
  tiercache: '#2563eb',
  raw: '#9ca3af',
  bentocache: '#f59e0b',
  'cache-manager': '#10b981',
}

const WIDTH = 860
const LABEL_WIDTH = 270
const BAR_AREA = WIDTH - LABEL_WIDTH - 80
const BAR = 11
const GAP = 2

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function renderChart(results: Results): string {
  const parts: string[] = []
  let y = 56
  for (const scenario of results.scenarios) {
    const present = ALL.filter((c) => scenario.opsPerSec[c] !== undefined)
    const max = Math.max(...present.map((c) => scenario.opsPerSec[c]?.median ?? 0))
    const groupHeight = present.length * (BAR + GAP)
    parts.push(
      `<text x="${LABEL_WIDTH - 10}" y="${y + groupHeight / 2 + 4}" text-anchor="end" class="label">${escape(scenario.title)}</text>`,
    )
    for (const contender of present) {
      const median = scenario.opsPerSec[contender]?.median ?? 0
      const length = max > 0 ? Math.max(1, (median / max) * BAR_AREA) : 1
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${length.toFixed(1)}" height="${BAR}" fill="${COLORS[contender]}"/>`,
      )
      parts.push(
        `<text x="${(LABEL_WIDTH + length + 4).toFixed(1)}" y="${y + BAR - 2}" class="value">${formatOps(median)}</text>`,
      )
      y += BAR + GAP
    }
    y += 12
  }
  const legend = ALL.map(
    (c, i) =>
      `<rect x="${LABEL_WIDTH + i * 140}" y="28" width="12" height="12" fill="${COLORS[c]}"/>` +
      `<text x="${LABEL_WIDTH + i * 140 + 16}" y="38" class="value">${c === 'raw' ? 'raw floor' : c}</text>`,
  ).join('')
  const height = y + 24
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>.label{font-size:12px;fill:#111}.value{font-size:10px;fill:#333}.title{font-size:14px;font-weight:600;fill:#111}.note{font-size:10px;fill:#666}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="10" y="18" class="title">tiercache vs raw libraries and peers: ops/s (median), bars relative to the fastest per scenario</text>`,
    legend,
    ...parts,
    `<text x="10" y="${height - 8}" class="note">${escape(`Node ${results.node}, ${results.cpus} cores, ${results.redis}, ${results.date.slice(0, 10)}`)}</text>`,
    '</svg>',
  ].join('\n')
}
