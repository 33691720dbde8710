/**
 * SVG charts drawn in the page (no library, no build step): grouped bars with a legend and
 * every value written beside its bar, so the chart reads without colour too. Each chart is an
 * image (role="img") labelled by its figure's caption and summarised in a <desc>.
 */
const SVG = 'http://www.w3.org/2000/svg';
/** Colours with at least 3:1 contrast on white (WCAG 1.4.11). */
export const PALETTE = ['#4338ca', '#067647', '#b42318', '#93600a', '#175cd3', '#475467'];

function el(name, attrs = {}, text = '') {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}

/** A legend list for `series` names. */
export function legend(series) {
  const list = document.createElement('ul');
  list.className = 'admin-legend';
  series.forEach((name, i) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'admin-legend__swatch';
    swatch.style.background = PALETTE[i % PALETTE.length];
    item.append(swatch, name);
    list.append(item);
  });
  return list;
}

/**
 * Grouped vertical bars.
 * @param {{groups: string[], series: string[], values: number[][], labelledBy: string,
 *   format?: (v: number) => string, max?: number}} chart values[g][s]
 */
export function groupedBars({ groups, series, values, labelledBy, format = String, max }) {
  const width = 900;
  const height = 260;
  const left = 40;
  const bottom = 40;
  const top = 20;
  const top_ = max ?? Math.max(1e-9, ...values.flat());
  const slot = (width - left) / Math.max(groups.length, 1);
  const bar = Math.max(4, Math.min(40, (slot - 12) / Math.max(series.length, 1)));
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': labelledBy });
  const summary = groups.map((g, gi) =>
    `${g}: ${series.map((s, si) => `${s} ${format(values[gi][si])}`).join(', ')}`).join('; ');
  svg.append(el('desc', {}, summary || 'No data yet.'));
  svg.append(el('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: '#8b92a5' }));
  groups.forEach((group, gi) => {
    const x0 = left + gi * slot + (slot - bar * series.length) / 2;
    series.forEach((name, si) => {
      const value = values[gi][si] ?? 0;
      const h = ((height - bottom - top) * value) / top_;
      const x = x0 + si * bar;
      const y = height - bottom - h;
      const rect = el('rect', { x, y, width: bar - 2, height: Math.max(h, 0), fill: PALETTE[si % PALETTE.length] });
      rect.append(el('title', {}, `${group}, ${name}: ${format(value)}`));
      svg.append(rect);
      svg.append(el('text', { x: x + (bar - 2) / 2, y: y - 4, 'text-anchor': 'middle' }, format(value)));
    });
    svg.append(el('text', { x: left + gi * slot + slot / 2, y: height - bottom + 18, 'text-anchor': 'middle' }, group));
  });
  if (!groups.length) svg.append(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'No searches yet.'));
  return svg;
}
