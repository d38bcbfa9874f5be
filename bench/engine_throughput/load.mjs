// Load generator for bench/engine_throughput: streamed chat completions against an
// OpenAI-compatible server, timing every token as it arrives. No dependencies (Node's fetch).
//
//   node load.mjs BASE_URL MODEL SCENARIO [options as KEY=VALUE]
// Scenarios (print one JSON line each):
//   single     one stream of TOKENS tokens: decode tok/s after the first token
//   concurrent N streams of TOKENS tokens at once: aggregate tok/s over the wall time; with
//              SYSTEM=W all N share a system prompt of W words (an app's instructions)
//   prefix     TTFT of a PROMPT-token prompt cold, then of one sharing its first SHARED tokens
const [base, model, scenario, ...rest] = process.argv.slice(2);
const opt = Object.fromEntries(rest.map((kv) => kv.split('=')));
const TOKENS = Number(opt.TOKENS ?? 128);
const STREAMS = Number(opt.STREAMS ?? 8);
const PROMPT_WORDS = Number(opt.PROMPT ?? 2000);
const SHARED_WORDS = Number(opt.SHARED ?? 1500);
const SYSTEM_WORDS = Number(opt.SYSTEM ?? 0);

// Words that are one token each in common BPE vocabularies, picked by a seeded generator so
// both servers see the same text.
const WORDS = ('time year people way day man thing woman life child world school state family ' +
  'student group country problem hand part place case week company system program question ' +
  'work government number night point home water room mother area money story fact month lot ' +
  'right study book eye job word business issue side kind head house service friend father ' +
  'power hour game line end member law car city community name president team minute idea').split(' ');
function text(words, seed) {
  let x = seed >>> 0;
  const out = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out.push(WORDS[x % WORDS.length]);
  }
  return out.join(' ');
}

async function stream(content, maxTokens, system = null) {
  const started = performance.now();
  const messages = [{ role: 'user', content }];
  if (system !== null) messages.unshift({ role: 'system', content: system });
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model, messages, max_tokens: maxTokens, stream: true,
      stream_options: { include_usage: true }, temperature: 0, ignore_eos: true,
      cache_prompt: true,
    }),
  });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  let first = null;
  let last = null;
  let usage = null;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = event.startsWith('data: ') ? event.slice(6) : null;
      if (!data || data === '[DONE]') continue;
      const j = JSON.parse(data);
      if (j.usage) usage = j.usage;
      if (j.choices?.some((c) => c.delta?.content || c.delta?.reasoning_content)) {
        const now = performance.now();
        if (first === null) first = now;
        last = now;
      }
    }
  }
  const done = performance.now();
  // A token that is only part of a UTF-8 character shows no text yet; the end then stands in.
  return { started, first: first ?? done, last: last ?? done, done, usage };
}

const out = { scenario, model };
if (scenario === 'single') {
  await stream('Warm up.', 4);
  const r = await stream(text(20, 1), TOKENS);
  const n = r.usage.completion_tokens;
  out.completion_tokens = n;
  out.ttft_ms = r.first - r.started;
  out.decode_tok_s = (n - 1) / ((r.last - r.first) / 1000);
} else if (scenario === 'concurrent') {
  await stream('Warm up.', 4);
  const system = SYSTEM_WORDS > 0 ? text(SYSTEM_WORDS, 5) : null;
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: STREAMS }, (_, i) => stream(text(20, 100 + i),
    TOKENS, system)));
  const t1 = performance.now();
  const n = rs.reduce((a, r) => a + r.usage.completion_tokens, 0);
  if (SYSTEM_WORDS > 0) out.scenario = 'concurrent-system';
  out.streams = STREAMS;
  out.system_words = SYSTEM_WORDS;
  out.prompt_tokens = rs.reduce((a, r) => a + r.usage.prompt_tokens, 0);
  out.cached_tokens = rs.reduce((a, r) => a + (r.usage.prompt_tokens_details?.cached_tokens ?? 0), 0);
  out.ttft_ms_median = rs.map((r) => r.first - r.started).sort((a, b) => a - b)[rs.length >> 1];
  out.completion_tokens = n;
  out.wall_s = (t1 - t0) / 1000;
  out.aggregate_tok_s = n / out.wall_s;
} else if (scenario === 'prefix') {
  const shared = text(SHARED_WORDS, 7);
  const cold = await stream(`${text(PROMPT_WORDS, 11)}`, 2);
  await stream(`${shared} ${text(PROMPT_WORDS - SHARED_WORDS, 12)}`, 2);  // the prefix is seen
  const warm = await stream(`${shared} ${text(PROMPT_WORDS - SHARED_WORDS, 13)}`, 2);
  out.prompt_tokens = warm.usage.prompt_tokens;
  out.cached_tokens = warm.usage.prompt_tokens_details?.cached_tokens ?? null;
  out.cold_ttft_ms = cold.first - cold.started;
  out.warm_ttft_ms = warm.first - warm.started;
  out.speedup = out.cold_ttft_ms / out.warm_ttft_ms;
} else {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
console.log(JSON.stringify(out));
