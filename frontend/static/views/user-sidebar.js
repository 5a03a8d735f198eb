// The user page's sidebar: the control panel (mode, models, genre, ordering, reviews,
// previous/next user), the user's facts and their review summary by star value.

import { h, numberFormat } from '../dom.js';
import { MODES } from './modes.js';

const GENDERS = { M: 'Male', F: 'Female' };

export function controlPanel(page) {
  const { state } = page;
  const modeSelect = select('mode', 'Mode',
    Object.entries(MODES).map(([value, m]) => [value, m.label]), state.mode,
    // A new mode starts from that mode's defaults, like a fresh visit.
    (value) => page.navigate({ mode: value, m1: undefined, m2: undefined, genre: undefined, seed: undefined, trail: undefined, order: undefined }));
  const controls = [modeSelect];
  const modelOptions = [['none', 'No model'], ...state.ofType.map((m) => [String(m.id), m.name])];
  const valueOf = (id) => (id === null ? 'none' : String(id));
  if (state.mode === 'recommendations') {
    controls.push(
      select('model1', 'Model 1', modelOptions, valueOf(state.m1), (v) => page.navigate({ m1: v })),
      select('model2', 'Model 2', modelOptions, valueOf(state.m2), (v) => page.navigate({ m2: v })),
    );
  } else if (state.mode === 'ranking') {
    const genreOptions = [['all', 'All genres'],
      ...page.genres.filter((g) => g.slug !== 'unknown').map((g) => [g.slug, g.name])];
    controls.push(
      select('genre', 'Genre', genreOptions, state.genre, (v) => page.navigate({ genre: v })),
      select('model1', 'Ranking model', modelOptions, valueOf(state.m1), (v) => page.navigate({ m1: v })),
    );
  } else {
    const noRanker = !state.rankers.length;
    controls.push(
      select('model1', 'Similar-items model', modelOptions, valueOf(state.m1), (v) => page.navigate({ m1: v })),
      // `popular` is the URL's value for the model's own order (kept so old links work).
      select('order', 'Ordering', [['popular', "The model's own order"], ['personal', 'Re-ranked for you']],
        state.order, (v) => page.navigate({ order: v }), {
          disabled: noRanker,
          hint: noRanker
            ? 'Register a ranking model to personalize this list.'
            : `Re-ranked for you by ${state.rankers[0].name}.`,
        }),
    );
  }
  const toggle = h('input', {
    type: 'checkbox',
    id: 'show-reviews',
    class: 'switch__input',
    checked: state.reviews,
    onchange: (event) => page.navigate({ reviews: event.target.checked ? 'on' : 'off' }),
  });
  controls.push(
    h('div', { class: 'field field--switch' },
      toggle,
      h('label', { for: 'show-reviews', class: 'switch' }, 'Show my top reviews')),
  );
  const { previous_id: prev, next_id: next } = page.user;
  const userNav = h(
    'div',
    { class: 'button-row', role: 'group', 'aria-label': 'Change user' },
    h('button', {
      type: 'button', class: 'button', id: 'prev-user', disabled: prev === null,
      'aria-label': prev === null ? 'Previous user (this is the first user)' : `Previous user (${prev})`,
      onclick: () => page.navigate({ seed: undefined, trail: undefined }, { userId: prev }),
    }, h('span', { 'aria-hidden': 'true' }, '← '), 'Previous'),
    h('button', {
      type: 'button', class: 'button', id: 'next-user', disabled: next === null,
      'aria-label': next === null ? 'Next user (this is the last user)' : `Next user (${next})`,
      onclick: () => page.navigate({ seed: undefined, trail: undefined }, { userId: next }),
    }, 'Next', h('span', { 'aria-hidden': 'true' }, ' →')),
    h('a', { class: 'button button--ghost', id: 'home', href: '#/' }, 'Home'),
  );
  return h('section', { class: 'panel control-panel', 'aria-labelledby': 'controls-heading' },
    h('h2', { id: 'controls-heading' }, 'Control panel'), controls, userNav);
}

export function userPanel(page) {
  const u = page.user;
  const occupation = u.occupation ? u.occupation.charAt(0).toUpperCase() + u.occupation.slice(1) : '—';
  return h('section', { class: 'panel user-panel', 'aria-labelledby': 'user-heading' },
    h('h2', { id: 'user-heading' }, 'Current user'),
    h('div', { class: 'user-card' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, String(u.id)),
      h('dl', { class: 'facts' },
        fact('User id', String(u.id), 'user-id-value'),
        fact('Age', String(u.age)),
        fact('Gender', GENDERS[u.gender] || u.gender),
        fact('Occupation', occupation),
        fact('Reviews', numberFormat.format(u.review_count)),
      ),
    ),
  );
}

export function summaryPanel(page) {
  const lines = page.user.review_summary || [];
  return h('section', { class: 'panel summary-panel', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, 'Review summary'),
    h('ul', { class: 'summary' },
      lines.map((line) => h('li', { class: 'summary__line', dataset: { rating: String(line.rating) } },
        h('span', { class: 'summary__label' }, `${line.rating}★`),
        h('span', { class: 'summary__bar', 'aria-hidden': 'true' },
          h('span', { style: `width: ${Math.min(100, line.percent)}%` })),
        h('span', { class: 'summary__value' },
          `${line.percent.toFixed(1)}% (${numberFormat.format(line.count)} ${line.count === 1 ? 'review' : 'reviews'})`),
      )),
    ),
  );
}

function select(id, label, options, value, onChange, { disabled = false, hint = null } = {}) {
  const hintId = hint ? `${id}-hint` : null;
  const el = h('select', {
    id, name: id, disabled, 'aria-describedby': hintId,
    onchange: (event) => onChange(event.target.value),
  }, options.map(([v, text]) => h('option', { value: v }, text)));
  el.value = value;
  return h('div', { class: 'field' },
    h('label', { for: id }, label), el,
    hint ? h('p', { class: 'field__hint', id: hintId }, hint) : null);
}

function fact(label, value, id) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', id ? { id } : {}, value));
}
