// Home: the registered models with their offline metrics, the data set, a random user.

import { ApiError, catalog, recommender, registry } from '../api.js';
import { precisionChart } from '../components/chart.js';
import { formatMetric, h, numberFormat } from '../dom.js';
import { go } from '../router.js';

export const TYPE_LABELS = {
  recommendations: 'Recommendations',
  ranking: 'Personal ranking',
  'similar-items': 'Similar items',
};
const TYPE_ORDER = ['recommendations', 'ranking', 'similar-items'];

// [metric key, column label, what the label stands for]
const METRICS = [
  ['precision_at_5', 'P@5', 'Precision at 5'],
  ['precision_at_10', 'P@10', 'Precision at 10'],
  ['precision_at_25', 'P@25', 'Precision at 25'],
  ['coverage', 'Coverage', 'Share of the catalog the model recommends'],
  ['mean_reciprocal_rank_at_25', 'MRR@25', 'Mean reciprocal rank at 25'],
  ['normalized_discounted_cumulative_gain_at_5', 'NDCG@5', 'Normalized discounted cumulative gain at 5'],
  ['normalized_discounted_cumulative_gain_at_10', 'NDCG@10', 'Normalized discounted cumulative gain at 10'],
  ['normalized_discounted_cumulative_gain_at_25', 'NDCG@25', 'Normalized discounted cumulative gain at 25'],
];

export async function renderHome(main, signal) {
  document.title = 'videorecs · Models';
  const chartPanel = h('section', { class: 'panel panel--chart', 'aria-labelledby': 'chart-heading' });
  const modelsPanel = h('section', { class: 'panel panel--models', 'aria-labelledby': 'models-heading' });
  const statsPanel = h('section', { class: 'panel panel--stats', 'aria-labelledby': 'stats-heading' });
  const randomStatus = h('p', { class: 'hero__status', role: 'status' });

  const randomButton = h(
    'button',
    { type: 'button', class: 'button button--primary button--large', id: 'random-user' },
    'Select random user',
  );
  randomButton.addEventListener('click', async () => {
    randomButton.disabled = true;
    randomStatus.textContent = 'Picking a user…';
    try {
      const user = await catalog.randomUser();
      go(['users', String(user.id)], {});
    } catch (error) {
      randomStatus.textContent = error.message;
      randomStatus.classList.add('hero__status--error');
    } finally {
      randomButton.disabled = false;
    }
  });

  const userInput = h('input', {
    id: 'user-id',
    type: 'number',
    min: 1,
    inputmode: 'numeric',
    required: true,
    placeholder: 'e.g. 42',
  });
  const openForm = h(
    'form',
    {
      class: 'open-user',
      onsubmit: (event) => {
        event.preventDefault();
        const id = Number.parseInt(userInput.value, 10);
        if (id > 0) go(['users', String(id)], {});
      },
    },
    h('label', { for: 'user-id' }, 'Or open user'),
    userInput,
    h('button', { type: 'submit', class: 'button' }, 'Open'),
  );

  main.replaceChildren(
    h(
      'section',
      { class: 'hero' },
      h('div', { class: 'hero__text' },
        h('h1', {}, 'Which model knows your taste best?'),
        h(
          'p',
          {},
          'Pick a MovieLens user, see the films they rated highest, and compare what each trained model ',
          'recommends for them, side by side.',
        ),
      ),
      h('div', { class: 'hero__actions' }, randomButton, openForm, randomStatus),
    ),
    h('div', { class: 'home-grid' }, chartPanel, statsPanel),
    modelsPanel,
  );

  chartPanel.append(
    h('h2', { id: 'chart-heading' }, 'Precision at 5, 10 and 25'),
    h('p', { class: 'panel__intro' }, 'Share of the top 5, 10 and 25 films that held-out users rated 4 or 5 stars.'),
    loadingLine('Loading metrics…'),
  );
  modelsPanel.append(h('h2', { id: 'models-heading' }, 'Models'), loadingLine('Loading models…'));
  statsPanel.append(h('h2', { id: 'stats-heading' }, 'Data set'), loadingLine('Loading counts…'));
  await Promise.all([fillModels(modelsPanel, chartPanel, signal), fillStats(statsPanel, signal)]);
}

function loadingLine(text) {
  return h('p', { class: 'loading-line', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

async function fillModels(panel, chartPanel, signal) {
  let models;
  let notice = null;
  try {
    ({ data: models } = await recommender.summary({ signal }));
  } catch (error) {
    if (error.name === 'AbortError') return;
    // Metrics come from the recommender; without it, still list what the registry holds.
    notice = `Metrics are unavailable (${error.message}).`;
    try {
      ({ data: models } = await registry.models({ signal }));
    } catch (inner) {
      if (inner.name === 'AbortError') return;
      panel.lastChild.replaceWith(errorBox(inner));
      chartPanel.lastChild.replaceWith(errorBox(inner));
      return;
    }
  }
  const content = [];
  if (notice) content.push(h('p', { class: 'notice notice--warning', role: 'alert' }, notice));
  if (!models.length) {
    content.push(
      h('p', { class: 'empty' }, 'No models are registered yet. ',
        h('a', { href: document.body.dataset.adminUrl }, 'Register one in the admin pages'), '.'),
    );
    panel.lastChild.replaceWith(...content);
    chartPanel.lastChild.replaceWith(h('p', { class: 'empty' }, 'Nothing to chart yet.'));
    return;
  }
  content.push(modelsTable(models));
  panel.lastChild.replaceWith(...content);
  chartPanel.lastChild.replaceWith(precisionChart(models));
}

function modelsTable(models) {
  const head = h(
    'thead',
    {},
    h('tr', {}, h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Recipe'),
      METRICS.map(([, label, long]) =>
        h('th', { scope: 'col', class: 'num' }, h('abbr', { title: long }, label)))),
  );
  const bodies = TYPE_ORDER.map((type) => {
    const ofType = models.filter((m) => m.type === type);
    if (!ofType.length) return null;
    return h(
      'tbody',
      { dataset: { type } },
      h('tr', { class: 'group-row' }, h('th', { scope: 'colgroup', colspan: 2 + METRICS.length }, TYPE_LABELS[type])),
      ofType.map((model) =>
        h(
          'tr',
          { dataset: { modelId: String(model.id) } },
          h('th', { scope: 'row' }, model.name),
          h('td', {}, model.recipe ? h('code', {}, model.recipe) : h('span', { class: 'muted' }, 'unknown')),
          model.metrics
            ? METRICS.map(([key]) => h('td', { class: 'num' }, formatMetric(model.metrics[key])))
            : h('td', { class: 'muted', colspan: METRICS.length }, model.error || 'No metrics available'),
        ),
      ),
    );
  });
  return h(
    'div',
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Model metrics table' },
    h(
      'table',
      { class: 'metrics-table' },
      h('caption', {}, 'Offline metrics on the held-out users. Larger numbers are better.'),
      head,
      bodies,
    ),
  );
}

async function fillStats(panel, signal) {
  let stats;
  try {
    stats = await catalog.stats({ signal });
  } catch (error) {
    if (error.name === 'AbortError') return;
    panel.lastChild.replaceWith(errorBox(error));
    return;
  }
  const fmt = (n) => numberFormat.format(n);
  panel.lastChild.replaceWith(
    h('div', { class: 'stat-group' },
      h('h3', {}, 'All reviews'),
      h('p', { class: 'stat-group__note' }, 'Everything in the catalog, 1 to 5 stars.'),
      h('dl', { class: 'stats' },
        stat('Users', fmt(stats.users), 'stat-users'),
        stat('Movies', fmt(stats.movies), 'stat-movies'),
        stat('Reviews', fmt(stats.reviews), 'stat-reviews'),
      ),
    ),
    h('div', { class: 'stat-group' },
      h('h3', {}, 'Training interactions'),
      h('p', { class: 'stat-group__note' }, 'Only 4 and 5 star reviews: what the models learn from.'),
      h('dl', { class: 'stats' },
        stat('Users', fmt(stats.positive_users), 'stat-positive-users'),
        stat('Movies', fmt(stats.positive_movies), 'stat-positive-movies'),
        stat('Interactions', fmt(stats.positive_reviews), 'stat-positive-reviews'),
      ),
    ),
  );
}

function stat(label, value, id) {
  return h('div', { class: 'stat', id }, h('dt', {}, label), h('dd', {}, value));
}

export function errorBox(error) {
  const message = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
  return h('p', { class: 'notice notice--error', role: 'alert' }, message);
}
