// Hash routes: `#/` is home, `#/users/42?mode=...&m1=1` the user page. Every choice on
// the page lives in the URL, so reload, back/forward and shared links keep the view.

export function currentRoute() {
  const hash = window.location.hash || '#/';
  const [pathPart, query = ''] = hash.slice(1).split('?');
  const segments = pathPart.split('/').filter(Boolean);
  return { segments, params: new URLSearchParams(query) };
}

export function isAppHash(hash = window.location.hash) {
  return hash === '' || hash === '#' || hash.startsWith('#/');
}

export function routeHref(segments, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return `#/${segments.join('/')}${text ? `?${text}` : ''}`;
}

// Push a new history entry (the hashchange listener renders it).
export function go(segments, params) {
  const href = routeHref(segments, params);
  if (href === window.location.hash) return false;
  window.location.hash = href;
  return true;
}

// Rewrite the current entry without rendering again (used to make defaults explicit).
export function replace(segments, params) {
  const href = routeHref(segments, params);
  if (href !== window.location.hash) window.history.replaceState(null, '', href);
}
