// Grouped bar chart of precision@5/10/25 per model, drawn as inline SVG (no library).

import { h } from '../dom.js';

const SERIES = [
  { key: 'precision_at_5', label: 'Precision@5', color: 'var(--chart-1)' },
  { key: 'precision_at_10', label: 'Precision@10', color: 'var(--chart-2)' },
  { key: 'precision_at_25', label: 'Precision@25', color: 'var(--chart-3)' },
];

function niceMax(value) {
  if (!(value > 0)) return 0.01;
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * exponent >= value) return step * exponent;
  }
  return 10 * exponent;
}

// Up to two lines of at most `max` characters, split at spaces.
function wrapLabel(text, max) {
  const lines = [''];
  for (const word of text.split(/\s+/)) {
    const line = lines[lines.length - 1];
    if (!line || `${line} ${word}`.length <= max) lines[lines.length - 1] = line ? `${line} ${word}` : word;
    else lines.push(word);
  }
  if (lines.length > 2) lines.splice(2, lines.length - 2, `${lines[1]}…`.slice(0, max));
  return lines.map((line) => (line.length > max ? `${line.slice(0, max - 1)}…` : line));
}

export function precisionChart(models) {
  const withMetrics = models.filter((m) => m.metrics);
  if (!withMetrics.length) {
    return h('p', { class: 'chart-empty' }, 'No model has metrics yet.');
  }
  const group = 132;
  const barWidth = 26;
  const left = 56;
  const top = 16;
  const plotHeight = 180;
  const width = left + withMetrics.length * group + 16;
  const height = top + plotHeight + 52;
  const maxValue = niceMax(
    Math.max(...withMetrics.flatMap((m) => SERIES.map((s) => m.metrics[s.key] || 0))),
  );
  const y = (value) => top + plotHeight - (value / maxValue) * plotHeight;

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxValue);
  const grid = ticks.map((value) =>
    h(
      'g',
      { class: 'chart__tick' },
      h('line', { x1: left, x2: width - 8, y1: y(value), y2: y(value) }),
      h('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, value.toFixed(4)),
    ),
  );
  const groups = withMetrics.map((model, index) => {
    const x0 = left + index * group + (group - SERIES.length * barWidth) / 2;
    const bars = SERIES.map((series, i) => {
      const value = model.metrics[series.key] || 0;
      return h(
        'rect',
        {
          class: 'chart__bar',
          x: x0 + i * barWidth,
          y: y(value),
          width: barWidth - 3,
          height: Math.max(0, top + plotHeight - y(value)),
          rx: 2,
          fill: series.color,
        },
        h('title', {}, `${model.name}: ${series.label} ${value.toFixed(4)}`),
      );
    });
    return h(
      'g',
      {},
      bars,
      h(
        'text',
        { class: 'chart__label', x: left + index * group + group / 2, y: top + plotHeight + 20, 'text-anchor': 'middle' },
        wrapLabel(model.name, 18).map((line, i) =>
          h('tspan', { x: left + index * group + group / 2, dy: i === 0 ? 0 : 15 }, line)),
      ),
    );
  });

  const summary = withMetrics
    .map((m) => `${m.name}: ${SERIES.map((s) => `${s.label} ${(m.metrics[s.key] || 0).toFixed(4)}`).join(', ')}`)
    .join('; ');
  return h(
    'figure',
    { class: 'chart' },
    h(
      'div',
      { class: 'chart__scroll' },
      h(
        'svg',
        {
          viewBox: `0 0 ${width} ${height}`,
          width,
          height,
          role: 'img',
          'aria-label': `Precision at 5, 10 and 25 per model. ${summary}`,
        },
        grid,
        h('line', { class: 'chart__axis', x1: left, x2: width - 8, y1: y(0), y2: y(0) }),
        groups,
      ),
    ),
    h(
      'figcaption',
      { class: 'chart__legend' },
      SERIES.map((s) =>
        h('span', { class: 'chart__key' }, h('span', { class: 'chart__swatch', style: `background: ${s.color}` }), s.label),
      ),
    ),
  );
}
