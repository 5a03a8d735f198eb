// A horizontal row of film tiles with its own loading, error and empty states, so
// one failing model never blanks the rest of the page.

import { h, uniqueId } from '../dom.js';

export function createRow({ title, subtitle = '', kind = '', name = '' }) {
  const headingId = uniqueId('row');
  const heading = h('h2', { class: 'row__title', id: headingId }, title);
  const sub = h('p', { class: 'row__subtitle' }, subtitle);
  const meta = h('p', { class: 'row__meta' });
  const body = h('div', { class: 'row__body' });
  const nav = h('div', { class: 'row__nav' });
  const el = h(
    'section',
    {
      class: `row ${kind ? `row--${kind}` : ''}`,
      'aria-labelledby': headingId,
      dataset: name ? { row: name } : {},
    },
    h('header', { class: 'row__header' }, h('div', {}, heading, sub), meta),
    nav,
    body,
  );

  const row = {
    el,
    setTitle(text, subtitleText) {
      heading.textContent = text;
      if (subtitleText !== undefined) sub.textContent = subtitleText;
    },
    // Navigation between the header and the films (the similar-items seed trail).
    setNav(content) {
      nav.replaceChildren(...(content ? [content] : []));
    },
    setMeta(text) {
      meta.textContent = text || '';
    },
    loading(count = 8) {
      el.setAttribute('aria-busy', 'true');
      el.dataset.state = 'loading';
      body.replaceChildren(
        h('p', { class: 'visually-hidden', role: 'status' }, `Loading ${heading.textContent}…`),
        h(
          'ol',
          { class: 'tiles tiles--skeleton', 'aria-hidden': 'true' },
          Array.from({ length: count }, () => h('li', { class: 'tile tile--skeleton' })),
        ),
      );
    },
    error(message, retry) {
      el.removeAttribute('aria-busy');
      el.dataset.state = 'error';
      body.replaceChildren(
        h(
          'div',
          { class: 'row__error', role: 'alert' },
          h('span', { class: 'row__error-icon', 'aria-hidden': 'true' }, '!'),
          h('p', {}, message),
          retry ? h('button', { type: 'button', class: 'button button--small', onclick: retry }, 'Try again') : null,
        ),
      );
    },
    message(text, action = null) {
      el.removeAttribute('aria-busy');
      el.dataset.state = 'empty';
      body.replaceChildren(h('div', { class: 'row__empty' }, h('p', {}, text), action));
    },
    tiles(items) {
      el.removeAttribute('aria-busy');
      el.dataset.state = 'ready';
      if (!items.length) {
        row.message('No films to show.');
        return;
      }
      body.replaceChildren(
        h(
          'ol',
          {
            class: 'tiles',
            tabindex: '0',
            'aria-label': `${heading.textContent}: ${items.length} films, scroll sideways for more`,
          },
          items,
        ),
      );
    },
  };
  row.loading();
  return row;
}
