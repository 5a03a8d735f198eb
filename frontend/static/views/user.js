// The user page: who the user is, what they rated highest, and what the models make of
// them in one of three modes. Everything chosen here is in the URL (see router.js).

import { catalog, recommender, registry } from '../api.js';
import { genreLabel as genreText, stars, tile, yourRating } from '../components/poster.js';
import { createRow } from '../components/row.js';
import { h, numberFormat } from '../dom.js';
import { go, replace } from '../router.js';
import { errorBox } from './home.js';
import { MODES } from './modes.js';
import { controlPanel, summaryPanel, userPanel } from './user-sidebar.js';

// After a film is picked as the new seed, keyboard focus goes to the rebuilt row.
let focusSimilarRow = false;

// How many earlier seeds the similar-items trail keeps (in the URL).
const MAX_TRAIL = 12;

// The ranking view marks every film the user rated, so it asks the catalog for all of a
// user's reviews: its largest page, above the most any ml-100k user has (737).
const ALL_RATINGS = 1000;

// A user id as the catalog knows them: a whole number from 1.
const USER_ID = /^[1-9]\d{0,8}$/;

export async function renderUser(main, rawId, params, signal) {
  if (!USER_ID.test(rawId)) {
    document.title = 'videorecs · No such user';
    main.replaceChildren(
      h('section', { class: 'panel panel--narrow' },
        h('h1', {}, 'No such user'),
        h('p', { class: 'notice notice--error', role: 'alert' },
          `“${rawId.slice(0, 40)}” is not a user id: user ids are whole numbers from 1 up.`),
        h('p', {}, h('a', { class: 'button', href: '#/' }, 'Back to the models')),
      ),
    );
    return;
  }
  const userId = Number(rawId);
  let user;
  try {
    user = await catalog.user(userId);
  } catch (error) {
    if (error.name === 'AbortError' || signal.aborted) return;
    document.title = 'videorecs · User not found';
    main.replaceChildren(
      h('section', { class: 'panel panel--narrow' },
        h('h1', {}, `User ${userId}`),
        errorBox(error),
        h('p', {}, h('a', { class: 'button', href: '#/' }, 'Back to the models')),
      ),
    );
    return;
  }
  // Models and genres only feed the controls: without them the page still renders.
  const [models, genres] = await Promise.all([
    registry.models().then((r) => r.data, (error) => ({ error })),
    catalog.genres().then((r) => r.data, () => []),
  ]);
  if (signal.aborted) return;
  const state = resolveState(params, Array.isArray(models) ? models : [], genres);
  if (state.mode === 'similar' && state.seed === null) {
    try {
      const reviews = await catalog.reviews(userId);
      state.seed = reviews.data.length ? reviews.data[0].movie.id : null;
    } catch (error) {
      state.seedError = error; // the similar row says why
    }
    if (signal.aborted) return;
  }
  const canonical = paramsOf(state);
  replace(['users', String(userId)], canonical);

  const page = new UserPage({ user, models, genres, state, canonical, signal });
  document.title = `videorecs · User ${user.id} · ${MODES[state.mode].label}`;
  main.replaceChildren(page.render());
  page.load();
  if (focusSimilarRow) {
    focusSimilarRow = false;
    main.querySelector('[data-row="similar"]')?.focus({ preventScroll: true });
  }
}

// What the URL asks for, with defaults filled in and unknown values dropped.
function resolveState(params, models, genres) {
  const mode = Object.hasOwn(MODES, params.get('mode') ?? '') ? params.get('mode') : 'recommendations';
  const ofType = models.filter((m) => m.type === MODES[mode].type);
  const pick = (value, fallback) => {
    if (value === 'none') return null;
    const found = ofType.find((m) => String(m.id) === value);
    return found ? found.id : fallback;
  };
  const state = {
    mode,
    models,
    ofType,
    rankers: models.filter((m) => m.type === 'ranking'),
    reviews: params.get('reviews') !== 'off',
    m1: pick(params.get('m1'), ofType[0]?.id ?? null),
    m2: null,
    genre: 'all',
    seed: null,
    trail: [],
    order: 'popular',
  };
  if (mode === 'recommendations') state.m2 = pick(params.get('m2'), ofType[1]?.id ?? null);
  if (mode === 'ranking') {
    const genre = params.get('genre');
    state.genre = genres.some((g) => g.slug === genre && g.slug !== 'unknown') ? genre : 'all';
  }
  if (mode === 'similar') {
    const seed = Number.parseInt(params.get('seed') || '', 10);
    state.seed = seed > 0 ? seed : null;
    // The seeds clicked through before this one, oldest first (see similarRows).
    state.trail = state.seed === null ? [] : (params.get('trail') || '').split(',')
      .map((id) => Number.parseInt(id, 10)).filter((id) => id > 0).slice(-MAX_TRAIL);
    state.order = params.get('order') === 'personal' && state.rankers.length ? 'personal' : 'popular';
  }
  return state;
}

function paramsOf(state) {
  const idOrNone = (id) => (id === null ? 'none' : String(id));
  const params = { mode: state.mode, m1: idOrNone(state.m1) };
  if (state.mode === 'recommendations') params.m2 = idOrNone(state.m2);
  if (state.mode === 'ranking') params.genre = state.genre;
  if (state.mode === 'similar') {
    if (state.seed !== null) params.seed = String(state.seed);
    if (state.trail.length) params.trail = state.trail.join(',');
    params.order = state.order;
  }
  params.reviews = state.reviews ? 'on' : 'off';
  return params;
}

class UserPage {
  constructor({ user, models, genres, state, canonical, signal }) {
    this.user = user;
    this.modelsError = Array.isArray(models) ? null : models.error;
    this.genres = genres;
    this.genreNames = new Map(genres.map((g) => [g.slug, g.name]));
    this.state = state;
    this.params = canonical;
    this.signal = signal;
  }

  navigate(changes, { userId = this.user.id } = {}) {
    const params = { ...this.params, ...changes };
    for (const [key, value] of Object.entries(params)) if (value === undefined) delete params[key];
    go(['users', String(userId)], params);
  }

  modelById(id) {
    return this.state.models.find((m) => m.id === id) || null;
  }

  render() {
    this.loaders = [];
    const rows = h('div', { class: 'rows' });
    const reviewsRow = this.state.reviews ? this.reviewsRow() : null;
    const modeRows = {
      recommendations: () => this.recommendationRows(),
      ranking: () => this.rankingRows(),
      similar: () => this.similarRows(),
    }[this.state.mode]();
    const ordered = this.state.mode === 'recommendations' ? [reviewsRow, ...modeRows] : [...modeRows, reviewsRow];
    if (this.state.mode === 'ranking') rows.append(rankingNote());
    for (const row of ordered) if (row) rows.append(row.el);
    return h(
      'div',
      { class: 'user-page', dataset: { userId: String(this.user.id), mode: this.state.mode } },
      h('h1', { class: 'visually-hidden' }, `User ${this.user.id}: ${MODES[this.state.mode].label}`),
      h('aside', { class: 'sidebar' }, controlPanel(this), userPanel(this), summaryPanel(this)),
      rows,
    );
  }

  load() {
    for (const loader of this.loaders) loader();
  }

  // Register a row whose content comes from `fill(row)`; errors stay inside the row.
  addRow(options, fill) {
    const row = createRow(options);
    const run = async () => {
      row.loading();
      try {
        await fill(row);
      } catch (error) {
        if (error.name === 'AbortError' || this.signal.aborted) return;
        row.error(error.message, run);
      }
    };
    row.retry = run;
    this.loaders.push(run);
    return row;
  }

  // ---- sidebar -------------------------------------------------------------
  // ---- rows ----------------------------------------------------------------

  reviewsRow() {
    return this.addRow({ title: 'Your top movie reviews', subtitle: 'Highest rated first, newest first among equals', kind: 'reviews', name: 'reviews' },
      async (row) => {
        const reviews = await catalog.reviews(this.user.id);
        row.setMeta(`${reviews.data.length} of ${numberFormat.format(reviews.count)} reviews`);
        row.tiles(reviews.data.map((r) => tile(r.movie, this.genreNames, { extra: stars(r.rating) })));
      });
  }

  noModelRow(type, label, name) {
    const row = createRow({ title: label, kind: 'model', name });
    if (this.modelsError) {
      row.error(`The registered models could not be loaded: ${this.modelsError.message}`);
      return row;
    }
    row.message(`No ${type} model is registered yet.`,
      h('a', { href: document.body.dataset.adminUrl }, 'Register one in the admin pages'));
    return row;
  }

  recommendationRows() {
    const { state } = this;
    if (!state.ofType.length) return [this.noModelRow('recommendations', 'Recommendations', 'model-1')];
    const shown = [null, null];
    return [state.m1, state.m2].map((id, index) => {
      const slot = `Model ${index + 1}`;
      if (id === null) {
        const row = createRow({ title: slot, kind: 'model', name: `model-${index + 1}` });
        row.message(`Choose ${slot.toLowerCase()} in the control panel to compare it.`);
        return row;
      }
      const model = this.modelById(id);
      return this.addRow({ title: `${slot}: ${model.name}`, subtitle: model.recipe || '', kind: 'model', name: `model-${index + 1}` }, async (row) => {
        const [answer, ratings] = await Promise.all([
          recommender.recommendations(this.user.id, id, { signal: this.signal }),
          this.userRatings(),
        ]);
        const block = answer.blocks[0];
        this.fillBlock(row, block, model, { extraOf: (item) => ratedBy(ratings, item) });
        if (!block.error) {
          row.setMeta(withRatingsNote(callTime(block), ratings));
          shown[index] = new Set(block.items.map((item) => item.id));
          this.markShared(shown);
        }
      });
    });
  }

  fillBlock(row, block, model, { before = [], onSelect = null, extraOf = () => null } = {}) {
    row.setMeta(callTime(block));
    if (block.error) {
      row.error(`${model.name} could not answer: ${block.error}`, row.retry);
      return;
    }
    row.tiles([
      ...before,
      ...block.items.map((item, index) => tile(item, this.genreNames, {
        onSelect,
        onDetails: (movie, opener) => this.showDetails(movie, model, opener),
        extra: [rankLine(item, index), extraOf(item, index)],
      })),
    ]);
  }

  // A film's drawer: what it is, the user's rating, and why `model` may have picked it —
  // the films the user liked (4-5 stars) among its nearest neighbours by the first
  // similar-items model. A native modal dialog: Escape closes it, focus returns to `opener`.
  showDetails(movie, model, opener) {
    const why = h('div', { class: 'drawer__why' }, h('p', { class: 'muted' }, 'Looking for films you liked like it…'));
    const ratings = this.userRatings();
    const dialog = h('dialog', { class: 'drawer', 'aria-labelledby': 'drawer-title' },
      h('h2', { id: 'drawer-title' }, movie.title),
      h('p', { class: 'drawer__facts' }, [movie.year ?? 'Year unknown', genreText(movie, this.genreNames)].join(' · ')),
      h('p', { class: 'drawer__rated' }),
      movie.imdb_url && /^https?:\/\//.test(movie.imdb_url)
        ? h('p', {}, h('a', { href: movie.imdb_url, rel: 'noopener noreferrer', target: '_blank' }, 'On IMDb'))
        : null,
      h('h3', {}, `Why ${model.name} may show it`),
      why,
      h('button', { type: 'button', class: 'button drawer__close', onclick: () => dialog.close() }, 'Close'),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      opener?.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    ratings.then((map) => {
      const rating = map?.get(movie.id);
      dialog.querySelector('.drawer__rated').textContent = rating === undefined
        ? 'You have not rated it.' : `You rated it ${rating} out of 5.`;
    });
    this.explain(movie, ratings).then(
      (liked) => why.replaceChildren(liked.length
        ? h('ul', { class: 'drawer__liked' }, liked.map((m) => h('li', {}, m.title)))
        : h('p', {}, 'None of the films most similar to it is one you rated 4 or 5 stars.')),
      (error) => why.replaceChildren(h('p', { class: 'muted' }, `No explanation: ${error.message}`)),
    );
  }

  // The user's 4-5 star films among `movie`'s 25 nearest neighbours, nearest first (at most 5).
  async explain(movie, ratings) {
    const sims = this.state.models.find((m) => m.type === 'similar-items');
    if (!sims) throw new Error('no similar-items model is registered.');
    const [answer, map] = await Promise.all([
      recommender.similar(this.user.id, sims.id, movie.id, false, { signal: this.signal }),
      ratings,
    ]);
    if (answer.block.error) throw new Error(answer.block.error);
    return answer.block.items.filter((m) => (map?.get(m.id) ?? 0) >= 4).slice(0, 5);
  }

  // The films both recommendation rows show are marked in each ("In both rows"), once both
  // have answered; `ids` holds each row's film ids as it fills.
  markShared(ids) {
    const [first, second] = ids;
    if (!first || !second) return;
    for (const name of ['model-1', 'model-2']) {
      const rowEl = document.querySelector(`[data-row="${name}"]`);
      for (const tileEl of rowEl?.querySelectorAll('.tile[data-movie-id]') ?? []) {
        const id = Number(tileEl.dataset.movieId);
        if (!first.has(id) || !second.has(id) || tileEl.classList.contains('tile--shared')) continue;
        tileEl.classList.add('tile--shared');
        tileEl.querySelector('.tile__text')?.append(h('span', { class: 'tile__shared' }, 'In both rows'));
      }
    }
  }

  // The user's own rating of each film they reviewed, by film id; shared by every row
  // that shows a model's films, so a film the user already rated says so. Optional: on failure the
  // films show without stars, the row says so, and a row's "Try again" asks again.
  userRatings() {
    this.ratings ??= catalog.reviews(this.user.id, ALL_RATINGS).then(
      (answer) => new Map(answer.data.map((r) => [r.movie.id, r.rating])),
      (error) => {
        this.ratings = undefined;
        if (error.name === 'AbortError') throw error;
        return null;
      },
    );
    return this.ratings;
  }

  rankingRows() {
    const { state } = this;
    const genreName = state.genre === 'all' ? null : this.genreNames.get(state.genre) || state.genre;
    const popular = this.addRow({
      title: genreName ? `Most popular ${genreName} films` : 'Most popular films',
      subtitle: 'Most 4 and 5 star reviews first, ties by film id',
      kind: 'popular',
      name: 'popular',
    }, async (row) => {
      const [answer, ratings] = await Promise.all([
        catalog.popular(state.genre, 25, { signal: this.signal }),
        this.userRatings(),
      ]);
      row.setMeta(withRatingsNote(`${answer.data.length} films`, ratings));
      row.tiles(answer.data.map((m) => tile(m, this.genreNames, {
        extra: [
          h('span', { class: 'tile__note' }, `${numberFormat.format(m.positive_reviews)} positive reviews`),
          ratedBy(ratings, m),
        ],
      })));
    });
    if (!state.ofType.length) return [popular, this.noModelRow('ranking', 'Ranked for you', 'ranked')];
    if (state.m1 === null) {
      const row = createRow({ title: 'Ranked for you', kind: 'model', name: 'ranked' });
      row.message('Choose a ranking model in the control panel to re-rank these films for this user.');
      return [popular, row];
    }
    const model = this.modelById(state.m1);
    const ranked = this.addRow({
      title: `Ranked for you: ${model.name}`,
      subtitle: `The same ${genreName ? `${genreName} ` : ''}films, re-ranked for user ${this.user.id}`,
      kind: 'model',
      name: 'ranked',
    }, async (row) => {
      const [answer, ratings] = await Promise.all([
        recommender.ranking(this.user.id, model.id, state.genre, { signal: this.signal }),
        this.userRatings(),
      ]);
      if (!answer.ranked) {
        row.message('The ranking model returned nothing.');
        return;
      }
      // How far the model moved each film from the popularity order it was given.
      const popularRank = new Map(answer.popular.map((m, i) => [m.id, i]));
      this.fillBlock(row, answer.ranked, model, {
        extraOf: (item, index) => [moved(popularRank.get(item.id), index), ratedBy(ratings, item)],
      });
      if (!answer.ranked.error) row.setMeta(withRatingsNote(callTime(answer.ranked), ratings));
    });
    ranked.el.setAttribute('aria-describedby', RANKING_NOTE_ID);
    return [popular, ranked];
  }

  similarRows() {
    const { state } = this;
    if (!state.ofType.length) return [this.noModelRow('similar-items', 'Similar items', 'similar')];
    if (state.m1 === null) {
      const row = createRow({ title: 'Similar items', kind: 'model', name: 'similar' });
      row.message('Choose a similar-items model in the control panel.');
      return [row];
    }
    const model = this.modelById(state.m1);
    const row = this.addRow({ title: `Similar items: ${model.name}`, kind: 'similar', name: 'similar' }, async (r) => {
      if (state.seed === null && state.seedError) {
        // The top film could not be read before; try again (a failure shows in this row).
        const reviews = await catalog.reviews(this.user.id);
        state.seed = reviews.data.length ? reviews.data[0].movie.id : null;
      }
      if (state.seed === null) {
        r.message('This user has no reviews to start from.');
        return;
      }
      const [answer, ratings, trail] = await Promise.all([
        recommender.similar(this.user.id, model.id, state.seed, state.order === 'personal', {
          signal: this.signal,
        }),
        this.userRatings(),
        // Titles of the earlier seeds; one that cannot be read shows as its id.
        Promise.all(state.trail.map((id) => catalog.movie(id).catch(() => ({ id, title: `Film ${id}` })))),
      ]);
      const seed = answer.seed;
      r.setTitle(`Similar to ${seed.title}`, `${model.name} · click a film to explore from it`);
      r.setNav(trail.length ? this.seedTrail(trail, seed) : null);
      const seedTile = tile(seed, this.genreNames, { badge: 'Seed', extra: ratedBy(ratings, seed) });
      seedTile.classList.add('tile--seed');
      const divider = h('li', { class: 'tile tile--divider', 'aria-hidden': 'true' },
        h('span', {}, 'If you liked this…'));
      this.fillBlock(r, answer.block, model, {
        before: [seedTile, divider],
        onSelect: (movie) => {
          focusSimilarRow = true;
          const trailIds = [...state.trail, state.seed].slice(-MAX_TRAIL);
          this.navigate({ seed: String(movie.id), trail: trailIds.join(',') });
        },
        extraOf: (item) => ratedBy(ratings, item),
      });
      const order = answer.reranked_by
        ? `re-ranked for you by ${answer.reranked_by.name}`
        : 'in the model\'s own order';
      r.setMeta(`${callTime(answer.block)} · ${order}`);
    });
    row.el.tabIndex = -1;
    return [row];
  }

  // The films clicked through to reach this seed, each a way back to it; the first is
  // where the user started.
  seedTrail(trail, seed) {
    const back = (index) => () => {
      focusSimilarRow = true;
      this.navigate({
        seed: String(trail[index].id),
        trail: trail.slice(0, index).map((m) => m.id).join(',') || undefined,
      });
    };
    return h('nav', { class: 'seed-trail', 'aria-label': 'Seeds you came through' },
      h('button', { type: 'button', class: 'button button--small seed-trail__first', onclick: back(0) },
        `Back to ${trail[0].title}`),
      h('ol', { class: 'seed-trail__list' },
        trail.map((movie, index) => h('li', {},
          h('button', { type: 'button', class: 'seed-trail__link', onclick: back(index) }, movie.title))),
        h('li', { 'aria-current': 'step' }, seed.title)),
    );
  }
}

// Why the personal ranking looks the way it does: what the model learned from.
const RANKING_NOTE_ID = 'ranking-note';

function rankingNote() {
  return h('section', { class: 'panel ranking-note', id: RANKING_NOTE_ID, 'aria-labelledby': 'ranking-note-heading' },
    h('h2', { id: 'ranking-note-heading' }, 'How the ranking model orders these films'),
    h('p', {}, 'It learned your taste from the films you rated 4 or 5 stars: the lab trains the '
      + 'models only on ratings above 3.6.'),
    h('p', {}, 'Films you rated 1 to 3 stars are left out of that training data, so they are not '
      + 'treated as likes, nor as dislikes: a film you rated low can still rank high.'),
    h('p', {}, 'Films you have already rated show your stars, for example “You rated ',
      h('span', { 'aria-hidden': 'true' }, '★★★★☆ '), '4/5”.'),
  );
}

// "#3 · score 0.0412": the film's place in the model's answer and the model's score for it
// (a recipe without scores, as Personalize's similar items, shows the place alone).
function rankLine(item, index) {
  const score = typeof item.score === 'number' ? ` · score ${item.score.toFixed(4)}` : '';
  return h('span', { class: 'tile__rank', dataset: { rank: String(index + 1) } }, `#${index + 1}${score}`);
}

// "▲ 4 from popularity #7": where the ranking moved a film from its place in the popular row.
function moved(from, to) {
  if (from === undefined) return null;
  const steps = from - to;
  const text = steps === 0 ? `= popularity #${from + 1}`
    : `${steps > 0 ? '▲' : '▼'} ${Math.abs(steps)} from popularity #${from + 1}`;
  return h('span', { class: 'tile__moved', dataset: { from: String(from + 1) } }, text);
}

function ratedBy(ratings, movie) {
  const rating = ratings?.get(movie.id);
  return rating === undefined ? null : yourRating(rating);
}

function withRatingsNote(meta, ratings) {
  return ratings ? meta : [meta, 'your own ratings could not be loaded'].filter(Boolean).join(' · ');
}

function callTime(block) {
  return typeof block.elapsed_ms === 'number' ? `answered in ${block.elapsed_ms.toFixed(0)} ms` : '';
}
