import type { CaseResult } from './wrk.js'

const escapeXml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;')

export interface Bar {
  readonly name: string
  readonly value: number
}

/** One group of bars on a shared scale, with an optional reference bar drawn as a dashed line. */
export interface Panel {
  readonly title: string
  readonly unit: string
  readonly bars: readonly Bar[]
  readonly referenceName?: string | null
}

const BAR_HEIGHT = 26
const PLOT_WIDTH = 460
const PANEL_GAP = 34

/** Horizontal bar charts stacked under one title; flink-guard's bars blue, the others grey. */
export function renderPanels(title: string, panels: readonly Panel[]): string {
  // 12 px sans-serif: about 6.5 px a character, so the longest bar name fits left of the bars.
  const names = panels.flatMap((panel) => panel.bars.map((bar) => bar.name.length))
  const labelWidth = 16 + Math.ceil(6.5 * Math.max(...names, 20))
  let top = 20
  const drawn = panels.map((panel) => {
    const heading =
      panel.title === ''
        ? ''
        : `<text x="8" y="${top + 14}" font-style="italic">${escapeXml(panel.title)}</text>`
    if (panel.title !== '') top += 20
    const max = Math.max(...panel.bars.map((bar) => bar.value), 1)
    const x = (value: number) => labelWidth + (value / max) * PLOT_WIDTH
    const bars = panel.bars.map((bar, index) => {
      const y = top + index * BAR_HEIGHT
      const fill = bar.name.startsWith('flink-guard') ? '#2f6fb0' : '#9aa5b1'
      return [
        `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(bar.name)}</text>`,
        `<rect x="${labelWidth}" y="${y + 4}" width="${(x(bar.value) - labelWidth).toFixed(1)}" height="${BAR_HEIGHT - 8}" fill="${fill}"/>`,
        `<text x="${(x(bar.value) + 6).toFixed(1)}" y="${y + 17}">${Math.round(bar.value)} ${escapeXml(panel.unit)}</text>`,
      ].join('')
    })
    const reference = panel.bars.find((bar) => bar.name === panel.referenceName)
    const bottom = top + panel.bars.length * BAR_HEIGHT
    const line = reference
      ? `<line x1="${x(reference.value).toFixed(1)}" x2="${x(reference.value).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#c0392b" stroke-dasharray="4 3"/>`
      : ''
    top = bottom + PANEL_GAP
    return [heading, ...bars, line].join('\n')
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + PLOT_WIDTH + 120}" height="${top}" font-family="sans-serif" font-size="12">
<text x="8" y="14" font-weight="bold">${escapeXml(title)}</text>
${drawn.join('\n')}
</svg>
`
}

/** A horizontal bar chart of req/s per case, with the NGINX TLS row as a dashed reference line. */
export function renderChart(
  results: readonly Pick<CaseResult, 'name' | 'requestsPerSec'>[],
  referenceName: string | null,
  title = 'flink-guard forwarding benchmark (keep-alive GET, req/s; dashed: NGINX TLS)',
): string {
  const bars = results.map((result) => ({ name: result.name, value: result.requestsPerSec }))
  return renderPanels(title, [{ title: '', unit: 'req/s', bars, referenceName }])
}
