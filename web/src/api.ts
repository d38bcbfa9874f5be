// The dashboard's JSON API (/admin/api/*). The session cookie rides along (same origin); a 401
// anywhere sends the user back to the login page.

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`/admin/api/${path}`, {
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) },
    ...init,
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { error: { message: text } };
  }
  if (res.status === 401 && path !== 'login') {
    onUnauthorized();
    throw new Unauthorized(body?.error?.message ?? 'log in again');
  }
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

export const api = {
  get: <T>(path: string) => call<T>(path),
  login: (key: string) => call<{ authenticated: boolean }>('login', {
    method: 'POST', body: JSON.stringify({ key }),
  }),
  logout: () => call<{ authenticated: boolean }>('logout', { method: 'POST', body: '{}' }),
};

export interface Percentiles { count: number; p50: number | null; p95: number | null; p99: number | null }
export interface Overview {
  window_s: number; from_ms: number; to_ms: number; bucket_s: number;
  requests: number; errors: number; error_rate: number; rps: number;
  tokens: { prompt: number; completion: number; cached: number; reasoning: number };
  cost_usd: number; latency_sample: number;
  latency_ms: { ttft: Percentiles; total: Percentiles; overhead: Percentiles };
  series: { t: number[]; requests: number[]; errors: number[]; rps: number[];
    p50_ms: (number | null)[]; p95_ms: (number | null)[] };
  by_status: { status: number; requests: number }[];
}
export interface CostRow { name: string; requests: number; errors: number; cost_usd: number;
  prompt_tokens: number; completion_tokens: number }
export interface Costs { total_usd: number; by_model: CostRow[]; by_key: CostRow[];
  by_team: CostRow[]; by_route: CostRow[] }
export interface Share { requests: number; errors: number; cost_usd: number }
export interface Routing {
  local: Share; cloud: Share; none: Share; local_only: number;
  providers: { name: string; locality: string; requests: number }[];
  decisions: { decision: string; requests: number; local: number; cloud: number; none: number }[];
  task_types: { name: string; requests: number }[];
}
export interface Guard {
  requests_with_findings: number; blocked: number; kept_local: number;
  by_type: { type: string; findings: number; requests: number; actions: Record<string, number> }[];
  by_action: Record<string, number>;
}
export interface Breakers { deployments: { deployment: string; state: string; ewma_ttft_ms: number;
  successes: number; failures: number }[] }
export type RequestRow = Record<string, any>;
export interface Requests { data: RequestRow[]; has_more: boolean; next_before: number | null }
export interface RequestDetail { request: RequestRow;
  feedback: { ts_ms: number; score: number | null; label: string; comment: string }[] }
export interface TargetSummary { target: string; outputs: number; passed: number; errors: number;
  pass_rate: number; mean_score: number; mean_latency_ms: number; p50_latency_ms: number;
  p95_latency_ms: number; prompt_tokens: number; completion_tokens: number; cost_usd: number }
export interface EvalRun { id: string; suite: string; started_at: string; finished_at: string;
  status: string; baseline: string; cases_total: number; outputs: number; passed: number;
  pass_rate: number; cost_usd: number; targets: TargetSummary[] }
export interface EvalRunDetail extends EvalRun {
  categories: { category: string; target: string; outputs: number; passed: number;
    pass_rate: number; mean_score: number; mean_latency_ms: number; cost_usd: number }[];
  failures: { case_id: string; category: string; target: string; repeat: number; score: number;
    latency_ms: number; output: string; error: string; failures: string }[];
}
