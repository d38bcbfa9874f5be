// The Switchyard dashboard: a login page, then Overview / Requests / Evaluations (hash routes:
// #/overview, #/requests, #/requests/<id>, #/evals, #/evals/<id>), refreshed every 10 s.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { api, ApiError, setUnauthorizedHandler, Unauthorized } from './api';
import { destroyCharts } from './charts';
import { clear, h } from './dom';
import { loadRun, loadRuns, renderRun, renderRuns } from './evals';
import { loadOverview, renderOverview } from './overview';
import { appendRows, loadRequest, loadRequests, renderRequest, renderRequests, RequestsState } from './requests';

const REFRESH_MS = 10_000;
const root = document.getElementById('app')!;
const windows = [['15m', '15 min'], ['1h', '1 hour'], ['6h', '6 hours'], ['24h', '24 hours'], ['7d', '7 days']];

let windowValue = localStorage.getItem('sy.window') ?? '1h';
let autoRefresh = localStorage.getItem('sy.refresh') !== 'off';
let timer: number | undefined;
let generation = 0;  // a newer render makes older in-flight loads drop their result
let requestsState: RequestsState = { status: '', model: '' };
let main: HTMLElement | null = null;
let updated: HTMLElement | null = null;

function showLogin(message = ''): void {
  stopTimer();
  destroyCharts();
  main = null;
  clear(root);
  const key = h('input', { type: 'password', id: 'admin-key', name: 'key', autocomplete: 'current-password',
    required: true, placeholder: 'Admin key', 'aria-label': 'Admin key' });
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error' }, message);
  const form = h('form', { class: 'login-card', 'data-testid': 'login' },
    h('div', { class: 'brand big' }, h('span', { class: 'logo' }), 'Switchyard'),
    h('p', { class: 'muted' }, 'Sign in with the gateway\'s admin key (SWITCHYARD_ADMIN_KEY).'),
    key, h('button', { type: 'submit' }, 'Sign in'), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await api.login(key.value);
      showShell();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : 'Could not reach the gateway.';
      key.select();
    }
  });
  root.append(h('div', { class: 'login' }, form));
  key.focus();
}

function stopTimer(): void {
  if (timer !== undefined) window.clearTimeout(timer);
  timer = undefined;
}

function schedule(): void {
  stopTimer();
  if (autoRefresh) timer = window.setTimeout(() => void render(true), REFRESH_MS);
}

function showShell(): void {
  clear(root);
  const select = h('select', { 'aria-label': 'Time window', 'data-testid': 'window' },
    windows.map(([v, label]) => h('option', { value: v }, `Last ${label}`)));
  select.value = windowValue;
  select.addEventListener('change', () => {
    windowValue = select.value;
    localStorage.setItem('sy.window', windowValue);
    void render();
  });
  const refresh = h('input', { type: 'checkbox', id: 'auto-refresh', checked: autoRefresh });
  refresh.addEventListener('change', () => {
    autoRefresh = refresh.checked;
    localStorage.setItem('sy.refresh', autoRefresh ? 'on' : 'off');
    schedule();
  });
  updated = h('span', { class: 'muted small', 'data-testid': 'updated' });
  const nav = h('nav', { class: 'tabs' },
    [['#/overview', 'Overview'], ['#/requests', 'Requests'], ['#/evals', 'Evaluations']].map(([href, t]) =>
      h('a', { href, 'data-tab': href.slice(2) }, t)));
  main = h('main', { id: 'main' });
  root.append(
    h('header', { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo' }), 'Switchyard'), nav,
      h('div', { class: 'controls' }, select,
        h('label', { class: 'check' }, refresh, 'Auto-refresh'), updated,
        h('button', { class: 'secondary', 'data-testid': 'refresh', onclick: () => void render() }, 'Refresh'),
        h('button', { class: 'secondary', 'data-testid': 'logout', onclick: async () => {
          try { await api.logout(); } finally { showLogin(); }
        } }, 'Sign out'))),
    main);
  void render();
}

function route(): string[] {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return parts.length ? parts : ['overview'];
}

async function render(background = false): Promise<void> {
  if (!main) return;
  const gen = ++generation;
  const [page, id] = route();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.tabs a')) {
    a.classList.toggle('active', a.dataset.tab === page);
  }
  // A detail page does not refresh itself (it would reset scrolling and selection).
  const detail = id !== undefined;
  if (!background) main.classList.add('loading');
  try {
    let view: HTMLElement;
    if (page === 'requests' && id) {
      view = renderRequest(await loadRequest(id));
    } else if (page === 'requests') {
      const first = await loadRequests(windowValue, requestsState);
      let last = first.next_before ?? 0;
      view = renderRequests(first, requestsState, (s) => {
        requestsState = s;
        void render();
      }, async () => {
        const tbody = main?.querySelector<HTMLElement>('[data-testid="requests-table"] tbody');
        const next = await loadRequests(windowValue, requestsState, last);
        if (tbody) appendRows(tbody, next.data);
        last = next.next_before ?? 0;
        if (!next.has_more) main?.querySelector('[data-testid="load-more"]')?.remove();
        stopTimer();  // a longer list stays as the user made it
      });
    } else if (page === 'evals' && id) {
      view = renderRun(await loadRun(id));
    } else if (page === 'evals') {
      view = renderRuns((await loadRuns()).data);
    } else {
      view = renderOverview(await loadOverview(windowValue));
    }
    if (gen !== generation || !main) return;
    destroyCharts();
    const scroll = window.scrollY;
    clear(main);
    main.append(view);
    if (background) window.scrollTo(0, scroll);
    if (updated) updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err instanceof Unauthorized || gen !== generation || !main) return;
    clear(main);
    main.append(h('div', { class: 'card error-card', role: 'alert' },
      h('h2', null, 'Could not load this page'),
      h('p', null, err instanceof Error ? err.message : String(err))));
  } finally {
    main?.classList.remove('loading');
  }
  if (gen === generation && !detail) schedule();
  else if (detail) stopTimer();
}

window.addEventListener('hashchange', () => void render());

// Signed in already (a live session cookie)? Then straight to the dashboard.
(async () => {
  try {
    const s = await api.get<{ authenticated: boolean; admin_enabled: boolean; message?: string }>('session');
    if (s.authenticated) showShell();
    else showLogin(s.admin_enabled ? '' : s.message ?? '');
  } catch (err) {
    showLogin(err instanceof ApiError ? err.message : 'Could not reach the gateway.');
  }
  setUnauthorizedHandler(() => showLogin('Your session has ended; sign in again.'));
})();
