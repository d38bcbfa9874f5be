// The official OpenAI SDK's Responses API (client.responses.create / .stream) through
// switchyard to the fake OpenAI upstream: Responses in, chat completions out. Text, streaming
// events in the documented order, function calls and their outputs, json_schema, stored
// responses (previous_response_id, retrieve, input items, delete), rejected features, errors,
// a stream cut mid-way. Bodies and events are validated against
// the OpenAI spec's Response / ResponseStreamEvent schemas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, DIRECT, withStackLog } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';
import { cannedContent, contentPieces, countTokens, toolArguments, toolCallId } from './lib/fake_upstream.mjs';

// The fake upstream speaks only chat completions; these tests need the gateway's translation.
const skip = DIRECT ? 'COMPAT_DIRECT: no gateway to translate' : false;

let s;
before(async () => { if (!skip) s = await startStack(); });
after(async () => { await s?.stop(); });

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

const TOOLS = [
  { type: 'function', name: 'get_weather', description: 'Current weather in a city', strict: false,
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } },
      required: ['city'] } },
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} } },
];

test('responses.create: text, usage, translated request, schema', { skip }, () => withLog(async () => {
  const { data: r, response: raw } = await s.client.responses.create({
    model: 'fast', instructions: 'Be brief.', input: 'Say hello', temperature: 0.3,
    max_output_tokens: 100, metadata: { team: 'qa' },
  }).withResponse();
  assertSchema('Response', r, 'Response body');
  assert.equal(r.object, 'response');
  assert.match(r.id, /^resp_/);
  assert.equal(r.status, 'completed');
  const expected = cannedContent('gpt-4o-mini', 'Say hello');
  assert.equal(r.output_text, expected);  // the SDK's convenience over output[].content[]
  assert.equal(r.output.length, 1);
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.output[0].content[0].type, 'output_text');
  assert.equal(r.usage.output_tokens, countTokens(expected));
  assert.equal(r.usage.input_tokens, 4);  // "Be brief." + "Say hello"
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
  assert.deepEqual(r.metadata, { team: 'qa' });
  assert.equal(r.instructions, 'Be brief.');
  assert.equal(raw.headers.get('x-switchyard-provider'), 'up');

  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.deepEqual(up.body.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello' },
  ]);
  assert.equal(up.body.model, 'gpt-4o-mini');
  assert.equal(up.body.max_completion_tokens, 100);
  assert.equal(up.body.temperature, 0.3);
}));

test('responses.create stream: events in order with sequence numbers, schema-valid', { skip }, () => withLog(async () => {
  const stream = await s.client.responses.create({
    model: 'fast', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream please' }] }],
    stream: true,
  });
  const events = [];
  for await (const e of stream) {
    assertSchema('ResponseStreamEvent', e, `stream event #${events.length} (${e.type})`);
    events.push(e);
  }
  const types = events.map((e) => e.type);
  assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress',
    'response.output_item.added', 'response.content_part.added']);
  assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
    'response.output_item.done', 'response.completed']);
  events.forEach((e, i) => assert.equal(e.sequence_number, i));
  const deltas = events.filter((e) => e.type === 'response.output_text.delta');
  const expected = cannedContent('gpt-4o-mini', 'Stream please');
  assert.equal(deltas.length, contentPieces(expected).length, 'one delta per upstream chunk');
  assert.equal(deltas.map((d) => d.delta).join(''), expected);
  const done = events.at(-1).response;
  assert.equal(done.status, 'completed');
  assert.equal(done.output[0].content[0].text, expected);
  assert.ok(done.usage.output_tokens > 0);
}));

test('responses.stream: finalResponse with parallel function calls streamed in pieces', { skip }, () => withLog(async () => {
  const stream = s.client.responses.stream({
    model: 'fast', input: 'Weather and time?', tools: TOOLS, tool_choice: 'required',
  });
  let argDeltas = 0;
  stream.on('response.function_call_arguments.delta', () => { argDeltas++; });
  const final = await stream.finalResponse();
  assertSchema('Response', final, 'final Response');
  const calls = final.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, 2);
  calls.forEach((c, i) => {
    assert.equal(c.call_id, toolCallId(i));
    assert.equal(c.name, TOOLS[i].name);
    assert.deepEqual(JSON.parse(c.arguments), JSON.parse(toolArguments(TOOLS[i].name, i)));
  });
  assert.ok(argDeltas >= 4, `arguments streamed in pieces (${argDeltas} deltas)`);
  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.equal(up.body.tool_choice, 'required');
  assert.deepEqual(up.body.tools.map((t) => t.function.name), ['get_weather', 'get_time']);
  assert.equal(up.body.tools[0].function.strict, false);
}));

test('function call round trip: output items go back as input', { skip }, () => withLog(async () => {
  const first = await s.client.responses.create({
    model: 'fast', input: 'Weather in Paris?', tools: [TOOLS[0]],
  });
  const call = first.output.find((o) => o.type === 'function_call');
  assert.ok(call, JSON.stringify(first.output));
  assert.deepEqual(JSON.parse(call.arguments), JSON.parse(toolArguments('get_weather', 0)));
  const second = await s.client.responses.create({
    model: 'fast',
    input: [
      { role: 'user', content: 'Weather in Paris?' },
      ...first.output,
      { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' },
      { role: 'user', content: 'Thanks' },
    ],
  });
  assertSchema('Response', second, 'second Response');
  assert.equal(second.output_text, cannedContent('gpt-4o-mini', 'Thanks'));
  const msgs = s.upstream.lastRequest('/v1/chat/completions').body.messages;
  assert.equal(msgs[1].role, 'assistant');
  assert.equal(msgs[1].tool_calls[0].id, call.call_id);
  assert.equal(msgs[1].tool_calls[0].function.arguments, call.arguments);
  assert.deepEqual(msgs[2], { role: 'tool', content: '18C and sunny', tool_call_id: call.call_id });
  assert.deepEqual(msgs[3], { role: 'user', content: 'Thanks' });
}));

test('text.format json_schema reaches the upstream as response_format', { skip }, () => withLog(async () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } },
    required: ['answer'], additionalProperties: false };
  const r = await s.client.responses.create({
    model: 'fast', input: 'JSON please',
    text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
  });
  assertSchema('Response', r, 'json_schema Response');
  assert.equal(r.text.format.type, 'json_schema');
  assert.deepEqual(s.upstream.lastRequest('/v1/chat/completions').body.response_format, {
    type: 'json_schema', json_schema: { name: 'answer', schema, strict: true },
  });
}));

// The text of a chat message's content (a string or text parts).
const textOf = (content) => (typeof content === 'string' ? content
  : content.map((p) => p.text).join(''));

test('stored responses: previous_response_id, retrieve, input items, delete', { skip }, () => withLog(async () => {
  const first = await s.client.responses.create({ model: 'fast', input: 'Remember the word apple' });
  assertSchema('Response', first, 'stored Response');
  assert.equal(first.store, true, 'stored by default, as OpenAI does');
  assert.equal(first.previous_response_id, null);

  // Continued, streamed: the upstream sees the whole conversation.
  const stream = s.client.responses.stream({
    model: 'fast', input: 'What was the word?', previous_response_id: first.id,
  });
  const second = await stream.finalResponse();
  assertSchema('Response', second, 'continued Response');
  assert.equal(second.previous_response_id, first.id);
  const turns = s.upstream.lastRequest('/v1/chat/completions').body.messages
    .map((m) => [m.role, textOf(m.content)]);
  assert.deepEqual(turns, [
    ['user', 'Remember the word apple'],
    ['assistant', first.output_text],
    ['user', 'What was the word?'],
  ]);

  // Retrieved as it was sent.
  const again = await s.client.responses.retrieve(second.id);
  assertSchema('Response', again, 'retrieved Response');
  assert.equal(again.id, second.id);
  assert.deepEqual(again.output.map((i) => i.id), second.output.map((i) => i.id));
  assert.equal(again.output_text, second.output_text);
  assert.deepEqual(again.usage, second.usage);

  // Input items: the SDK's pages, and the raw list against the spec.
  const items = [];
  for await (const item of s.client.responses.inputItems.list(second.id)) items.push(item);
  assert.equal(items.length, 1);
  assert.equal(items[0].type, 'message');
  assert.equal(items[0].content[0].text, 'What was the word?');
  const raw = await fetch(`${s.baseURL}/responses/${first.id}/input_items?order=asc`);
  assert.equal(raw.status, 200);
  assertSchema('ResponseItemList', await raw.json(), 'input_items list');

  // item_reference: a stored output item, by its id, in a new conversation.
  await s.client.responses.create({ model: 'fast', store: false, input: [
    { type: 'item_reference', id: first.output[0].id },
    { role: 'user', content: 'Shorter, please.' },
  ] });
  const referenced = s.upstream.lastRequest('/v1/chat/completions').body.messages
    .map((m) => [m.role, textOf(m.content)]);
  assert.deepEqual(referenced, [['assistant', first.output_text], ['user', 'Shorter, please.']]);

  // Deleted: gone, and the conversation that continued it cannot go on.
  await s.client.responses.delete(first.id);
  await assert.rejects(s.client.responses.retrieve(first.id),
    (e) => e instanceof OpenAI.NotFoundError);
  const before = s.upstream.requests.length;
  await assert.rejects(
    s.client.responses.create({ model: 'fast', input: 'x', previous_response_id: second.id }),
    (e) => e instanceof OpenAI.NotFoundError && e.param === 'previous_response_id' &&
      /no longer stored/.test(e.message));
  await assert.rejects(
    s.client.responses.create({ model: 'fast', input: 'x', previous_response_id: 'resp_nope' }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'previous_response_not_found');
  assert.equal(s.upstream.requests.length, before, 'nothing reached the upstream');

  // input_tokens: the fake upstream cannot count, so the gateway's estimate, said in a header.
  const { data: counted, response: countRaw } = await s.client.responses.inputTokens
    .count({ model: 'fast', input: 'How many tokens is this?' }).withResponse();
  assertSchema('TokenCountsResource', counted, 'input_tokens');
  assert.ok(counted.input_tokens > 0);
  assert.equal(countRaw.headers.get('x-switchyard-token-count'), 'estimate');

  // store: false is not kept.
  const unstored = await s.client.responses.create({ model: 'fast', input: 'x', store: false });
  assert.equal(unstored.store, false);
  await assert.rejects(s.client.responses.retrieve(unstored.id),
    (e) => e instanceof OpenAI.NotFoundError);
}));

test('unsupported features and built-in tools: 400 naming the feature', { skip }, () => withLog(async () => {
  const before = s.upstream.requests.length;
  const cases = [
    [{ conversation: 'conv_123' }, 'conversation'],
    [{ background: true }, 'background'],
    [{ tools: [{ type: 'web_search' }] }, 'tools[0].type'],
  ];
  for (const [extra, param] of cases) {
    await assert.rejects(
      s.client.responses.create({ model: 'fast', input: 'x', ...extra }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === param &&
        e.code === 'unsupported_parameter' && /not supported/.test(e.message),
      JSON.stringify(extra));
  }
  assert.equal(s.upstream.requests.length, before, 'nothing reached the upstream');
}));

test('errors: OpenAI error format and statuses', { skip }, () => withLog(async () => {
  await assert.rejects(s.client.responses.create({ model: 'nope', input: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && typeof e.message === 'string');
  await assert.rejects(s.client.responses.create({ model: 'fast', input: 'x [[status:429]]' }),
    (e) => e instanceof OpenAI.RateLimitError && e.type === 'rate_limit_error');
  await assert.rejects(s.client.responses.create({ model: 'fast', input: 'x [[status:500]]', stream: true }),
    (e) => e instanceof OpenAI.InternalServerError);
}));

test('a stream cut mid-way ends with an error event and response.failed', { skip }, () => withLog(async () => {
  const stream = await s.client.responses.create({ model: 'fast', input: 'please [[cut]]', stream: true });
  const events = [];
  for await (const e of stream) {
    assertSchema('ResponseStreamEvent', e, `cut stream event (${e.type})`);
    events.push(e);
  }
  const types = events.map((e) => e.type);
  assert.equal(types.at(-2), 'error');
  assert.match(events.at(-2).message, /broke|reset|upstream/i);
  assert.equal(types.at(-1), 'response.failed');
  assert.equal(events.at(-1).response.status, 'failed');
  assert.ok(!types.includes('response.completed'));
}));

test('responses.stream on a cut stream: finalResponse rejects, text so far was delivered', { skip }, () => withLog(async () => {
  const stream = s.client.responses.stream({ model: 'fast', input: 'again [[cut]]' });
  let text = '';
  stream.on('response.output_text.delta', (e) => { text += e.delta; });
  const seen = [];
  stream.on('event', (e) => seen.push(e.type));
  await assert.rejects(stream.finalResponse());
  assert.ok(text.length > 0, 'deltas before the cut reached the client');
  assert.ok(seen.includes('error') || seen.includes('response.failed'), seen.join(','));
  assert.ok(!seen.includes('response.completed'));
}));
