// A film tile: the poster when it loads, otherwise a generated title card.
// The card is always drawn underneath and the image only shows once it has loaded, so a
// missing, slow or failing poster can never show as a broken image.

import { h } from '../dom.js';

// Card colours, picked from the film id so a film keeps its colour everywhere.
const PALETTES = [
  ['#312e81', '#6366f1'],
  ['#7c2d12', '#f97316'],
  ['#134e4a', '#14b8a6'],
  ['#701a75', '#d946ef'],
  ['#1e3a8a', '#3b82f6'],
  ['#3f6212', '#84cc16'],
  ['#881337', '#f43f5e'],
  ['#422006', '#ca8a04'],
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
    img.src = movie.poster_url;
    frame.append(img);
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
// whole tile a button (similar items: pick a new seed).
export function tile(movie, genreNames, { extra = null, onSelect = null, label = null, badge = null } = {}) {
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
  if (onSelect) {
    return h(
      'li',
      attrs,
      h(
        'button',
        {
          type: 'button',
          class: 'tile__button',
          'aria-label': label || `Show films similar to ${movie.title}`,
          onclick: () => onSelect(movie),
        },
        body,
      ),
    );
  }
  return h('li', attrs, h('div', { class: 'tile__inner' }, body));
}
