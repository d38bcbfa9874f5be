// Tiny DOM helpers: h() builds elements, formatters render numbers the same way everywhere.
// No innerHTML anywhere: every string goes in as text, so logged payloads cannot inject markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Attrs | null = null, ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
      else if (k === 'class') el.className = String(v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of (children as unknown[]).flat(Infinity) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const intFmt = new Intl.NumberFormat('en-US');
const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : intFmt.format(Math.round(n));
}

export function fmtCompact(n: number): string {
  return Math.abs(n) < 10000 ? fmtInt(n) : compactFmt.format(n);
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}

export function fmtUsd(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  if (x === 0) return '$0';
  if (Math.abs(x) < 0.01) return `$${x.toFixed(6)}`;
  return `$${x.toFixed(2)}`;
}

export function fmtMs(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  if (x < 1) return `${(x * 1000).toFixed(0)} µs`;
  if (x < 1000) return `${x.toFixed(x < 10 ? 1 : 0)} ms`;
  return `${(x / 1000).toFixed(2)} s`;
}

export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// A horizontal bar whose width is `share` (0..1) of its track.
export function bar(share: number, cls = ''): HTMLElement {
  const fill = h('span', { class: `bar-fill ${cls}` });
  fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
  return h('span', { class: 'bar' }, fill);
}

export function statusPill(status: number): HTMLElement {
  const cls = status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'good';
  return h('span', { class: `pill ${cls}` }, String(status));
}

export function card(title: string, ...body: (Child | Child[])[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...body);
}

export function empty(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}
