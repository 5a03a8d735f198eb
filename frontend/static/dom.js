// A tiny element builder: h('p', {class: 'x', onclick: fn}, 'text', child).
// Text always goes in as text nodes, so data from the APIs can never inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(
    SVG_TAGS.has(tag) ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml',
    tag,
  );
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style') {
      // Through CSSOM: a style *attribute* would need 'unsafe-inline' in the page's CSP.
      el.style.cssText = String(value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_TAGS = new Set(['svg', 'g', 'rect', 'line', 'text', 'tspan', 'path', 'title', 'desc']);

let uid = 0;
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

export const numberFormat = new Intl.NumberFormat('en-US');

export function formatMetric(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(4) : '—';
}
