// Recent requests (newest first, paged, filterable) and the drill-down of one request.
import { api, RequestDetail, RequestRow, Requests } from './api';
import { card, empty, fmtInt, fmtMs, fmtTime, fmtUsd, h, statusPill } from './dom';

export interface RequestsState { status: string; model: string }

export async function loadRequests(window: string, s: RequestsState, before = 0): Promise<Requests> {
  const q = new URLSearchParams({ window, limit: '50' });
  if (s.status) q.set('status', s.status);
  if (s.model) q.set('model', s.model);
  if (before > 0) q.set('before', String(before));
  return api.get<Requests>(`requests?${q}`);
}

function row(r: RequestRow): HTMLElement {
  const href = `#/requests/${encodeURIComponent(r.request_id)}`;
  return h('tr', { class: 'clickable', 'data-request-id': r.request_id,
    onclick: () => { location.hash = href; } },
  h('td', { class: 'nowrap' }, fmtTime(r.ts_ms)),
  h('td', { class: 'mono' }, h('a', { href }, String(r.request_id).slice(0, 12))),
  h('td', null, r.endpoint, r.stream ? h('span', { class: 'tag' }, 'stream') : null,
    r.cache === 'hit' ? h('span', { class: 'tag cache-hit', title: 'answered from the response cache' },
      'cached') : null),
  h('td', null, r.model || r.requested_model),
  h('td', null, r.route || '–'),
  h('td', null, r.provider || '–'),
  h('td', null, statusPill(r.status), r.error_type ? h('span', { class: 'muted small' }, ` ${r.error_type}`) : null),
  h('td', { class: 'num' }, fmtMs(r.total_ms)),
  h('td', { class: 'num' }, `${fmtInt(r.prompt_tokens)} / ${fmtInt(r.completion_tokens)}`),
  h('td', { class: 'num' }, fmtUsd(r.cost_usd)),
  h('td', null, r.guard_summary ? h('span', { class: 'tag guard' }, r.guard_summary) : ''),
  h('td', { class: 'num' }, r.feedback_count > 0
    ? `${r.feedback_count}${r.feedback_score !== null ? ` (${Number(r.feedback_score).toFixed(2)})` : ''}` : ''));
}

export function renderRequests(page: Requests, s: RequestsState, onFilter: (s: RequestsState) => void,
  onMore: () => void): HTMLElement {
  const status = h('select', { 'aria-label': 'Status', 'data-testid': 'filter-status' },
    h('option', { value: '' }, 'All statuses'), h('option', { value: 'ok' }, 'Succeeded'),
    h('option', { value: 'error' }, 'Failed'));
  status.value = s.status;
  const model = h('input', { type: 'search', placeholder: 'Model, route or provider',
    'aria-label': 'Model, route or provider', value: s.model, 'data-testid': 'filter-model' });
  const apply = () => onFilter({ status: status.value, model: model.value.trim() });
  status.addEventListener('change', apply);
  model.addEventListener('keydown', (e) => { if ((e as KeyboardEvent).key === 'Enter') apply(); });
  const table = page.data.length === 0 ? empty('No requests in this window.') :
    h('div', { class: 'scroll' }, h('table', { class: 'table requests', 'data-testid': 'requests-table' },
      h('thead', null, h('tr', null, ['Time', 'Request id', 'Endpoint', 'Model', 'Route', 'Provider',
        'Status', 'Latency', 'Tokens in / out', 'Cost', 'Guard', 'Feedback'].map((t, i) =>
        h('th', { class: i >= 7 && i <= 9 || i === 11 ? 'num' : '' }, t)))),
      h('tbody', null, page.data.map(row))));
  return h('div', { class: 'view' }, card('Recent requests',
    h('div', { class: 'toolbar' }, status, model,
      h('button', { class: 'secondary', onclick: apply }, 'Apply')),
    table,
    page.has_more ? h('div', { class: 'more' },
      h('button', { class: 'secondary', onclick: onMore, 'data-testid': 'load-more' }, 'Load more')) : null));
}

export function appendRows(tbody: HTMLElement, rows: RequestRow[]): void {
  for (const r of rows) tbody.append(row(r));
}

const groups: [string, string[]][] = [
  ['Request', ['request_id', 'ts_ms', 'endpoint', 'format', 'stream', 'key_name', 'key_id', 'team']],
  ['Routing', ['requested_model', 'route', 'provider', 'model', 'model_version', 'decision',
    'attempts', 'task_type', 'risk_tier', 'local_only', 'rag_collection']],
  ['Outcome', ['status', 'error_type', 'queue_ms', 'ttft_ms', 'total_ms', 'overhead_ms']],
  ['Usage and cost', ['prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens',
    'reasoning_tokens', 'cost_usd', 'cache']],
  ['Guard', ['guard_summary']],
];

function value(key: string, v: any): string | Node {
  if (v === null || v === undefined || v === '') return '–';
  if (key === 'ts_ms') return `${fmtTime(v)} (${v})`;
  if (key.endsWith('_ms')) return fmtMs(v);
  if (key === 'cost_usd') return fmtUsd(v);
  if (key === 'status') return statusPill(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

function payload(title: string, text: string): HTMLElement | null {
  if (!text) return null;
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: as logged */ }
  return h('div', null, h('h3', null, title), h('pre', { class: 'payload' }, shown));
}

export async function loadRequest(id: string): Promise<RequestDetail> {
  return api.get<RequestDetail>(`requests/${encodeURIComponent(id)}`);
}

export function renderRequest(d: RequestDetail): HTMLElement {
  const r = d.request;
  const payloads = [payload('Request payload', r.request_payload),
    payload('Response payload', r.response_payload)].filter(Boolean);
  return h('div', { class: 'view', 'data-testid': 'request-detail' },
    h('p', null, h('a', { href: '#/requests' }, '← Recent requests')),
    h('div', { class: 'grid two' }, groups.map(([title, keys]) => card(title,
      h('dl', { class: 'fields' }, keys.map((k) => [h('dt', null, k),
        h('dd', { 'data-field': k }, value(k, r[k]))]))))),
    card('Feedback', d.feedback.length === 0 ? empty('No feedback for this request.') :
      h('table', { class: 'table', 'data-testid': 'feedback' },
        h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', { class: 'num' }, 'Score'),
          h('th', null, 'Label'), h('th', null, 'Comment'))),
        h('tbody', null, d.feedback.map((f) => h('tr', null, h('td', null, fmtTime(f.ts_ms)),
          h('td', { class: 'num' }, f.score === null ? '–' : String(f.score)),
          h('td', null, f.label), h('td', null, f.comment)))))),
    h('div', { 'data-testid': 'payloads' }, card('Payloads', payloads.length ? payloads : empty(
      'No payload was logged for this request (only routes listed in ' +
      'telemetry.request_log.payload_routes log them).'))));
}
