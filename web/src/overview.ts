// The overview: KPIs, traffic and latency over time, latency percentiles, cost by model / key /
// team / route, local vs cloud share and the routing reasons, guard interventions, breakers.
import { api, Breakers, Costs, CostRow, Guard, Overview, Routing } from './api';
import { timeChart } from './charts';
import { bar, card, empty, fmtCompact, fmtInt, fmtMs, fmtPct, fmtUsd, h } from './dom';

export interface OverviewData { overview: Overview; costs: Costs; routing: Routing; guard: Guard;
  breakers: Breakers }

export async function loadOverview(window: string): Promise<OverviewData> {
  const q = `window=${encodeURIComponent(window)}`;
  const [overview, costs, routing, guard, breakers] = await Promise.all([
    api.get<Overview>(`overview?${q}`), api.get<Costs>(`costs?${q}`),
    api.get<Routing>(`routing?${q}`), api.get<Guard>(`guard?${q}`),
    api.get<Breakers>('breakers'),
  ]);
  return { overview, costs, routing, guard, breakers };
}

function kpi(label: string, value: string, testid: string, sub?: string): HTMLElement {
  return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value', 'data-testid': testid }, value),
    sub ? h('div', { class: 'kpi-sub' }, sub) : null);
}

// The same, narrower: name, requests, cost and a bar (for key, team and route).
function spendTable(rows: CostRow[], what: string, testid: string): HTMLElement {
  if (rows.length === 0) return empty('No requests in this window.');
  const max = Math.max(...rows.map((r) => r.cost_usd), 1e-12);
  const maxReq = Math.max(...rows.map((r) => r.requests), 1);
  const anyCost = rows.some((r) => r.cost_usd > 0);
  return h('table', { class: 'table', 'data-testid': testid },
    h('thead', null, h('tr', null, h('th', null, what), h('th', { class: 'num' }, 'Requests'),
      h('th', { class: 'num' }, 'Cost'), h('th', { class: 'barcol' }, ''))),
    h('tbody', null, rows.map((r) => h('tr', { 'data-name': r.name },
      h('td', { class: 'name' }, r.name),
      h('td', { class: 'num', 'data-col': 'requests' }, fmtInt(r.requests)),
      h('td', { class: 'num' }, fmtUsd(r.cost_usd)),
      h('td', { class: 'barcol' }, bar(anyCost ? r.cost_usd / max : r.requests / maxReq))))));
}

function costTable(rows: CostRow[], what: string, testid: string): HTMLElement {
  if (rows.length === 0) return empty('No requests in this window.');
  const max = Math.max(...rows.map((r) => r.cost_usd), 1e-12);
  const maxReq = Math.max(...rows.map((r) => r.requests), 1);
  const anyCost = rows.some((r) => r.cost_usd > 0);
  return h('table', { class: 'table', 'data-testid': testid },
    h('thead', null, h('tr', null, h('th', null, what), h('th', { class: 'num' }, 'Requests'),
      h('th', { class: 'num' }, 'Errors'), h('th', { class: 'num' }, 'Tokens in / out'),
      h('th', { class: 'num' }, 'Cost'), h('th', { class: 'barcol' }, ''))),
    h('tbody', null, rows.map((r) => h('tr', { 'data-name': r.name },
      h('td', { class: 'name' }, r.name),
      h('td', { class: 'num', 'data-col': 'requests' }, fmtInt(r.requests)),
      h('td', { class: 'num' }, fmtInt(r.errors)),
      h('td', { class: 'num' }, `${fmtCompact(r.prompt_tokens)} / ${fmtCompact(r.completion_tokens)}`),
      h('td', { class: 'num' }, fmtUsd(r.cost_usd)),
      h('td', { class: 'barcol' }, bar(anyCost ? r.cost_usd / max : r.requests / maxReq))))));
}

function shareBar(routing: Routing): HTMLElement {
  const total = routing.local.requests + routing.cloud.requests + routing.none.requests;
  const seg = (n: number, cls: string, label: string) => {
    if (n === 0) return null;
    const s = h('span', { class: `seg ${cls}`, title: `${label}: ${fmtInt(n)}` });
    s.style.width = `${(n / total) * 100}%`;
    return s;
  };
  return h('div', null,
    h('div', { class: 'stack' }, total === 0 ? null : [
      seg(routing.local.requests, 'local', 'Local'), seg(routing.cloud.requests, 'cloud', 'Cloud'),
      seg(routing.none.requests, 'none', 'Not routed')]),
    h('div', { class: 'legend' },
      h('span', { class: 'dot local' }), 'Local ',
      h('b', { 'data-testid': 'share-local' }, fmtInt(routing.local.requests)),
      ` (${fmtPct(total ? routing.local.requests / total : 0, 0)}, ${fmtUsd(routing.local.cost_usd)})`,
      h('span', { class: 'dot cloud' }), 'Cloud ',
      h('b', { 'data-testid': 'share-cloud' }, fmtInt(routing.cloud.requests)),
      ` (${fmtPct(total ? routing.cloud.requests / total : 0, 0)}, ${fmtUsd(routing.cloud.cost_usd)})`,
      h('span', { class: 'dot none' }), 'Not routed ',
      h('b', { 'data-testid': 'share-none' }, fmtInt(routing.none.requests))),
    h('p', { class: 'muted' }, `${fmtInt(routing.local_only)} request(s) had to stay on-prem ` +
      '(guard: sensitive data).'));
}

function decisions(routing: Routing): HTMLElement {
  if (routing.decisions.length === 0) return empty('No routing decisions in this window.');
  return h('table', { class: 'table', 'data-testid': 'decisions' },
    h('thead', null, h('tr', null, h('th', null, 'Why (routing decision)'),
      h('th', { class: 'num' }, 'Local'), h('th', { class: 'num' }, 'Cloud'),
      h('th', { class: 'num' }, 'Not routed'), h('th', { class: 'num' }, 'Total'))),
    h('tbody', null, routing.decisions.map((d) => h('tr', null,
      h('td', { class: 'name' }, d.decision), h('td', { class: 'num' }, fmtInt(d.local)),
      h('td', { class: 'num' }, fmtInt(d.cloud)), h('td', { class: 'num' }, fmtInt(d.none)),
      h('td', { class: 'num' }, fmtInt(d.requests))))));
}

function guardCard(guard: Guard): HTMLElement {
  const body = guard.by_type.length === 0 ? empty('No guard findings in this window.') : (() => {
    const max = Math.max(...guard.by_type.map((t) => t.requests), 1);
    return h('table', { class: 'table', 'data-testid': 'guard-types' },
      h('thead', null, h('tr', null, h('th', null, 'Type'), h('th', { class: 'num' }, 'Findings'),
        h('th', { class: 'num' }, 'Requests'), h('th', null, 'Actions'), h('th', { class: 'barcol' }, ''))),
      h('tbody', null, guard.by_type.map((t) => h('tr', { 'data-name': t.type },
        h('td', { class: 'name' }, t.type), h('td', { class: 'num' }, fmtInt(t.findings)),
        h('td', { class: 'num' }, fmtInt(t.requests)),
        h('td', null, Object.entries(t.actions).map(([a, n]) =>
          h('span', { class: `tag action-${a}` }, `${a} ${n}`))),
        h('td', { class: 'barcol' }, bar(t.requests / max, 'guard'))))));
  })();
  return card('Guard interventions',
    h('div', { class: 'mini-kpis' },
      h('span', null, 'Requests with findings ', h('b', { 'data-testid': 'guard-requests' },
        fmtInt(guard.requests_with_findings))),
      h('span', null, 'Kept local ', h('b', null, fmtInt(guard.kept_local))),
      h('span', null, 'Blocked ', h('b', null, fmtInt(guard.blocked)))),
    body);
}

function breakersCard(b: Breakers): HTMLElement {
  const body = b.deployments.length === 0 ? empty('No deployments have been called yet.') :
    h('div', { class: 'breakers', 'data-testid': 'breakers' }, b.deployments.map((d) =>
      h('div', { class: `breaker ${d.state.replace(/[^a-z_-]/gi, '')}`, 'data-name': d.deployment },
        h('div', { class: 'breaker-name' }, d.deployment),
        h('div', { class: 'breaker-state' }, d.state.replace('_', ' ')),
        h('div', { class: 'breaker-meta' }, `${fmtInt(d.successes)} ok · ${fmtInt(d.failures)} failed` +
          (d.ewma_ttft_ms > 0 ? ` · TTFT ≈ ${fmtMs(d.ewma_ttft_ms)}` : '')))));
  return card('Circuit breakers', body);
}

function latencyTable(o: Overview): HTMLElement {
  const row = (name: string, p: Overview['latency_ms']['ttft']) => h('tr', null,
    h('td', { class: 'name' }, name), h('td', { class: 'num' }, fmtMs(p.p50)),
    h('td', { class: 'num' }, fmtMs(p.p95)), h('td', { class: 'num' }, fmtMs(p.p99)),
    h('td', { class: 'num muted' }, fmtInt(p.count)));
  return h('table', { class: 'table', 'data-testid': 'latency-table' },
    h('thead', null, h('tr', null, h('th', null, ''), h('th', { class: 'num' }, 'p50'),
      h('th', { class: 'num' }, 'p95'), h('th', { class: 'num' }, 'p99'),
      h('th', { class: 'num' }, 'samples'))),
    h('tbody', null, row('Time to first token', o.latency_ms.ttft),
      row('Total', o.latency_ms.total), row('Gateway overhead', o.latency_ms.overhead)));
}

export function renderOverview(d: OverviewData): HTMLElement {
  const o = d.overview;
  const tokens = o.tokens.prompt + o.tokens.completion;
  const ms = (v: number) => fmtMs(v);
  return h('div', { class: 'view' },
    h('div', { class: 'kpis' },
      kpi('Requests', fmtInt(o.requests), 'kpi-requests', `${o.rps.toFixed(2)} req/s average`),
      kpi('Errors', fmtInt(o.errors), 'kpi-errors', `${fmtPct(o.error_rate)} error rate`),
      kpi('p95 latency', fmtMs(o.latency_ms.total.p95), 'kpi-p95', `p50 ${fmtMs(o.latency_ms.total.p50)}`),
      kpi('Time to first token p95', fmtMs(o.latency_ms.ttft.p95), 'kpi-ttft',
        `p50 ${fmtMs(o.latency_ms.ttft.p50)}`),
      kpi('Tokens', fmtCompact(tokens), 'kpi-tokens',
        `${fmtCompact(o.tokens.prompt)} in · ${fmtCompact(o.tokens.completion)} out · ` +
        `${fmtCompact(o.tokens.cached)} cached`),
      kpi('Spend', fmtUsd(o.cost_usd), 'kpi-cost',
        `${fmtUsd(o.requests ? (o.cost_usd / o.requests) * 1000 : 0)} per 1,000 requests`)),
    h('div', { class: 'grid two' },
      card('Traffic', timeChart('Requests and errors per bucket', o.series.t, [
        { label: 'Requests', color: '#2563eb', values: o.series.requests, fill: true },
        { label: 'Errors', color: '#dc2626', values: o.series.errors },
      ], `per ${o.bucket_s >= 60 ? `${o.bucket_s / 60} min` : `${o.bucket_s} s`}`, 'chart-traffic')),
      card('Latency', timeChart('Total latency p50 and p95 per bucket', o.series.t, [
        { label: 'p50', color: '#059669', values: o.series.p50_ms, fmt: ms },
        { label: 'p95', color: '#d97706', values: o.series.p95_ms, fmt: ms },
      ], 'ms', 'chart-latency'), latencyTable(o))),
    h('div', { class: 'grid two' },
      card('Cost by model', costTable(d.costs.by_model, 'Provider / model', 'cost-by-model')),
      card('Local vs cloud', shareBar(d.routing), decisions(d.routing))),
    h('div', { class: 'grid two' }, guardCard(d.guard), breakersCard(d.breakers)),
    h('div', { class: 'grid three' },
      card('Cost by key', spendTable(d.costs.by_key, 'Key', 'cost-by-key')),
      card('Cost by team', spendTable(d.costs.by_team, 'Team', 'cost-by-team')),
      card('Cost by route', spendTable(d.costs.by_route, 'Route', 'cost-by-route'))));
}
