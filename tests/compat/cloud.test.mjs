// The official SDKs through switchyard to the two other cloud wire formats: a fake Anthropic
// Messages API (lib/fake_anthropic.mjs, provider kind `anthropic`, route `claude`) and a fake
// Gemini API (lib/fake_gemini.mjs, provider kind `gemini`, routes `gem` and `gem-embed`).
// Each test checks what the client got (exact texts, ids, usage, statuses; OpenAI bodies
// against the spec's schemas) and what the fake received (the translated upstream request).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import {
  startCloudStack, API_KEY, DIRECT, CLAUDE_MODEL, GEMINI_MODEL, GEMINI_EMBED_MODEL, withStackLog,
  OPENAI_TOOLS,
} from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';
import { contentPieces, embeddingFor, toolArguments } from './lib/fake_upstream.mjs';
import {
  ANTHROPIC_KEY, CACHE_READ, CACHE_WRITE, THINKING_SIGNATURE, TOOL_PREAMBLE,
  anthropicToolUseId, cannedAnthropicText, thinkingText, toolResultText,
} from './lib/fake_anthropic.mjs';
import {
  GEMINI_KEY, CACHED_TOKENS, RETRY_DELAY_S, SIGNATURES, MODEL_VERSION_SUFFIX, cannedGeminiText,
  functionResponseText, geminiThought,
} from './lib/fake_gemini.mjs';

// The fakes speak only Anthropic's and Gemini's formats: without the gateway there is nothing
// to test.
const skip = DIRECT ? 'COMPAT_DIRECT: the cloud fakes need the gateway to translate' : false;

let s;
let anthropic;
let ollama;
before(async () => {
  if (skip) return;
  s = await startCloudStack();
  anthropic = new Anthropic({ apiKey: API_KEY, baseURL: s.origin, maxRetries: 0, timeout: 15000 });
  ollama = new Ollama({ host: s.origin });
});
after(async () => { await s?.stop(); });

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

const ANTHROPIC_TOOLS = OPENAI_TOOLS.map(({ function: f }) => ({
  name: f.name, description: f.description, input_schema: f.parameters,
}));

const RESPONSES_TOOLS = OPENAI_TOOLS.map(({ function: f }) => ({
  type: 'function', name: f.name, description: f.description, parameters: f.parameters,
}));

const args = (name, i) => JSON.parse(toolArguments(name, i));

// ---------------------------------------------------------------------------------------------
// The fakes themselves, without the gateway: auth, error bodies and stream framing as documented.

test('fake anthropic: auth and version headers, error format, documented event order', { skip }, async () => {
  const url = `${s.anthropic.origin}/v1/messages`;
  const body = JSON.stringify({ model: CLAUDE_MODEL, max_tokens: 20, stream: true,
    messages: [{ role: 'user', content: 'hi' }] });
  const noKey = await fetch(url, { method: 'POST', body,
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } });
  assert.equal(noKey.status, 401);
  assert.deepEqual(await noKey.json(), { type: 'error',
    error: { type: 'authentication_error', message: 'x-api-key header is required' } });
  const noVersion = await fetch(url, { method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-api-key': ANTHROPIC_KEY } });
  assert.equal(noVersion.status, 400);
  assert.equal((await noVersion.json()).error.type, 'invalid_request_error');
  const headers = { 'content-type': 'application/json', 'x-api-key': ANTHROPIC_KEY,
    'anthropic-version': '2023-06-01' };
  const extra = await fetch(url, { method: 'POST', headers,
    body: JSON.stringify({ ...JSON.parse(body), stream_options: {} }) });
  assert.equal(extra.status, 400);
  assert.match((await extra.json()).error.message, /stream_options: Extra inputs are not permitted/);
  const res = await fetch(url, { method: 'POST', headers, body });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const names = [...(await res.text()).matchAll(/^event: (\S+)\ndata: /gm)].map((m) => m[1]);
  const pieces = contentPieces(cannedAnthropicText(CLAUDE_MODEL, 'hi')).length;
  assert.deepEqual(names, ['message_start', 'content_block_start', 'ping',
    ...Array(pieces).fill('content_block_delta'), 'content_block_stop', 'message_delta',
    'message_stop']);
});

test('fake gemini: key header, Google error format, SSE framing, unknown fields rejected', { skip }, async () => {
  const url = `${s.gemini.baseURL}/models/${GEMINI_MODEL}:streamGenerateContent?alt=sse`;
  const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
  const noKey = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal(noKey.status, 403);
  const err = await noKey.json();
  assert.deepEqual(Object.keys(err.error), ['code', 'message', 'status']);
  assert.equal(err.error.code, 403);
  assert.equal(err.error.status, 'PERMISSION_DENIED');
  const headers = { 'content-type': 'application/json', 'x-goog-api-key': GEMINI_KEY };
  const unknown = await fetch(url, { method: 'POST', headers,
    body: JSON.stringify({ ...JSON.parse(body), max_tokens: 5 }) });
  assert.equal(unknown.status, 400);
  assert.match((await unknown.json()).error.message, /Unknown name "max_tokens"/);
  const res = await fetch(url, { method: 'POST', headers, body });
  assert.equal(res.status, 200);
  const events = (await res.text()).split('\r\n\r\n').filter(Boolean);
  const parsed = events.map((e) => { assert.match(e, /^data: \{/); return JSON.parse(e.slice(6)); });
  assert.equal(parsed.map((e) => e.candidates[0].content.parts[0].text).join(''),
    cannedGeminiText(GEMINI_MODEL, 'hi'));
  assert.deepEqual(parsed.map((e) => e.candidates[0].finishReason ?? null).filter(Boolean), ['STOP']);
  assert.equal(parsed.at(-1).usageMetadata.totalTokenCount,
    parsed.at(-1).usageMetadata.promptTokenCount + parsed.at(-1).usageMetadata.candidatesTokenCount);
});

// ---------------------------------------------------------------------------------------------
// openai chat.completions -> Anthropic

test('openai chat -> anthropic: text, system placement, parameters, usage, headers', { skip }, () => withLog(async () => {
  const { data, response } = await s.client.chat.completions.create({
    model: 'claude', max_tokens: 64, temperature: 0.25, top_p: 0.9, stop: ['END'], user: 'u-42',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello ünïcödé ✓' },
    ],
  }).withResponse();
  assertSchema('CreateChatCompletionResponse', data, 'chat.completion from anthropic');
  assert.equal(response.headers.get('x-switchyard-provider'), 'anth');
  const up = s.anthropic.lastRequest();
  assert.equal(up.headers['x-api-key'], ANTHROPIC_KEY);
  assert.equal(up.headers['anthropic-version'], '2023-06-01');
  assert.equal(up.headers.authorization, undefined, 'no bearer token towards Anthropic');
  assert.deepEqual(up.body, {
    model: CLAUDE_MODEL,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello ünïcödé ✓' }] }],
    system: 'You are terse.',
    max_tokens: 64,
    temperature: 0.25,
    top_p: 0.9,
    stop_sequences: ['END'],
    metadata: { user_id: 'u-42' },
  });
  const fake = up.response;
  assert.equal(data.id, fake.id);
  assert.equal(data.model, CLAUDE_MODEL);
  assert.equal(data.choices.length, 1);
  assert.equal(data.choices[0].message.content, cannedAnthropicText(CLAUDE_MODEL, 'Say hello ünïcödé ✓'));
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.equal(data.usage.prompt_tokens, fake.usage.input_tokens);
  assert.equal(data.usage.completion_tokens, fake.usage.output_tokens);
  assert.equal(data.usage.total_tokens, fake.usage.input_tokens + fake.usage.output_tokens);
}));

test('openai chat -> anthropic: max_tokens defaults to 4096, cached tokens in usage', { skip }, () => withLog(async () => {
  const data = await s.client.chat.completions.create({
    model: 'claude', messages: [{ role: 'user', content: 'cached please [[cache]]' }],
  });
  assertSchema('CreateChatCompletionResponse', data, 'chat.completion with cache usage');
  const up = s.anthropic.lastRequest();
  assert.equal(up.body.max_tokens, 4096);
  const u = up.response.usage;
  assert.equal(u.cache_read_input_tokens, CACHE_READ);
  // prompt_tokens is every input token: uncached + cache reads + cache writes.
  assert.equal(data.usage.prompt_tokens, u.input_tokens + CACHE_READ + CACHE_WRITE);
  assert.equal(data.usage.prompt_tokens_details.cached_tokens, CACHE_READ);
  assert.equal(data.usage.completion_tokens, u.output_tokens);
  assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + u.output_tokens);
}));

async function collectChat(stream) {
  const chunks = [];
  for await (const chunk of stream) {
    assertSchema('CreateChatCompletionStreamResponse', chunk, `stream chunk #${chunks.length}`);
    chunks.push(chunk);
  }
  return chunks;
}

test('openai chat stream -> anthropic: text assembled, one finish, usage with cached tokens', { skip }, () => withLog(async () => {
  const stream = await s.client.chat.completions.create({
    model: 'claude', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Stream it [[cache]]' }],
  });
  const chunks = await collectChat(stream);
  const up = s.anthropic.lastRequest();
  assert.equal(up.body.stream, true);
  assert.equal(up.body.system, 'Be brief.');
  assert.equal(up.body.stream_options, undefined, 'stream_options is OpenAI-only');
  const expected = cannedAnthropicText(CLAUDE_MODEL, 'Stream it [[cache]]');
  const withChoices = chunks.filter((c) => c.choices.length);
  assert.equal(withChoices.map((c) => c.choices[0].delta.content ?? '').join(''), expected);
  const textDeltas = withChoices.filter((c) => c.choices[0].delta.content);
  assert.equal(textDeltas.length, contentPieces(expected).length, 'one chunk per text_delta');
  assert.deepEqual(withChoices.map((c) => c.choices[0].finish_reason).filter(Boolean), ['stop']);
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the stream');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  const u = up.response?.usage ?? up.events.find((e) => e.event === 'message_delta').data.usage;
  assert.equal(last.usage.prompt_tokens, u.input_tokens + CACHE_READ + CACHE_WRITE);
  assert.equal(last.usage.prompt_tokens_details.cached_tokens, CACHE_READ);
  assert.equal(last.usage.completion_tokens, u.output_tokens);
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
}));

test('openai chat stream -> anthropic: cache usage only in message_start (spec MessageDeltaUsage)', { skip }, () => withLog(async () => {
  const stream = await s.client.chat.completions.create({
    model: 'claude', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Stream [[spec-usage]] [[cache]]' }],
  });
  const chunks = await collectChat(stream);
  const up = s.anthropic.lastRequest();
  const start = up.events[0].data.message.usage;
  const delta = up.events.find((e) => e.event === 'message_delta').data.usage;
  assert.deepEqual(Object.keys(delta), ['output_tokens']);
  const usage = chunks.at(-1).usage;
  assert.equal(usage.prompt_tokens, start.input_tokens + CACHE_READ + CACHE_WRITE);
  assert.equal(usage.prompt_tokens_details.cached_tokens, CACHE_READ);
  assert.equal(usage.completion_tokens, delta.output_tokens);
}));

test('openai chat -> anthropic: parallel tool calls (text + tool_use blocks), tool schemas sent', { skip }, () => withLog(async () => {
  const data = await s.client.chat.completions.create({
    model: 'claude', tools: OPENAI_TOOLS, tool_choice: 'required',
    messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
  });
  assertSchema('CreateChatCompletionResponse', data, 'tool-call chat.completion');
  const c = data.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, TOOL_PREAMBLE);
  assert.deepEqual(c.message.tool_calls.map((t) => ({ id: t.id, type: t.type, name: t.function.name,
    args: JSON.parse(t.function.arguments) })), OPENAI_TOOLS.map((t, i) => ({
    id: anthropicToolUseId(i), type: 'function', name: t.function.name,
    args: args(t.function.name, i) })));
  const up = s.anthropic.lastRequest().body;
  assert.deepEqual(up.tools, ANTHROPIC_TOOLS);
  assert.deepEqual(up.tool_choice, { type: 'any' });
}));

test('openai chat stream -> anthropic: streamed tool arguments assemble into valid JSON, parallel calls', { skip }, () => withLog(async () => {
  const runner = s.client.chat.completions.stream({
    model: 'claude', tools: OPENAI_TOOLS, parallel_tool_calls: true,
    messages: [{ role: 'user', content: 'Weather and time?' }],
  });
  const chunks = [];
  runner.on('chunk', (chunk) => {
    assertSchema('CreateChatCompletionStreamResponse', chunk, `tool stream chunk #${chunks.length}`);
    chunks.push(chunk);
  });
  const final = await runner.finalChatCompletion();
  const msg = final.choices[0].message;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.content, TOOL_PREAMBLE);
  assert.equal(msg.tool_calls.length, 2);
  msg.tool_calls.forEach((t, i) => {
    assert.equal(t.id, anthropicToolUseId(i));
    assert.equal(t.function.name, OPENAI_TOOLS[i].function.name);
    assert.deepEqual(JSON.parse(t.function.arguments), args(t.function.name, i));
  });
  // Anthropic's block indexes are 1 and 2 (text is block 0); OpenAI's tool_call indexes are 0, 1.
  const argDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    .filter((t) => t.function?.arguments);
  assert.deepEqual([...new Set(argDeltas.map((t) => t.index))], [0, 1]);
  const upDeltas = s.anthropic.lastRequest().events.filter((e) =>
    e.data.delta?.type === 'input_json_delta' && e.data.delta.partial_json !== '');
  assert.equal(argDeltas.length, upDeltas.length, 'every input_json_delta relayed as it came');
  assert.equal(s.anthropic.lastRequest().body.tool_choice, undefined);
}));

test('openai chat -> anthropic: tool results go back as tool_result blocks right after the calls', { skip }, () => withLog(async () => {
  const first = await s.client.chat.completions.create({
    model: 'claude', tools: OPENAI_TOOLS, messages: [{ role: 'user', content: 'Weather and time?' }],
  });
  const calls = first.choices[0].message.tool_calls;
  const second = await s.client.chat.completions.create({
    model: 'claude', tools: OPENAI_TOOLS, tool_choice: 'none',
    messages: [
      { role: 'user', content: 'Weather and time?' },
      first.choices[0].message,
      { role: 'tool', tool_call_id: calls[0].id, content: '18C and sunny' },
      { role: 'tool', tool_call_id: calls[1].id, content: '12:00' },
    ],
  });
  assertSchema('CreateChatCompletionResponse', second, 'after tool results');
  const up = s.anthropic.lastRequest();
  assert.equal(up.status, 200, JSON.stringify(up.response));
  assert.deepEqual(up.body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather and time?' }] },
    { role: 'assistant', content: [
      { type: 'text', text: TOOL_PREAMBLE },
      { type: 'tool_use', id: calls[0].id, name: 'get_weather', input: args('get_weather', 0) },
      { type: 'tool_use', id: calls[1].id, name: 'get_time', input: args('get_time', 1) },
    ] },
    { role: 'user', content: [
      { type: 'tool_result', tool_use_id: calls[0].id, content: '18C and sunny' },
      { type: 'tool_result', tool_use_id: calls[1].id, content: '12:00' },
    ] },
  ]);
  assert.deepEqual(up.body.tool_choice, { type: 'none' });
  assert.equal(second.choices[0].message.content, toolResultText([
    { tool_use_id: calls[0].id, content: '18C and sunny' },
    { tool_use_id: calls[1].id, content: '12:00' }]));
}));

test('openai chat -> anthropic: upstream 429 and 529 reach the client as OpenAI errors with their status', { skip }, () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'claude',
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof OpenAI.RateLimitError && e.status === 429 && e.type === 'rate_limit_error' &&
    e.headers.get('retry-after') === '7');
  await assert.rejects(s.client.chat.completions.create({ model: 'claude',
    messages: [{ role: 'user', content: 'x [[status:529]]' }] }),
  (e) => e instanceof OpenAI.APIError && e.status === 529 && /Overloaded/.test(e.message));
  // Before the first byte a stream fails like a plain request: a real HTTP status.
  const raw = await fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude', stream: true,
      messages: [{ role: 'user', content: 'x [[status:529]]' }] }),
  });
  assert.equal(raw.status, 529);
  const body = await raw.json();
  assertSchema('ErrorResponse', body, '529 error body');
  assert.match(body.error.message, /Overloaded/);
}));

// Anthropic sends Retry-After with its 429s (the fake: `retry-after: 7`). The message and type
// once got lost on the way (a self-move in the provider's error path).
test('openai chat -> anthropic: a 429 with Retry-After keeps the upstream message', { skip }, () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'claude',
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof OpenAI.RateLimitError && /fake anthropic injected status 429/.test(e.message) &&
    e.code === 'rate_limit_error',
  'the OpenAI error names what the upstream said, with its type as code (as for a 529)');
  await assert.rejects(anthropic.messages.create({ model: 'claude', max_tokens: 5,
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof Anthropic.RateLimitError &&
    /fake anthropic injected status 429/.test(e.error?.error?.message),
  'the Anthropic error message names what the upstream said');
}));

test('openai chat stream -> anthropic: a mid-stream error event reaches the client as an error', { skip }, () => withLog(async () => {
  const stream = await s.client.chat.completions.create({
    model: 'claude', stream: true, messages: [{ role: 'user', content: 'go [[error-event]]' }],
  });
  let text = '';
  await assert.rejects((async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  })(), (e) => e instanceof OpenAI.APIError && /Overloaded/.test(e.message));
  const sent = s.anthropic.lastRequest().events;
  assert.equal(sent.at(-1).event, 'error');
  const before = sent.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
  assert.ok(before.length > 0);
  assert.equal(text, before, 'text before the error was delivered');
}));

test('openai chat -> anthropic: a feature Anthropic lacks is a 400 naming it and the provider', { skip }, () => withLog(async () => {
  const n = s.anthropic.requests.length;
  await assert.rejects(s.client.chat.completions.create({ model: 'claude', seed: 7,
    messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof OpenAI.BadRequestError && /seed/.test(e.message) && /anth/.test(e.message));
  assert.equal(s.anthropic.requests.length, n, 'nothing reached the upstream');
}));

// ---------------------------------------------------------------------------------------------
// openai chat.completions -> Gemini (thoughtSignature across turns)

test('openai chat -> gemini: tool calls, thoughtSignature back on the next turn, functionResponse', { skip }, () => withLog(async () => {
  const messages = [{ role: 'system', content: 'Use tools.' }, { role: 'user', content: 'Weather and time?' }];
  const first = await s.client.chat.completions.create({ model: 'gem', tools: OPENAI_TOOLS, messages });
  assertSchema('CreateChatCompletionResponse', first, 'gemini tool-call chat.completion');
  const up1 = s.gemini.lastRequest('generateContent');
  assert.equal(up1.headers['x-goog-api-key'], GEMINI_KEY);
  assert.equal(up1.query, '');
  assert.deepEqual(up1.body.systemInstruction, { parts: [{ text: 'Use tools.' }] });
  assert.deepEqual(up1.body.contents, [{ role: 'user', parts: [{ text: 'Weather and time?' }] }]);
  assert.deepEqual(up1.body.tools[0].functionDeclarations.map((d) => d.name), ['get_weather', 'get_time']);
  assert.deepEqual(up1.body.tools[0].functionDeclarations[0].parameters, {
    type: 'OBJECT',
    properties: { city: { type: 'STRING' }, unit: { type: 'STRING', enum: ['celsius', 'fahrenheit'] } },
    required: ['city'],
  });
  const calls = first.choices[0].message.tool_calls;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
    [['get_weather', args('get_weather', 0)], ['get_time', args('get_time', 1)]]);
  assert.match(calls[0].id, /__thought__/, 'the signature rides in the first call id');
  assert.doesNotMatch(calls[1].id, /__thought__/);

  const second = await s.client.chat.completions.create({
    model: 'gem', tools: OPENAI_TOOLS,
    messages: [...messages, first.choices[0].message,
      { role: 'tool', tool_call_id: calls[0].id, content: '{"temp_c":18}' },
      { role: 'tool', tool_call_id: calls[1].id, content: '12:00' }],
  });
  const up2 = s.gemini.lastRequest('generateContent');
  assert.equal(up2.status, 200, JSON.stringify(up2.response));
  assert.deepEqual(up2.body.contents.slice(1), [
    { role: 'model', parts: [
      { functionCall: { name: 'get_weather', args: args('get_weather', 0) }, thoughtSignature: SIGNATURES[0] },
      { functionCall: { name: 'get_time', args: args('get_time', 1) } },
    ] },
    { role: 'user', parts: [
      { functionResponse: { name: 'get_weather', response: { temp_c: 18 } } },
      { functionResponse: { name: 'get_time', response: { output: '12:00' } } },
    ] },
  ]);
  assert.equal(second.choices[0].message.content, functionResponseText([
    { name: 'get_weather', response: { temp_c: 18 } }, { name: 'get_time', response: { output: '12:00' } }]));
}));

// ---------------------------------------------------------------------------------------------
// @anthropic-ai/sdk -> Gemini

test('anthropic messages.create -> gemini: text, systemInstruction, generationConfig, usage', { skip }, () => withLog(async () => {
  const msg = await anthropic.messages.create({
    model: 'gem', max_tokens: 300, system: 'Be brief.', temperature: 0.5, top_k: 20,
    stop_sequences: ['END'], messages: [{ role: 'user', content: 'Say hello [[cache]]' }],
  });
  const up = s.gemini.lastRequest('generateContent');
  assert.deepEqual(up.body, {
    contents: [{ role: 'user', parts: [{ text: 'Say hello [[cache]]' }] }],
    systemInstruction: { parts: [{ text: 'Be brief.' }] },
    generationConfig: { temperature: 0.5, topK: 20, maxOutputTokens: 300, stopSequences: ['END'] },
  });
  const um = up.response.usageMetadata;
  assert.equal(msg.type, 'message');
  assert.equal(msg.model, GEMINI_MODEL + MODEL_VERSION_SUFFIX);
  assert.deepEqual(msg.content, [{ type: 'text', text: cannedGeminiText(GEMINI_MODEL, 'Say hello [[cache]]') }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.output_tokens, um.candidatesTokenCount);
  // Anthropic's input_tokens excludes cache reads, which are reported on their own.
  assert.equal(msg.usage.cache_read_input_tokens, CACHED_TOKENS);
  assert.equal(msg.usage.input_tokens, um.promptTokenCount - CACHED_TOKENS);
}));

test('anthropic messages.stream -> gemini: thinking then text, event order, thinkingConfig sent', { skip }, () => withLog(async () => {
  const stream = anthropic.messages.stream({
    model: 'gem', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [{ role: 'user', content: 'Think, then greet' }],
  });
  const events = [];
  stream.on('streamEvent', (e) => events.push(e));
  const final = await stream.finalMessage();
  const up = s.gemini.lastRequest('streamGenerateContent');
  assert.equal(up.query, '?alt=sse');
  assert.deepEqual(up.body.generationConfig, { maxOutputTokens: 4096,
    thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } });
  const text = cannedGeminiText(GEMINI_MODEL, 'Think, then greet');
  assert.equal(final.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), text);
  assert.equal(final.content.filter((b) => b.type === 'thinking').map((b) => b.thinking).join(''),
    geminiThought('Think, then greet'));
  assert.equal(final.stop_reason, 'end_turn');
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'message_start');
  assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
  const deltas = events.filter((e) => e.type === 'content_block_delta');
  assert.ok(deltas.filter((d) => d.delta.type === 'text_delta').length > 3, 'text in many deltas');
  const um = up.events.at(-1).usageMetadata;
  assert.equal(final.usage.output_tokens, um.candidatesTokenCount + um.thoughtsTokenCount);
  assert.equal(final.usage.input_tokens, um.promptTokenCount);
}));

// Gemini streams a text answer's thoughtSignature last (a part with empty text), after the
// thinking block closed. An Anthropic stream cannot reopen that block, and the text must stay
// one block, so the signature ends the message in a thinking block of its own; sent back next
// turn, it reaches Gemini again.
test('anthropic messages.stream -> gemini: a text answer\'s signature ends the message and round-trips', { skip }, () => withLog(async () => {
  const req = { model: 'gem', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [{ role: 'user', content: 'Sign it' }] };
  const whole = await anthropic.messages.create(req);
  assert.deepEqual(whole.content.map(({ citations, ...b }) => b), [
    { type: 'thinking', thinking: geminiThought('Sign it'), signature: SIGNATURES[1] },
    { type: 'text', text: cannedGeminiText(GEMINI_MODEL, 'Sign it') },
  ], 'not streamed: the signature is on the thinking block');
  const final = await anthropic.messages.stream(req).finalMessage();
  assert.deepEqual(final.content.map(({ citations, ...b }) => b), [
    { type: 'thinking', thinking: geminiThought('Sign it'), signature: '' },
    { type: 'text', text: cannedGeminiText(GEMINI_MODEL, 'Sign it') },
    { type: 'thinking', thinking: '', signature: SIGNATURES[1] },
  ], 'streamed: one text block, the signature in a last thinking block');

  await anthropic.messages.create({ model: 'gem', max_tokens: 4096,
    thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [...req.messages, { role: 'assistant', content: final.content },
      { role: 'user', content: 'And again?' }] });
  const up = s.gemini.lastRequest('generateContent');
  assert.equal(up.status, 200, JSON.stringify(up.response));
  const modelTurn = up.body.contents.find((c) => c.role === 'model');
  assert.ok(modelTurn.parts.some((p) => p.thoughtSignature === SIGNATURES[1]),
    `the signature went back to Gemini: ${JSON.stringify(modelTurn)}`);
}));

test('anthropic messages.stream -> gemini: parallel tool_use, signature kept, tool_result round trip', { skip }, () => withLog(async () => {
  const messages = [{ role: 'user', content: 'Weather and time?' }];
  const stream = anthropic.messages.stream({
    model: 'gem', max_tokens: 500, tools: ANTHROPIC_TOOLS, tool_choice: { type: 'any' }, messages,
  });
  const final = await stream.finalMessage();
  const up1 = s.gemini.lastRequest('streamGenerateContent');
  assert.deepEqual(up1.body.toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  assert.deepEqual(up1.body.tools[0].functionDeclarations.map((d) => [d.name, d.description]),
    ANTHROPIC_TOOLS.map((t) => [t.name, t.description]));
  assert.equal(final.stop_reason, 'tool_use');
  const uses = final.content.filter((b) => b.type === 'tool_use');
  assert.deepEqual(uses.map((u) => [u.name, u.input]),
    [['get_weather', args('get_weather', 0)], ['get_time', args('get_time', 1)]]);

  const second = await anthropic.messages.create({
    model: 'gem', max_tokens: 500, tools: ANTHROPIC_TOOLS,
    messages: [...messages, { role: 'assistant', content: final.content },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: uses[0].id, content: '18C' },
        { type: 'tool_result', tool_use_id: uses[1].id, content: 'no clock', is_error: true },
      ] }],
  });
  const up2 = s.gemini.lastRequest('generateContent');
  assert.equal(up2.status, 200, JSON.stringify(up2.response));
  assert.deepEqual(up2.body.contents.slice(1), [
    { role: 'model', parts: [
      { functionCall: { name: 'get_weather', args: args('get_weather', 0) }, thoughtSignature: SIGNATURES[0] },
      { functionCall: { name: 'get_time', args: args('get_time', 1) } },
    ] },
    { role: 'user', parts: [
      { functionResponse: { name: 'get_weather', response: { output: '18C' } } },
      { functionResponse: { name: 'get_time', response: { error: 'no clock' } } },
    ] },
  ]);
  assert.deepEqual(second.content, [{ type: 'text', text: functionResponseText([
    { name: 'get_weather', response: { output: '18C' } },
    { name: 'get_time', response: { error: 'no clock' } }]) }]);
}));

test('anthropic -> gemini: upstream errors keep their status and map to Anthropic types', { skip }, () => withLog(async () => {
  await assert.rejects(anthropic.messages.create({ model: 'gem', max_tokens: 5,
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof Anthropic.RateLimitError && e.error?.error?.type === 'rate_limit_error' &&
    /Resource has been exhausted/.test(e.error.error.message) &&
    e.headers.get('retry-after') === String(RETRY_DELAY_S));
  await assert.rejects(anthropic.messages.create({ model: 'gem', max_tokens: 5,
    messages: [{ role: 'user', content: 'x [[status:503]]' }] }),
  (e) => e instanceof Anthropic.APIError && e.status === 503 &&
    e.error?.error?.type === 'overloaded_error');
  const stream = anthropic.messages.stream({ model: 'gem', max_tokens: 50,
    messages: [{ role: 'user', content: 'go [[error-event]]' }] });
  let text = '';
  stream.on('text', (t) => { text += t; });
  await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError &&
    e.error?.type === 'error' && e.error?.error?.type === 'overloaded_error' &&
    /overloaded/.test(e.error.error.message));
  const sent = s.gemini.lastRequest('streamGenerateContent').events;
  assert.ok('error' in sent.at(-1));
  assert.equal(text, sent.slice(0, -1).map((e) => e.candidates[0].content.parts[0].text).join(''));
}));

// ---------------------------------------------------------------------------------------------
// @anthropic-ai/sdk -> Anthropic (passthrough-ish)

test('anthropic -> anthropic: cache_control on system, tools and messages survives; cache usage', { skip }, () => withLog(async () => {
  const system = [
    { type: 'text', text: 'You are a weather bot.' },
    { type: 'text', text: 'Long reference text. '.repeat(20), cache_control: { type: 'ephemeral' } },
  ];
  const tools = [{ ...ANTHROPIC_TOOLS[0], cache_control: { type: 'ephemeral', ttl: '1h' } }];
  const messages = [{ role: 'user', content: [
    { type: 'text', text: 'Document: lorem ipsum', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Summarise' },
  ] }];
  const msg = await anthropic.messages.create({ model: 'claude', max_tokens: 200, system, tools,
    tool_choice: { type: 'none' }, messages });
  const up = s.anthropic.lastRequest();
  assert.deepEqual(up.body.system, system);
  assert.deepEqual(up.body.tools, tools);
  assert.deepEqual(up.body.messages, messages);
  assert.deepEqual(up.body.tool_choice, { type: 'none' });
  const u = up.response.usage;
  assert.equal(msg.id, up.response.id);
  assert.equal(msg.content[0].text, cannedAnthropicText(CLAUDE_MODEL, 'Document: lorem ipsumSummarise'));
  assert.equal(msg.usage.input_tokens, u.input_tokens);
  assert.equal(msg.usage.cache_read_input_tokens, CACHE_READ);
  assert.equal(msg.usage.cache_creation_input_tokens, CACHE_WRITE);
  assert.equal(msg.usage.output_tokens, u.output_tokens);
}));

test('anthropic -> anthropic: thinking streamed with signature, sent back verbatim next turn', { skip }, () => withLog(async () => {
  const thinking = { type: 'enabled', budget_tokens: 2048 };
  const stream = anthropic.messages.stream({ model: 'claude', max_tokens: 4096, thinking,
    messages: [{ role: 'user', content: 'Hi there' }] });
  const deltaTypes = [];
  stream.on('streamEvent', (e) => { if (e.type === 'content_block_delta') deltaTypes.push(e.delta.type); });
  const final = await stream.finalMessage();
  const up1 = s.anthropic.lastRequest();
  assert.deepEqual(up1.body.thinking, thinking);
  assert.equal(up1.body.max_tokens, 4096, 'a budget the client set is not added on top');
  assert.equal(final.content.length, 2, JSON.stringify(final.content));
  assert.deepEqual(final.content[0],
    { type: 'thinking', thinking: thinkingText('Hi there'), signature: THINKING_SIGNATURE });
  assert.equal(final.content[1].type, 'text');
  assert.equal(final.content[1].text, cannedAnthropicText(CLAUDE_MODEL, 'Hi there'));
  assert.ok(deltaTypes.includes('thinking_delta') && deltaTypes.includes('signature_delta') &&
    deltaTypes.includes('text_delta'), deltaTypes.join(','));
  assert.equal(deltaTypes.filter((t) => t === 'signature_delta').length, 1);

  await anthropic.messages.create({ model: 'claude', max_tokens: 4096, thinking,
    messages: [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: final.content },
      { role: 'user', content: 'And again' }] });
  const up2 = s.anthropic.lastRequest();
  assert.equal(up2.status, 200, JSON.stringify(up2.response));
  assert.deepEqual(up2.body.messages[1].content[0],
    { type: 'thinking', thinking: thinkingText('Hi there'), signature: THINKING_SIGNATURE });
}));

test('anthropic -> anthropic: 529 overloaded_error and a mid-stream error event keep their type', { skip }, () => withLog(async () => {
  await assert.rejects(anthropic.messages.create({ model: 'claude', max_tokens: 5,
    messages: [{ role: 'user', content: 'x [[status:529]]' }] }),
  (e) => e instanceof Anthropic.APIError && e.status === 529 &&
    e.error?.error?.type === 'overloaded_error' && /Overloaded/.test(e.error.error.message));
  const stream = anthropic.messages.stream({ model: 'claude', max_tokens: 50,
    messages: [{ role: 'user', content: 'go [[error-event]]' }] });
  await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError &&
    e.error?.error?.type === 'overloaded_error' && /Overloaded/.test(e.error.error.message));
  await assert.rejects(anthropic.messages.create({ model: 'claude', max_tokens: 5,
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof Anthropic.RateLimitError && e.error?.error?.type === 'rate_limit_error');
}));

test('anthropic count_tokens -> anthropic: forwarded to the upstream', { skip }, () => withLog(async () => {
  const { data: r, response } = await anthropic.messages.countTokens({ model: 'claude',
    system: 'Be brief.', messages: [{ role: 'user', content: 'count these four words' }] })
    .withResponse();
  assert.equal(response.headers.get('x-switchyard-token-count'), 'upstream');
  const up = s.anthropic.lastRequest('/v1/messages/count_tokens');
  assert.equal(up.status, 200, JSON.stringify(up.response));
  assert.equal(r.input_tokens, up.response.input_tokens);
  assert.equal(r.input_tokens, 6);
  assert.equal(up.body.system, 'Be brief.');
}));

// ---------------------------------------------------------------------------------------------
// Auth failures, broken streams, images, schema conversion

test('an upstream refusing the provider key: 401 from Anthropic, 400 from Gemini, kept for clients', { skip }, () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'claude-badkey',
    messages: [{ role: 'user', content: 'hi' }] }),
  (e) => e instanceof OpenAI.AuthenticationError && /invalid x-api-key/.test(e.message));
  await assert.rejects(anthropic.messages.create({ model: 'claude-badkey', max_tokens: 5,
    messages: [{ role: 'user', content: 'hi' }] }),
  (e) => e instanceof Anthropic.AuthenticationError &&
    e.error?.error?.type === 'authentication_error');
  assert.equal(s.anthropic.lastRequest().headers['x-api-key'], 'not-the-anthropic-key');
  await assert.rejects(s.client.chat.completions.create({ model: 'gem-badkey',
    messages: [{ role: 'user', content: 'hi' }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.code === 'INVALID_ARGUMENT' &&
    /API key not valid/.test(e.message));
  assert.equal(s.gemini.lastRequest().headers['x-goog-api-key'], 'not-the-gemini-key');
}));

test('a connection reset mid-stream reaches every client as an error in its format', { skip }, () => withLog(async () => {
  let text = '';
  await assert.rejects((async () => {
    const st = await s.client.chat.completions.create({ model: 'claude', stream: true,
      messages: [{ role: 'user', content: 'x [[cut]]' }] });
    for await (const c of st) text += c.choices[0]?.delta.content ?? '';
  })(), (e) => e instanceof OpenAI.APIError && /upstream stream from 'anth' broke/.test(e.message));
  const sent = s.anthropic.lastRequest().events;
  // A reset may discard bytes the gateway had not read yet: what arrived is a prefix.
  const sentText = sent.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
  assert.ok(sentText.length > 0 && sentText.startsWith(text), `${JSON.stringify(text)} / ${JSON.stringify(sentText)}`);
  for (const model of ['claude', 'gem']) {
    await assert.rejects(anthropic.messages.stream({ model, max_tokens: 50,
      messages: [{ role: 'user', content: 'x [[cut]]' }] }).finalMessage(),
    (e) => e instanceof Anthropic.APIError && e.error?.error?.type === 'api_error' &&
      /broke/.test(e.error.error.message), model);
  }
  const events = await collectResponseEvents(await s.client.responses.create({ model: 'claude',
    stream: true, input: 'go [[error-event]]' }));
  assert.deepEqual(events.slice(-2).map((e) => e.type), ['error', 'response.failed']);
  assert.match(events.at(-2).message, /Overloaded/);
  assert.ok(!events.some((e) => e.type === 'response.completed'));
}));

test('anthropic -> gemini: a base64 image becomes inlineData; cache_control is not carried', { skip }, () => withLog(async () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
  const msg = await anthropic.messages.create({ model: 'gem', max_tokens: 50,
    system: [{ type: 'text', text: 'Describe.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
      { type: 'text', text: 'What is this?' }] }] });
  assert.deepEqual(s.gemini.lastRequest('generateContent').body, {
    contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: png } },
      { text: 'What is this?' }] }],
    systemInstruction: { parts: [{ text: 'Describe.' }] },
    generationConfig: { maxOutputTokens: 50 },
  });
  assert.equal(msg.content[0].text, cannedGeminiText(GEMINI_MODEL, 'What is this?'));
}));

test('openai chat -> gemini: JSON Schema converted to Gemini\'s subset; unsupported keyword is a 400', { skip }, () => withLog(async () => {
  const tools = [{ type: 'function', function: { name: 'lookup', strict: true, parameters: {
    type: 'object', additionalProperties: false, required: ['q', 'n'],
    properties: {
      q: { type: ['string', 'null'], description: 'query' },
      n: { $ref: '#/$defs/N' },
      when: { type: 'string', format: 'date-time' },
      tags: { type: 'array', items: { type: 'string', const: 'x' } },
    },
    $defs: { N: { type: 'integer', minimum: 1 } },
  } } }];
  const r = await s.client.chat.completions.create({ model: 'gem', tools,
    messages: [{ role: 'user', content: 'look it up' }] });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(s.gemini.lastRequest('generateContent').body.tools, [{ functionDeclarations: [{
    name: 'lookup', parameters: { type: 'OBJECT', required: ['q', 'n'], properties: {
      q: { nullable: true, type: 'STRING', description: 'query' },
      n: { type: 'INTEGER', minimum: 1 },
      when: { type: 'STRING', format: 'date-time' },
      tags: { type: 'ARRAY', items: { type: 'STRING', enum: ['x'] } },
    } } }] }]);
  const n = s.gemini.requests.length;
  await assert.rejects(s.client.chat.completions.create({ model: 'gem', messages: [{ role: 'user', content: 'x' }],
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object',
      properties: { x: { not: { type: 'string' } } } } } }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.code === 'unsupported_parameter' &&
    /'not'/.test(e.message) && /\/properties\/x\/not/.test(e.message) && /goog/.test(e.message));
  assert.equal(s.gemini.requests.length, n, 'nothing reached the upstream');
}));

test('stop reasons: max_tokens / MAX_TOKENS become length, max_tokens, incomplete', { skip }, () => withLog(async () => {
  for (const model of ['claude', 'gem']) {
    const chat = await s.client.chat.completions.create({ model,
      messages: [{ role: 'user', content: 'long [[length]]' }] });
    assert.equal(chat.choices[0].finish_reason, 'length', model);
    const chunks = await collectChat(await s.client.chat.completions.create({ model, stream: true,
      messages: [{ role: 'user', content: 'long [[length]]' }] }));
    assert.deepEqual(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean), ['length'], model);
    const msg = await anthropic.messages.create({ model, max_tokens: 10,
      messages: [{ role: 'user', content: 'long [[length]]' }] });
    assert.equal(msg.stop_reason, 'max_tokens', model);
    const r = await s.client.responses.create({ model, input: 'long [[length]]' });
    assertSchema('Response', r, `incomplete Response (${model})`);
    assert.equal(r.status, 'incomplete', model);
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' }, model);
    const parts = [];
    for await (const p of await ollama.chat({ model, stream: true,
      messages: [{ role: 'user', content: 'long [[length]]' }] })) parts.push(p);
    assert.equal(parts.at(-1).done_reason, 'length', model);
  }
}));

test('openai chat stream -> gemini: streamed tool calls carry the signature in the id; next turn signed', { skip }, () => withLog(async () => {
  const messages = [{ role: 'user', content: 'Weather and time?' }];
  const final = await s.client.chat.completions.stream({ model: 'gem', tools: OPENAI_TOOLS, messages })
    .finalChatCompletion();
  const msg = final.choices[0].message;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(msg.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
    [['get_weather', args('get_weather', 0)], ['get_time', args('get_time', 1)]]);
  assert.match(msg.tool_calls[0].id, /__thought__/);
  // The SDK's final message carries its own `parsed: null`, an unknown message field the Gemini
  // provider rejects (docs/gemini.md): send back what the API defines.
  const { role, content, tool_calls: toolCalls } = msg;
  await s.client.chat.completions.create({ model: 'gem', tools: OPENAI_TOOLS,
    messages: [...messages, { role, content, tool_calls: toolCalls },
      ...msg.tool_calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: 'ok' }))] });
  const up = s.gemini.lastRequest('generateContent');
  assert.equal(up.status, 200, JSON.stringify(up.response));
  assert.equal(up.body.contents[1].parts[0].thoughtSignature, SIGNATURES[0]);
  assert.equal(up.body.contents[1].parts[1].thoughtSignature, undefined);
}));

// ---------------------------------------------------------------------------------------------
// openai responses -> Anthropic and Gemini

test('responses.create -> anthropic: text, instructions as system, cached usage, schema', { skip }, () => withLog(async () => {
  const r = await s.client.responses.create({ model: 'claude', instructions: 'Be brief.',
    input: 'Say hello [[cache]]', max_output_tokens: 100 });
  assertSchema('Response', r, 'Response from anthropic');
  const up = s.anthropic.lastRequest();
  assert.equal(up.body.system, 'Be brief.');
  assert.equal(up.body.max_tokens, 100);
  assert.deepEqual(up.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'Say hello [[cache]]' }] }]);
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, cannedAnthropicText(CLAUDE_MODEL, 'Say hello [[cache]]'));
  const u = up.response.usage;
  assert.equal(r.usage.input_tokens, u.input_tokens + CACHE_READ + CACHE_WRITE);
  assert.equal(r.usage.input_tokens_details.cached_tokens, CACHE_READ);
  assert.equal(r.usage.output_tokens, u.output_tokens);
}));

async function collectResponseEvents(stream) {
  const events = [];
  for await (const e of stream) {
    assertSchema('ResponseStreamEvent', e, `stream event #${events.length} (${e.type})`);
    events.push(e);
  }
  return events;
}

test('responses stream -> anthropic: reasoning summary from thinking, text, function calls', { skip }, () => withLog(async () => {
  const stream = await s.client.responses.create({ model: 'claude', stream: true,
    input: 'Weather and time?', tools: RESPONSES_TOOLS, reasoning: { effort: 'low' } });
  const events = await collectResponseEvents(stream);
  const up = s.anthropic.lastRequest();
  assert.deepEqual(up.body.thinking, { type: 'enabled', budget_tokens: 1024 });
  assert.equal(up.body.max_tokens, 4096 + 1024, 'a budget from reasoning.effort comes on top');
  events.forEach((e, i) => assert.equal(e.sequence_number, i));
  const done = events.at(-1);
  assert.equal(done.type, 'response.completed');
  assertSchema('Response', done.response, 'completed Response');
  const out = done.response.output;
  assert.deepEqual(out.map((o) => o.type), ['reasoning', 'message', 'function_call', 'function_call']);
  assert.equal(out[0].summary[0].text, thinkingText('Weather and time?'));
  assert.equal(out[1].content[0].text, TOOL_PREAMBLE);
  assert.deepEqual(out.slice(2).map((o) => [o.call_id, o.name, JSON.parse(o.arguments)]),
    RESPONSES_TOOLS.map((t, i) => [anthropicToolUseId(i), t.name, args(t.name, i)]));
  const argDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
  assert.ok(argDeltas.length >= 10, `arguments relayed in pieces (${argDeltas.length})`);
}));

test('responses.create -> gemini: function calls, signature kept, function_call_output round trip', { skip }, () => withLog(async () => {
  const first = await s.client.responses.create({ model: 'gem', input: 'Weather and time?',
    tools: RESPONSES_TOOLS, tool_choice: { type: 'function', name: 'get_time' } });
  assertSchema('Response', first, 'Response with function calls from gemini');
  const up1 = s.gemini.lastRequest('generateContent');
  assert.deepEqual(up1.body.toolConfig, { functionCallingConfig: { mode: 'ANY',
    allowedFunctionNames: ['get_time'] } });
  const calls = first.output.filter((o) => o.type === 'function_call');
  assert.deepEqual(calls.map((c) => [c.name, JSON.parse(c.arguments)]), [['get_time', args('get_time', 0)]]);
  const second = await s.client.responses.create({ model: 'gem', tools: RESPONSES_TOOLS,
    input: [{ role: 'user', content: 'Weather and time?' }, ...first.output,
      { type: 'function_call_output', call_id: calls[0].call_id, output: '12:00' }] });
  assertSchema('Response', second, 'second Response from gemini');
  const up2 = s.gemini.lastRequest('generateContent');
  assert.equal(up2.status, 200, JSON.stringify(up2.response));
  assert.deepEqual(up2.body.contents.slice(1), [
    { role: 'model', parts: [{ functionCall: { name: 'get_time', args: args('get_time', 0) },
      thoughtSignature: SIGNATURES[0] }] },
    { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { output: '12:00' } } }] },
  ]);
  assert.equal(second.output_text, functionResponseText([{ name: 'get_time', response: { output: '12:00' } }]));
}));

test('responses stream -> gemini: text events in order, usage with cached and reasoning tokens', { skip }, () => withLog(async () => {
  const stream = await s.client.responses.create({ model: 'gem', stream: true,
    input: 'Stream please [[cache]]', reasoning: { effort: 'medium' } });
  const events = await collectResponseEvents(stream);
  const up = s.gemini.lastRequest('streamGenerateContent');
  assert.deepEqual(up.body.generationConfig.thinkingConfig, { thinkingBudget: 8192, includeThoughts: true });
  const types = events.map((e) => e.type);
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
  assert.equal(types.at(-1), 'response.completed');
  const expected = cannedGeminiText(GEMINI_MODEL, 'Stream please [[cache]]');
  assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), expected);
  assert.equal(events.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta).join(''),
    geminiThought('Stream please [[cache]]'));
  const r = events.at(-1).response;
  const um = up.events.at(-1).usageMetadata;
  assert.deepEqual(r.output.map((o) => o.type), ['reasoning', 'message']);
  assert.equal(r.usage.input_tokens, um.promptTokenCount);
  assert.equal(r.usage.input_tokens_details.cached_tokens, CACHED_TOKENS);
  assert.equal(r.usage.output_tokens, um.candidatesTokenCount + um.thoughtsTokenCount);
  assert.equal(r.usage.output_tokens_details.reasoning_tokens, um.thoughtsTokenCount);
  assert.equal(r.usage.total_tokens, um.totalTokenCount);
}));

// ---------------------------------------------------------------------------------------------
// ollama -> Gemini

test('ollama chat stream -> gemini: NDJSON parts, final counts from usageMetadata', { skip }, () => withLog(async () => {
  const stream = await ollama.chat({ model: 'gem', stream: true,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Stream please' }],
    options: { temperature: 0.2, num_predict: 77, seed: 3 } });
  const parts = [];
  for await (const p of stream) parts.push(p);
  const up = s.gemini.lastRequest('streamGenerateContent');
  assert.deepEqual(up.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(up.body.generationConfig, { temperature: 0.2, maxOutputTokens: 77, seed: 3 });
  const expected = cannedGeminiText(GEMINI_MODEL, 'Stream please');
  assert.equal(parts.map((p) => p.message.content).join(''), expected);
  assert.ok(parts.length > 3);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false));
  const last = parts.at(-1);
  const um = up.events.at(-1).usageMetadata;
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
  assert.equal(last.model, 'gem');
  assert.equal(last.prompt_eval_count, um.promptTokenCount);
  assert.equal(last.eval_count, um.candidatesTokenCount);
}));

test('ollama chat -> gemini: tool calls as objects, tool results as functionResponse', { skip }, () => withLog(async () => {
  const messages = [{ role: 'user', content: 'Weather and time?' }];
  const first = await ollama.chat({ model: 'gem', tools: OPENAI_TOOLS, messages, stream: false });
  const calls = first.message.tool_calls;
  assert.deepEqual(calls.map((c) => [c.function.name, c.function.arguments]),
    [['get_weather', args('get_weather', 0)], ['get_time', args('get_time', 1)]]);
  const second = await ollama.chat({ model: 'gem', tools: OPENAI_TOOLS, stream: false,
    messages: [...messages, first.message,
      { role: 'tool', tool_name: 'get_weather', content: '18C' },
      { role: 'tool', tool_name: 'get_time', content: '12:00' }] });
  const up = s.gemini.lastRequest('generateContent');
  assert.equal(up.status, 200, JSON.stringify(up.response));
  assert.deepEqual(up.body.contents[2], { role: 'user', parts: [
    { functionResponse: { name: 'get_weather', response: { output: '18C' } } },
    { functionResponse: { name: 'get_time', response: { output: '12:00' } } },
  ] });
  assert.equal(up.body.contents[1].parts[0].thoughtSignature, SIGNATURES[0]);
  assert.equal(second.message.content, functionResponseText([
    { name: 'get_weather', response: { output: '18C' } }, { name: 'get_time', response: { output: '12:00' } }]));
}));

test('ollama embed -> gemini batchEmbedContents: one request per input, vectors in order', { skip }, () => withLog(async () => {
  const input = ['first text', 'second text', 'третий'];
  const r = await ollama.embed({ model: 'gem-embed', input });
  const up = s.gemini.lastRequest('batchEmbedContents');
  assert.equal(up.headers['x-goog-api-key'], GEMINI_KEY);
  assert.equal(up.path, `/v1beta/models/${GEMINI_EMBED_MODEL}:batchEmbedContents`);
  assert.deepEqual(up.body, { requests: input.map((text) => ({
    model: `models/${GEMINI_EMBED_MODEL}`, content: { parts: [{ text }] } })) });
  assert.equal(r.model, 'gem-embed');
  // Vectors are float32: both APIs write each value in its shortest float32 form (as Ollama's
  // Go server and OpenAI do), equal to the upstream's numbers as float32s.
  const f32 = (vectors) => vectors.map((v) => v.map(Math.fround));
  assert.deepEqual(f32(r.embeddings), f32(input.map((t) => embeddingFor(t))));
  // OpenAI's embeddings endpoint reaches the same upstream, with dimensions mapped.
  const o = await s.client.embeddings.create({ model: 'gem-embed', input: 'one', dimensions: 4,
    encoding_format: 'float', task_type: 'RETRIEVAL_QUERY' });
  assertSchema('CreateEmbeddingResponse', o, 'embeddings from gemini');
  assert.deepEqual(s.gemini.lastRequest('batchEmbedContents').body.requests, [{
    model: `models/${GEMINI_EMBED_MODEL}`, content: { parts: [{ text: 'one' }] },
    outputDimensionality: 4, taskType: 'RETRIEVAL_QUERY' }]);
  assert.deepEqual(f32([o.data[0].embedding]), f32([embeddingFor('one', 4)]));
}));

test('gemini errors: 429 keeps its status for OpenAI clients; a mid-stream error event ends the stream', { skip }, () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'gem',
    messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
  (e) => e instanceof OpenAI.RateLimitError && e.code === 'RESOURCE_EXHAUSTED' &&
    e.headers.get('retry-after') === String(RETRY_DELAY_S));
  const stream = await s.client.chat.completions.create({ model: 'gem', stream: true,
    messages: [{ role: 'user', content: 'go [[error-event]]' }] });
  let text = '';
  await assert.rejects((async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  })(), (e) => e instanceof OpenAI.APIError && /overloaded/.test(e.message));
  const sent = s.gemini.lastRequest('streamGenerateContent').events;
  assert.equal(text, sent.slice(0, -1).map((e) => e.candidates[0].content.parts[0].text).join(''));
  await assert.rejects((async () => {
    const st = await ollama.chat({ model: 'gem', stream: true,
      messages: [{ role: 'user', content: 'cut [[cut]]' }] });
    for await (const p of st) void p;
  })(), /broke|reset|upstream|ended/i);
}));
