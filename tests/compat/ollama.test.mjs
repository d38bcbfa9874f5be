// The official Ollama client (ollama 0.6.4) through switchyard to the fake OpenAI upstream:
// Ollama's native API in (/api/chat, /api/generate, /api/embed, /api/embeddings, /api/tags,
// /api/show, /api/ps, /api/version), chat completions / completions / embeddings out.
// Non-streaming and NDJSON streaming, tool calls with object arguments, errors. The client
// sends stream:false unless told otherwise (the server's default, absent, is true: see
// tests/integration/ollama_test.cc).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { startStack, DIRECT, withStackLog } from './lib/harness.mjs';
import {
  cannedContent, countTokens, embeddingFor, toolArguments, toolCallId,
} from './lib/fake_upstream.mjs';

// The fake upstream speaks only OpenAI's format; these tests need the gateway's translation.
const skip = DIRECT ? 'COMPAT_DIRECT: no gateway to translate' : false;

let s;
let ollama;
before(async () => {
  if (skip) return;
  s = await startStack();
  ollama = new Ollama({ host: s.origin });
});
after(async () => { await s?.stop(); });

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

test('chat, not streamed: content, done fields, counts, translated request', { skip }, () => withLog(async () => {
  const res = await ollama.chat({
    model: 'fast',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }],
    options: { temperature: 0.3, top_k: 5, num_predict: 50, stop: ['END'], num_ctx: 4096 },
    stream: false,
  });
  const content = cannedContent('gpt-4o-mini', 'Say hello');
  assert.equal(res.model, 'fast');
  assert.equal(res.message.role, 'assistant');
  assert.equal(res.message.content, content);
  assert.equal(res.done, true);
  assert.equal(res.done_reason, 'stop');
  assert.equal(res.prompt_eval_count, 4);  // "Be brief." + "Say hello"
  assert.equal(res.eval_count, countTokens(content));
  assert.ok(res.total_duration > 0);
  assert.ok(!Number.isNaN(new Date(res.created_at).getTime()));
  const up = s.upstream.lastRequest('/v1/chat/completions').body;
  assert.equal(up.model, 'gpt-4o-mini');
  assert.equal(up.temperature, 0.3);
  assert.equal(up.top_k, 5);
  assert.equal(up.max_tokens, 50);
  assert.deepEqual(up.stop, ['END']);
  assert.equal(up.stream, undefined);
}));

test('chat, streamed: NDJSON parts, final done with counts', { skip }, () => withLog(async () => {
  const stream = await ollama.chat({
    model: 'fast', messages: [{ role: 'user', content: 'Stream please' }], stream: true,
  });
  const parts = [];
  for await (const part of stream) parts.push(part);
  const content = cannedContent('gpt-4o-mini', 'Stream please');
  assert.ok(parts.length > 3, `expected several parts, got ${parts.length}`);
  assert.equal(parts.map((p) => p.message.content).join(''), content);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false));
  const last = parts.at(-1);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
  assert.equal(last.eval_count, countTokens(content));
  assert.equal(last.prompt_eval_count, 2);
  const up = s.upstream.lastRequest('/v1/chat/completions').body;
  assert.equal(up.stream, true);
  assert.equal(up.stream_options.include_usage, true);
}));

test('chat with tools: tool_calls carry arguments as objects (streamed and not)', { skip }, () => withLog(async () => {
  const messages = [{ role: 'user', content: 'Weather and time?' }];
  const whole = await ollama.chat({ model: 'fast', messages, tools: TOOLS, stream: false });
  const expected = TOOLS.map((t, i) => ({
    name: t.function.name, arguments: JSON.parse(toolArguments(t.function.name, i)),
  }));
  assert.deepEqual(whole.message.tool_calls.map((c) => c.function)
    .map(({ name, arguments: a }) => ({ name, arguments: a })), expected);

  const stream = await ollama.chat({ model: 'fast', messages, tools: TOOLS, stream: true });
  const calls = [];
  for await (const part of stream) calls.push(...(part.message.tool_calls ?? []));
  assert.deepEqual(calls.map(({ function: { name, arguments: a } }) => ({ name, arguments: a })),
    expected);
  const up = s.upstream.lastRequest('/v1/chat/completions').body;
  assert.deepEqual(up.tools.map((t) => t.function.name), ['get_weather', 'get_time']);
}));

test('chat: tool results go back with the ids of the calls they answer', { skip }, () => withLog(async () => {
  const first = await ollama.chat({
    model: 'fast', messages: [{ role: 'user', content: 'Weather?' }], tools: TOOLS, stream: false,
  });
  const calls = first.message.tool_calls;
  const res = await ollama.chat({
    model: 'fast',
    stream: false,
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', tool_calls: calls },
      { role: 'tool', tool_name: 'get_time', content: '12:00' },
      { role: 'tool', tool_name: 'get_weather', content: '21C' },
    ],
  });
  assert.equal(res.done, true);
  const msgs = s.upstream.lastRequest('/v1/chat/completions').body.messages;
  assert.equal(msgs[1].role, 'assistant');
  assert.deepEqual(JSON.parse(msgs[1].tool_calls[0].function.arguments),
    JSON.parse(toolArguments('get_weather', 0)));
  // The ids the gateway handed out came back with the calls and answer them.
  assert.equal(msgs[1].tool_calls[0].id, toolCallId(0));
  assert.equal(msgs[2].role, 'tool');
  assert.equal(msgs[2].tool_call_id, toolCallId(1));
  assert.equal(msgs[3].tool_call_id, toolCallId(0));
}));

test('generate: templated as system + one user message, streamed and not', { skip }, () => withLog(async () => {
  const res = await ollama.generate({ model: 'fast', prompt: 'Why is the sky blue?',
    system: 'One line.', stream: false });
  const content = cannedContent('gpt-4o-mini', 'Why is the sky blue?');
  assert.equal(res.response, content);
  assert.equal(res.done, true);
  assert.equal(res.eval_count, countTokens(content));
  assert.deepEqual(s.upstream.lastRequest('/v1/chat/completions').body.messages, [
    { role: 'system', content: 'One line.' }, { role: 'user', content: 'Why is the sky blue?' }]);

  const stream = await ollama.generate({ model: 'fast', prompt: 'Why is the sky blue?',
    stream: true });
  let text = '';
  let last;
  for await (const part of stream) { text += part.response; last = part; }
  assert.equal(text, content);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
}));

test('generate raw: a text completion of the prompt', { skip }, () => withLog(async () => {
  const res = await ollama.generate({ model: 'fast', prompt: '[INST] hi [/INST]', raw: true,
    stream: false });
  assert.equal(res.response, ' completion from the fake upstream. model=gpt-4o-mini; prompt: [INST] hi [/INST]');
  assert.equal(s.upstream.lastRequest('/v1/completions').body.prompt, '[INST] hi [/INST]');
}));

test('embed and legacy embeddings', { skip }, () => withLog(async () => {
  const res = await ollama.embed({ model: 'embed', input: ['alpha', 'beta'] });
  assert.equal(res.model, 'embed');
  assert.deepEqual(res.embeddings, [embeddingFor('alpha'), embeddingFor('beta')]);
  const one = await ollama.embed({ model: 'embed', input: 'alpha' });
  assert.deepEqual(one.embeddings, [embeddingFor('alpha')]);
  const legacy = await ollama.embeddings({ model: 'embed', prompt: 'gamma' });
  assert.deepEqual(legacy.embedding, embeddingFor('gamma'));
  assert.equal(s.upstream.lastRequest('/v1/embeddings').body.model, 'text-embedding-3-small');
}));

test('list, show, ps, version', { skip }, () => withLog(async () => {
  const list = await ollama.list();
  const names = list.models.map((m) => m.name);
  for (const n of ['fast', 'embed', 'gpt-4o-mini', 'up/gpt-4o-mini']) assert.ok(names.includes(n), n);
  const fast = list.models.find((m) => m.name === 'fast');
  assert.equal(fast.model, 'fast');
  assert.equal(typeof fast.details.format, 'string');
  assert.ok(!Number.isNaN(new Date(fast.modified_at).getTime()));

  const show = await ollama.show({ model: 'fast' });
  assert.equal(show.model_info['switchyard.upstream_model'], 'gpt-4o-mini');
  assert.ok(show.capabilities.includes('completion'));
  await assert.rejects(ollama.show({ model: 'nope' }), (e) => {
    assert.equal(e.name, 'ResponseError');
    assert.equal(e.status_code, 404);
    assert.equal(e.error, "model 'nope' not found");
    return true;
  });

  // pull: a served model is there already; nothing is downloaded, so another name is a 404.
  assert.equal((await ollama.pull({ model: 'fast', stream: false })).status, 'success');
  const parts = [];
  for await (const part of await ollama.pull({ model: 'fast', stream: true })) parts.push(part);
  assert.deepEqual(parts, [{ status: 'success' }]);
  await assert.rejects(ollama.pull({ model: 'llama3.2', stream: false }), (e) => {
    assert.equal(e.status_code, 404);
    assert.match(e.error, /does not download models/);
    return true;
  });

  assert.deepEqual((await ollama.ps()).models, []);
  const version = await ollama.version();
  assert.match(version.version, /^\d+\.\d+/);
  const root = await fetch(s.origin + '/');
  assert.equal(await root.text(), 'Ollama is running');
}));

test('errors: upstream status before the stream, error line inside it, unknown model', { skip }, () => withLog(async () => {
  await assert.rejects(
    ollama.chat({ model: 'fast', messages: [{ role: 'user', content: 'x [[status:429]]' }],
      stream: false }),
    (e) => { assert.equal(e.status_code, 429); return true; });
  await assert.rejects(
    ollama.chat({ model: 'missing', messages: [{ role: 'user', content: 'x' }], stream: false }),
    (e) => { assert.equal(e.status_code, 404); assert.equal(e.error, "model 'missing' not found"); return true; });
  await assert.rejects(
    ollama.generate({ model: 'fast', prompt: 'x', suffix: 'y', stream: false }),
    (e) => { assert.equal(e.status_code, 400); assert.match(e.error, /suffix/); return true; });

  const stream = await ollama.chat({ model: 'fast', messages: [{ role: 'user', content: 'x [[cut]]' }],
    stream: true });
  const parts = [];
  await assert.rejects((async () => { for await (const p of stream) parts.push(p); })(),
    (e) => { assert.ok(e.message.length > 0); return true; });
  assert.ok(parts.length > 0, 'some parts arrived before the error');
}));
