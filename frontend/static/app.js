// Entry point: route the hash to a view, keep focus where the user left it.

import { currentRoute, isAppHash } from './router.js';
import { errorBox, renderHome } from './views/home.js';
import { renderUser } from './views/user.js';

const main = document.getElementById('main');
let controller = null;
let lastView = null;

async function route() {
  if (!isAppHash()) return; // an in-page anchor such as the skip link
  const { segments, params } = currentRoute();
  // A control that re-renders the page keeps keyboard focus (same id after the render).
  const focusedId = main.contains(document.activeElement) ? document.activeElement.id : null;
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  let view;
  document.body.classList.add('is-loading');
  try {
    if (segments[0] === 'users' && segments[1] !== undefined) {
      view = `user:${segments[1]}`;
      await renderUser(main, decodeSegment(segments[1]), params, signal);
    } else {
      view = 'home';
      await renderHome(main, signal);
    }
  } catch (error) {
    // A bug must not leave a blank page; say so, and still report it.
    if (!signal.aborted) {
      main.replaceChildren(errorBox(error));
    }
    throw error;
  } finally {
    if (!signal.aborted) document.body.classList.remove('is-loading');
  }
  if (signal.aborted) return;
  document.querySelectorAll('[data-nav]').forEach((link) => {
    if (link.dataset.nav === 'home' && view === 'home') link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  });
  const again = focusedId && document.getElementById(focusedId);
  if (again) again.focus();
  else if (lastView !== null && view !== lastView) main.focus({ preventScroll: true });
  if (view !== lastView) window.scrollTo(0, 0);
  lastView = view;
}

document.querySelector('[data-skip]')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();

// A path segment as typed; a malformed escape (`%E0`) is kept as it is, for the page to
// name it, rather than failing the whole view.
function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
