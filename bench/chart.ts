import type { CaseResult } from './wrk.js'

const escapeXml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;')

/** A horizontal bar chart of req/s per case, with the NGINX TLS row as a dashed reference line. */
export function renderChart(
  results: readonly Pick<CaseResult, 'name' | 'requestsPerSec'>[],
  referenceName: string | null,
  title = 'flink-guard forwarding benchmark (keep-alive GET, req/s; dashed: NGINX TLS)',
): string {
  const barHeight = 26
  // 12 px sans-serif: about 6.5 px a character, so the longest case name fits left of the bars.
  const labelWidth = 16 + Math.ceil(6.5 * Math.max(...results.map((result) => result.name.length), 20))
  const plotWidth = 460
  const height = results.length * barHeight + 50
  const max = Math.max(...results.map((result) => result.requestsPerSec), 1)
  const x = (value: number) => labelWidth + (value / max) * plotWidth
  const reference = results.find((result) => result.name === referenceName)
  const bars = results.map((result, index) => {
    const y = 20 + index * barHeight
    const fill = result.name.startsWith('flink-guard') ? '#2f6fb0' : '#9aa5b1'
    return [
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(result.name)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${(x(result.requestsPerSec) - labelWidth).toFixed(1)}" height="${barHeight - 8}" fill="${fill}"/>`,
      `<text x="${(x(result.requestsPerSec) + 6).toFixed(1)}" y="${y + 17}">${Math.round(result.requestsPerSec)} req/s</text>`,
    ].join('')
  })
  const line = reference
    ? `<line x1="${x(reference.requestsPerSec).toFixed(1)}" x2="${x(reference.requestsPerSec).toFixed(1)}" y1="12" y2="${height - 20}" stroke="#c0392b" stroke-dasharray="4 3"/>`
    : ''
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 120}" height="${height}" font-family="sans-serif" font-size="12">
<text x="8" y="14" font-weight="bold">${escapeXml(title)}</text>
${bars.join('\n')}
${line}
</svg>
`
}
