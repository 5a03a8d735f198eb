// A film tile: the poster when it loads, otherwise a generated title card.
// The card is always drawn underneath and the image only shows once it has loaded, so a
// missing, slow or failing poster can never show as a broken image.

import { h } from '../dom.js';

// Card colours, picked from the film id so a film keeps its colour everywhere. Both ends
// of every gradient hold white text at 4.9:1 or more (WCAG AA asks 4.5:1;
// tests/frontend/test_browser.py measures it on the page).
const PALETTES = [
  ['#312e81', '#4f46e5'],
  ['#7c2d12', '#c2410c'],
  ['#134e4a', '#0f766e'],
  ['#701a75', '#a21caf'],
  ['#1e3a8a', '#1d4ed8'],
  ['#3f6212', '#4d7c0f'],
  ['#881337', '#be123c'],
  ['#422006', '#a16207'],
];

export function genreLabel(movie, genreNames) {
  const names = (movie.genres || []).map((slug) => genreNames.get(slug) || slug);
  return names.length ? names.join(', ') : 'Genre unknown';
}

export function titleCard(movie, genreNames) {
  const [from, to] = PALETTES[Math.abs(Number(movie.id) || 0) % PALETTES.length];
  return h(
    'div',
    {
      class: 'title-card',
      style: `--card-from: ${from}; --card-to: ${to}`,
      'aria-hidden': 'true',
    },
    h('span', { class: 'title-card__title' }, movie.title),
    h('span', { class: 'title-card__year' }, movie.year ?? ''),
    h('span', { class: 'title-card__genres' }, genreLabel(movie, genreNames)),
  );
}

// Whether a poster host answers, learnt from its first posters: when the first two asked
// of it both fail (offline, blocked) it is taken as down and no other poster is asked of
// it, so an offline page logs two failed loads instead of one per film, and every tile
// keeps its title card. One success and every poster is asked for (a single missing one
// then fails alone). Probing is one poster at a time, the others waiting for the verdict.
const PROBES = 2;
const hosts = new Map(); // origin -> { up: true | false | null, failures, probe }

function loads(url) {
  return new Promise((resolve) => {
    const probe = new Image();
    probe.referrerPolicy = 'no-referrer';
    probe.onload = () => resolve(probe.naturalWidth > 0);
    probe.onerror = () => resolve(false);
    probe.src = url;
  });
}

// Whether to ask for `url`: true once its host is known to serve; false when the host is
// down or `url` itself was a failed probe.
async function worthLoading(url) {
  const origin = new URL(url).origin;
  let host = hosts.get(origin);
  if (!host) {
    host = { up: null, failures: 0, probe: null };
    hosts.set(origin, host);
  }
  while (host.up === null) {
    if (host.probe) {
      await host.probe;
      continue;
    }
    host.probe = loads(url);
    const ok = await host.probe;
    host.probe = null;
    if (ok) host.up = true;
    else if (++host.failures >= PROBES) host.up = false;
    if (!ok) return false;
  }
  return host.up;
}

export function poster(movie, genreNames) {
  const frame = h('div', { class: 'poster' }, titleCard(movie, genreNames));
  if (movie.poster_url && /^https?:\/\//.test(movie.poster_url)) {
    const img = h('img', {
      alt: `Poster of ${movie.title}${movie.year ? ` (${movie.year})` : ''}`,
      loading: 'lazy',
      decoding: 'async',
      referrerpolicy: 'no-referrer',
      width: 182,
      height: 268,
    });
    img.addEventListener('load', () => {
      if (img.naturalWidth > 0) frame.classList.add('poster--loaded');
      else img.remove();
    });
    img.addEventListener('error', () => img.remove());
    worthLoading(movie.poster_url).then((worth) => {
      if (!worth) return;
      img.src = movie.poster_url;
      frame.append(img);
    });
  }
  return frame;
}

// A rating as five star glyphs, hidden from screen readers (callers say it in words).
function starGlyphs(rating) {
  return [
    h('span', { class: 'stars__full', 'aria-hidden': 'true' }, '★'.repeat(rating)),
    h('span', { class: 'stars__empty', 'aria-hidden': 'true' }, '☆'.repeat(Math.max(0, 5 - rating))),
  ];
}

export function stars(rating) {
  return h('span', { class: 'stars', role: 'img', 'aria-label': `Rated ${rating} out of 5` }, starGlyphs(rating));
}

// The selected user's own rating of a film shown in a model's row: "You rated ★★★★☆ 4/5"
// on screen, "You rated this 4 out of 5 stars" to a screen reader.
export function yourRating(rating) {
  return h(
    'span',
    { class: 'tile__rated', dataset: { rating: String(rating) } },
    h('span', { class: 'visually-hidden' }, `You rated this ${rating} out of 5 stars`),
    h('span', { 'aria-hidden': 'true' },
      'You rated ', h('span', { class: 'stars' }, starGlyphs(rating)), ` ${rating}/5`),
  );
}

// One tile. `extra` is appended under the text (stars, a badge); `onSelect` makes the
// whole tile a button (similar items: pick a new seed) whose accessible name is
// `action` (read first, hidden on screen) followed by the tile's visible text, so the
// name a speech-input user says is the one they see (WCAG 2.5.3).
export function tile(movie, genreNames, { extra = null, onSelect = null, onDetails = null, action = 'Show films similar to', badge = null } = {}) {
  const body = [
    poster(movie, genreNames),
    badge ? h('span', { class: 'tile__badge' }, badge) : null,
    h(
      'span',
      { class: 'tile__text' },
      h('span', { class: 'tile__year' }, movie.year ?? '—'),
      h('strong', { class: 'tile__title' }, movie.title),
      h('span', { class: 'tile__genres' }, genreLabel(movie, genreNames)),
      extra,
    ),
  ];
  const attrs = { class: 'tile', dataset: { movieId: String(movie.id) } };
  // Beside the tile's own button, never inside it (a button may not hold another).
  const details = onDetails
    ? h('button', { type: 'button', class: 'tile__details', onclick: (event) => onDetails(movie, event.currentTarget) },
      'Details', h('span', { class: 'visually-hidden' }, ` of ${movie.title}`))
    : null;
  if (onSelect) {
    return h(
      'li',
      attrs,
      h(
        'button',
        { type: 'button', class: 'tile__button', onclick: () => onSelect(movie) },
        h('span', { class: 'visually-hidden' }, `${action}: `),
        body,
      ),
      details,
    );
  }
  return h('li', attrs, h('div', { class: 'tile__inner' }, body), details);
}
