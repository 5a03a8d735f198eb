// One small function per API call; base paths come from the page (the jinja index).
// Every call throws ApiError with the service's own `detail` message when it fails.

const config = document.body.dataset;

export const API = {
  catalog: config.apiCatalog,
  registry: config.apiRegistry,
  recommender: config.apiRecommender,
};
export const ADMIN_URL = config.adminUrl;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export async function getJSON(service, path, params = {}, { signal } = {}) {
  const url = new URL(API[service] + path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(`The ${service} service could not be reached.`, 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail ? String(body.detail) : `HTTP ${response.status}`;
    throw new ApiError(`${capitalise(service)}: ${detail}`, response.status);
  }
  return body;
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Results that do not change while the page is open are kept for its lifetime.
const memo = new Map();
function cached(key, load) {
  if (!memo.has(key)) {
    const promise = load().catch((error) => {
      memo.delete(key);
      throw error;
    });
    memo.set(key, promise);
  }
  return memo.get(key);
}

export const catalog = {
  stats: (opts) => getJSON('catalog', '/stats', {}, opts),
  genres: () => cached('genres', () => getJSON('catalog', '/genres')),
  user: (id) => cached(`user:${id}`, () => getJSON('catalog', `/users/${id}`)),
  randomUser: (opts) => getJSON('catalog', '/users/random', {}, opts),
  reviews: (id, limit = 25) =>
    cached(`reviews:${id}:${limit}`, () => getJSON('catalog', `/users/${id}/reviews`, { limit })),
  movie: (id) => cached(`movie:${id}`, () => getJSON('catalog', `/movies/${id}`)),
  popular: (genre, limit = 25, opts) =>
    getJSON('catalog', '/movies/popular', { genre: genre === 'all' ? '' : genre, limit }, opts),
};

// Asked on every view: the registry answers with an ETag and `Cache-Control: no-cache`,
// so the browser revalidates its copy (an empty 304 while nothing changed) and a change
// made in the admin shows on the next view.
export const registry = {
  models: (opts) => getJSON('registry', '/models', {}, opts),
};

export const recommender = {
  summary: (opts) => getJSON('recommender', '/models/summary', {}, opts),
  recommendations: (userId, modelId, opts) =>
    getJSON('recommender', `/users/${userId}/recommendations`, { models: modelId, num: 25 }, opts),
  ranking: (userId, modelId, genre, opts) =>
    getJSON(
      'recommender',
      `/users/${userId}/ranking`,
      { model: modelId, genre: genre === 'all' ? '' : genre },
      opts,
    ),
  similar: (userId, modelId, item, rerank, opts) =>
    getJSON(
      'recommender',
      `/users/${userId}/similar`,
      { model: modelId, item, rerank: rerank ? 'true' : 'false' },
      opts,
    ),
};
