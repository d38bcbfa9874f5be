// The official Anthropic SDK (@anthropic-ai/sdk) through switchyard to the fake OpenAI
// upstream: Messages API in, chat completions out. Non-streaming, streaming text and tool_use
// (input_json_delta), errors in Anthropic's format, count_tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, API_KEY, DIRECT, withStackLog } from './lib/harness.mjs';
import { cannedContent, countTokens, toolArguments, toolCallId } from './lib/fake_upstream.mjs';

// The fake upstream speaks only OpenAI's format; these tests need the gateway's translation.
const skip = DIRECT ? 'COMPAT_DIRECT: no gateway to translate' : false;

let s;
let client;
before(async () => {
  if (skip) return;
  s = await startStack();
  client = new Anthropic({ apiKey: API_KEY, baseURL: s.origin, maxRetries: 0, timeout: 15000 });
});
after(async () => { await s?.stop(); });

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

const TOOLS = [
  {
    name: 'get_weather',
    description: 'Current weather in a city',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string' } },
      required: ['city'],
    },
  },
  { name: 'get_time', input_schema: { type: 'object', properties: {} } },
];

test('messages.create: text, stop_reason, usage, translated request', { skip }, () => withLog(async () => {
  const msg = await client.messages.create({
    model: 'fast',
    max_tokens: 100,
    system: 'Be brief.',
    messages: [{ role: 'user', content: 'Say hello' }],
    temperature: 0.3,
    stop_sequences: ['END'],
  });
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.content.length, 1);
  assert.equal(msg.content[0].type, 'text');
  assert.equal(msg.content[0].text, cannedContent('gpt-4o-mini', 'Say hello'));
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.output_tokens, countTokens(msg.content[0].text));
  assert.equal(msg.usage.input_tokens, 4);  // "Be brief." + "Say hello"
  assert.ok(msg._request_id, 'request-id header for the SDK');

  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.equal(up.headers.authorization, `Bearer ${API_KEY}`);
  assert.deepEqual(up.body.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello' },
  ]);
  assert.equal(up.body.model, 'gpt-4o-mini');
  assert.equal(up.body.max_tokens, 100);
  assert.equal(up.body.temperature, 0.3);
  assert.deepEqual(up.body.stop, ['END']);
}));

test('messages.stream: text arrives as text_delta events in Anthropic order', { skip }, () => withLog(async () => {
  const stream = client.messages.stream({
    model: 'fast', max_tokens: 100, messages: [{ role: 'user', content: 'Stream please' }],
  });
  const types = [];
  let text = '';
  stream.on('streamEvent', (e) => types.push(e.type));
  stream.on('text', (t) => { text += t; });
  const final = await stream.finalMessage();
  const expected = cannedContent('gpt-4o-mini', 'Stream please');
  assert.equal(text, expected);
  assert.equal(final.content[0].text, expected);
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(final.usage.output_tokens > 0);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(types.at(-2), 'message_delta');
  assert.ok(types.filter((t) => t === 'content_block_delta').length > 3, 'incremental deltas');
}));

test('messages.stream: parallel tool_use blocks with input_json_delta', { skip }, () => withLog(async () => {
  const stream = client.messages.stream({
    model: 'fast', max_tokens: 200, tools: TOOLS, tool_choice: { type: 'any' },
    messages: [{ role: 'user', content: 'Weather and time?' }],
  });
  let jsonDeltas = 0;
  stream.on('streamEvent', (e) => {
    if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') jsonDeltas++;
  });
  const final = await stream.finalMessage();
  const uses = final.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 2);
  uses.forEach((u, i) => {
    assert.equal(u.id, toolCallId(i));
    assert.equal(u.name, TOOLS[i].name);
    assert.deepEqual(u.input, JSON.parse(toolArguments(TOOLS[i].name, i)));
  });
  assert.ok(jsonDeltas >= 4, `arguments streamed in pieces (${jsonDeltas} deltas)`);
  assert.equal(final.stop_reason, 'tool_use');
  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.equal(up.body.tool_choice, 'required');
  assert.deepEqual(up.body.tools.map((t) => t.function.name), ['get_weather', 'get_time']);
}));

test('tool_use round trip: tool_result goes back as a tool message', { skip }, () => withLog(async () => {
  const first = await client.messages.create({
    model: 'fast', max_tokens: 200, tools: [TOOLS[0]],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  assert.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(use.input, JSON.parse(toolArguments('get_weather', 0)));
  const second = await client.messages.create({
    model: 'fast', max_tokens: 200,
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: use.id, content: '18C and sunny' },
        { type: 'text', text: 'Thanks' },
      ] },
    ],
  });
  assert.equal(second.content[0].text, cannedContent('gpt-4o-mini', 'Thanks'));
  const msgs = s.upstream.lastRequest('/v1/chat/completions').body.messages;
  assert.equal(msgs[1].role, 'assistant');
  assert.equal(msgs[1].tool_calls[0].id, use.id);
  assert.deepEqual(JSON.parse(msgs[1].tool_calls[0].function.arguments), use.input);
  assert.deepEqual(msgs[2], { role: 'tool', content: '18C and sunny', tool_call_id: use.id });
  assert.equal(msgs[3].role, 'user');
}));

test('errors: Anthropic error types and statuses reach the SDK', { skip }, () => withLog(async () => {
  await assert.rejects(
    client.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError && e.status === 404 &&
      e.error?.type === 'error' && e.error?.error?.type === 'not_found_error');
  await assert.rejects(
    client.messages.create({ model: 'fast', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.error?.error?.type === 'invalid_request_error' &&
      /max_tokens/.test(e.error.error.message));
  await assert.rejects(
    client.messages.create({ model: 'fast', max_tokens: 5,
      messages: [{ role: 'user', content: 'x [[status:429]]' }] }),
    (e) => e instanceof Anthropic.RateLimitError && e.error?.error?.type === 'rate_limit_error');
  await assert.rejects(
    client.messages.create({ model: 'fast', max_tokens: 5,
      messages: [{ role: 'user', content: 'x [[status:500]]' }] }),
    (e) => e instanceof Anthropic.InternalServerError && e.error?.error?.type === 'api_error');
}));

test('errors: a stream cut mid-way ends in an error event the SDK raises', { skip }, () => withLog(async () => {
  const stream = client.messages.stream({
    model: 'fast', max_tokens: 50, messages: [{ role: 'user', content: 'please [[cut]]' }],
  });
  await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError &&
    e.error?.type === 'error' && e.error?.error?.type === 'api_error' &&
    /broke|reset|upstream/i.test(e.error.error.message));
}));

test('count_tokens: an estimate for a non-Anthropic provider', { skip }, () => withLog(async () => {
  const small = await client.messages.countTokens({
    model: 'fast', messages: [{ role: 'user', content: 'hi' }],
  });
  const big = await client.messages.countTokens({
    model: 'fast', system: 'x'.repeat(4000), tools: TOOLS,
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(typeof small.input_tokens, 'number');
  assert.ok(small.input_tokens > 0);
  assert.ok(big.input_tokens >= small.input_tokens + 1000, `${small.input_tokens} -> ${big.input_tokens}`);
  const raw = await fetch(`${s.origin}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01',
      'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get('x-switchyard-token-count'), 'estimate');
  assert.ok(!s.upstream.requests.some((r) => r.path.includes('count_tokens')));
}));
