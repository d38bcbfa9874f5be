// Evaluation runs (switchyard eval run): the list with pass rates, and one run per target and
// category with its first failures.
import { api, EvalRun, EvalRunDetail } from './api';
import { bar, card, empty, fmtInt, fmtMs, fmtPct, fmtUsd, h } from './dom';

export const loadRuns = () => api.get<{ data: EvalRun[] }>('eval/runs?limit=100');
export const loadRun = (id: string) => api.get<EvalRunDetail>(`eval/runs/${encodeURIComponent(id)}`);

function statusTag(s: string): HTMLElement {
  const cls = s === 'done' ? 'good' : s === 'running' ? 'info' : 'bad';
  return h('span', { class: `pill ${cls}` }, s);
}

export function renderRuns(runs: EvalRun[]): HTMLElement {
  if (runs.length === 0) {
    return h('div', { class: 'view' }, card('Evaluation runs', empty(
      'No evaluation runs yet. Run one with: switchyard eval run suite.yaml (docs/evaluation.md).')));
  }
  return h('div', { class: 'view' }, card('Evaluation runs',
    h('div', { class: 'scroll' }, h('table', { class: 'table', 'data-testid': 'eval-runs' },
      h('thead', null, h('tr', null, h('th', null, 'Started'), h('th', null, 'Suite'),
        h('th', null, 'Run'), h('th', null, 'Status'), h('th', { class: 'num' }, 'Cases'),
        h('th', null, 'Targets'), h('th', { class: 'num' }, 'Pass rate'), h('th', { class: 'barcol' }, ''),
        h('th', { class: 'num' }, 'Cost'))),
      h('tbody', null, runs.map((r) => {
        const href = `#/evals/${encodeURIComponent(r.id)}`;
        return h('tr', { class: 'clickable', 'data-run-id': r.id, onclick: () => { location.hash = href; } },
          h('td', { class: 'nowrap' }, r.started_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
          h('td', null, r.suite), h('td', { class: 'mono' }, h('a', { href }, r.id)),
          h('td', null, statusTag(r.status)), h('td', { class: 'num' }, fmtInt(r.cases_total)),
          h('td', null, r.targets.map((t) => h('span', { class: 'tag' },
            `${t.target} ${fmtPct(t.pass_rate, 0)}`))),
          h('td', { class: 'num', 'data-col': 'pass-rate' }, fmtPct(r.pass_rate)),
          h('td', { class: 'barcol' }, bar(r.pass_rate, r.pass_rate >= 0.8 ? 'good' : 'warn')),
          h('td', { class: 'num' }, fmtUsd(r.cost_usd)));
      }))))));
}

export function renderRun(r: EvalRunDetail): HTMLElement {
  return h('div', { class: 'view', 'data-testid': 'eval-run' },
    h('p', null, h('a', { href: '#/evals' }, '← Evaluation runs')),
    h('div', { class: 'kpis' },
      h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, 'Suite'), h('div', { class: 'kpi-value small' }, r.suite),
        h('div', { class: 'kpi-sub' }, r.id)),
      h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, 'Pass rate'),
        h('div', { class: 'kpi-value', 'data-testid': 'run-pass-rate' }, fmtPct(r.pass_rate)),
        h('div', { class: 'kpi-sub' }, `${fmtInt(r.passed)} of ${fmtInt(r.outputs)} outputs`)),
      h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, 'Status'), h('div', { class: 'kpi-value small' }, statusTag(r.status)),
        h('div', { class: 'kpi-sub' }, r.baseline ? `baseline ${r.baseline}` : 'no baseline')),
      h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, 'Cost'), h('div', { class: 'kpi-value' }, fmtUsd(r.cost_usd)),
        h('div', { class: 'kpi-sub' }, `${fmtInt(r.cases_total)} cases`))),
    card('By target', h('table', { class: 'table', 'data-testid': 'run-targets' },
      h('thead', null, h('tr', null, ['Target', 'Outputs', 'Passed', 'Pass rate', '', 'Mean score',
        'Latency p50 / p95', 'Errors', 'Cost'].map((t, i) => h('th', { class: i === 4 ? 'barcol' : i > 0 ? 'num' : '' }, t)))),
      h('tbody', null, r.targets.map((t) => h('tr', { 'data-name': t.target },
        h('td', { class: 'name' }, t.target), h('td', { class: 'num' }, fmtInt(t.outputs)),
        h('td', { class: 'num' }, fmtInt(t.passed)), h('td', { class: 'num' }, fmtPct(t.pass_rate)),
        h('td', { class: 'barcol' }, bar(t.pass_rate, t.pass_rate >= 0.8 ? 'good' : 'warn')),
        h('td', { class: 'num' }, t.mean_score.toFixed(2)),
        h('td', { class: 'num' }, `${fmtMs(t.p50_latency_ms)} / ${fmtMs(t.p95_latency_ms)}`),
        h('td', { class: 'num' }, fmtInt(t.errors)), h('td', { class: 'num' }, fmtUsd(t.cost_usd))))))),
    card('By category', r.categories.length === 0 ? empty('No categories.') :
      h('table', { class: 'table', 'data-testid': 'run-categories' },
        h('thead', null, h('tr', null, ['Category', 'Target', 'Outputs', 'Pass rate', ''].map((t, i) =>
          h('th', { class: i === 4 ? 'barcol' : i > 1 ? 'num' : '' }, t)))),
        h('tbody', null, r.categories.map((c) => h('tr', null, h('td', { class: 'name' }, c.category),
          h('td', null, c.target), h('td', { class: 'num' }, fmtInt(c.outputs)),
          h('td', { class: 'num' }, fmtPct(c.pass_rate)),
          h('td', { class: 'barcol' }, bar(c.pass_rate, c.pass_rate >= 0.8 ? 'good' : 'warn'))))))),
    card('First failures', r.failures.length === 0 ? empty('Every output passed.') :
      h('table', { class: 'table', 'data-testid': 'run-failures' },
        h('thead', null, h('tr', null, ['Case', 'Category', 'Target', 'Why', 'Output'].map((t) => h('th', null, t)))),
        h('tbody', null, r.failures.map((f) => h('tr', null, h('td', { class: 'mono' }, f.case_id),
          h('td', null, f.category), h('td', null, f.target),
          h('td', null, f.error || f.failures), h('td', null, h('pre', { class: 'payload small' }, f.output))))))));
}
