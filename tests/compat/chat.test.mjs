// OpenAI SDK chat completions through switchyard: plain, streamed, tool calls, client abort.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OPENAI_TOOLS as TOOLS, startStack, withStackLog } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';
import { cannedContent, toolArguments, toolCallId } from './lib/fake_upstream.mjs';

let s;
before(async () => { s = await startStack(); });
after(async () => { await s?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

test('chat non-streaming: content, usage, schema, forwarded request', () => withLog(async () => {
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'ping non-stream ünïcödé ✓' },
  ];
  const { data, response } = await s.client.chat.completions.create({
    model: 'fast', messages, temperature: 0.25, top_p: 0.9, max_tokens: 64, seed: 7,
  }).withResponse();
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  assertSchema('CreateChatCompletionResponse', data, 'chat.completion body');

  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.ok(up, 'upstream saw no chat request');
  assert.equal(up.body.model, s.upstreamChatModel, 'model sent upstream');
  assert.equal(up.headers.authorization, 'Bearer test-key', 'provider key sent upstream');
  assert.deepEqual(up.body.messages.map((m) => [m.role, m.content]),
    messages.map((m) => [m.role, m.content]), 'messages forwarded unchanged');
  assert.equal(up.body.temperature, 0.25, 'temperature forwarded');
  assert.equal(up.body.top_p, 0.9, 'top_p forwarded');
  assert.equal(up.body.seed, 7, 'seed forwarded');
  assert.equal(up.body.max_tokens ?? up.body.max_completion_tokens, 64, 'max_tokens forwarded');
  assert.ok(!up.body.stream, 'non-streaming request must not be sent upstream as stream');

  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices.length, 1);
  const c = data.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.finish_reason, 'stop');
  assert.equal(c.message.role, 'assistant');
  assert.equal(c.message.content, cannedContent(s.upstreamChatModel, messages[1].content));
  assert.equal(typeof data.model, 'string');
  assert.ok(data.model.length > 0, 'model must be non-empty');
  assert.deepEqual(
    { p: data.usage?.prompt_tokens, c: data.usage?.completion_tokens, t: data.usage?.total_tokens },
    { p: up.response.usage.prompt_tokens, c: up.response.usage.completion_tokens,
      t: up.response.usage.total_tokens },
    'usage equals the upstream usage');
}));

test('common OpenAI parameters reach the upstream', () => withLog(async () => {
  const params = {
    stop: ['END', 'STOP'],
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
    logprobs: true,
    top_logprobs: 2,
    user: 'user-1234',
    n: 1,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true,
      schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'],
        additionalProperties: false } } },
    parallel_tool_calls: false,
    tools: [TOOLS[0]],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_completion_tokens: 77,
    logit_bias: { 50256: -100 },
  };
  await s.client.chat.completions.create({ model: 'fast', ...params,
    messages: [{ role: 'user', content: 'params' }] });
  const up = s.upstream.lastRequest('/v1/chat/completions').body;
  const missing = [];
  for (const [k, v] of Object.entries(params)) {
    try { assert.deepEqual(up[k], v); } catch { missing.push(`${k}: sent ${JSON.stringify(v)}, upstream got ${JSON.stringify(up[k])}`); }
  }
  assert.deepEqual(missing, [], 'parameters lost or changed on the way upstream');
}));

test('chat non-streaming: provider/model form routes too', () => withLog(async () => {
  if (!s.gateway) return; // routing only exists with the gateway
  const r = await s.client.chat.completions.create({
    model: 'up/gpt-4o-mini', messages: [{ role: 'user', content: 'by provider/model' }],
  });
  assert.equal(r.choices[0].message.content, cannedContent('gpt-4o-mini', 'by provider/model'));
  assert.equal(s.upstream.lastRequest('/v1/chat/completions').body.model, 'gpt-4o-mini');
}));

async function collectStream(params) {
  const stream = await s.client.chat.completions.create({ ...params, stream: true });
  const chunks = [];
  for await (const chunk of stream) {
    assertSchema('CreateChatCompletionStreamResponse', chunk, `stream chunk #${chunks.length}`);
    chunks.push(chunk);
  }
  return chunks;
}

function contentOf(chunks) {
  return chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
}

test('chat streaming: chunks match schema, content concatenates, no usage unasked',
  () => withLog(async () => {
    const messages = [{ role: 'user', content: 'ping stream' }];
    const chunks = await collectStream({ model: 'fast', messages });
    assert.ok(chunks.length >= 3, `expected several chunks, got ${chunks.length}`);
    const up = s.upstream.lastRequest('/v1/chat/completions');
    assert.equal(up.body.stream, true, 'stream forwarded upstream');
    assert.equal(contentOf(chunks), cannedContent(s.upstreamChatModel, 'ping stream'));
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, `every chunk must carry the same id, got ${[...ids]}`);
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason))
      .filter((f) => f !== null && f !== undefined);
    assert.deepEqual(finishes, ['stop'], 'exactly one finish_reason, "stop"');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'first delta carries the role');
    // Without stream_options.include_usage a client gets no usage chunk (OpenAI semantics);
    // code that reads chunk.choices[0] breaks on an empty-choices chunk.
    for (const [i, c] of chunks.entries()) {
      assert.ok(c.choices.length > 0, `chunk #${i} has empty choices without include_usage: ` +
        JSON.stringify(c));
      assert.ok(c.usage === undefined || c.usage === null,
        `chunk #${i} carries usage without include_usage: ${JSON.stringify(c)}`);
    }
  }));

test('chat streaming with include_usage: final usage chunk', () => withLog(async () => {
  const messages = [{ role: 'user', content: 'ping usage stream' }];
  const chunks = await collectStream({ model: 'fast', messages,
    stream_options: { include_usage: true } });
  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.equal(contentOf(chunks), cannedContent(s.upstreamChatModel, messages[0].content));
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, [], 'usage chunk has empty choices');
  const upUsage = up.events.find((e) => typeof e === 'object' && e.usage).usage;
  assert.ok(last.usage, `last chunk has no usage: ${JSON.stringify(last)}`);
  assert.deepEqual(
    [last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens],
    [upUsage.prompt_tokens, upUsage.completion_tokens, upUsage.total_tokens],
    'streamed usage equals the upstream usage');
  for (const c of chunks.slice(0, -1)) {
    assert.ok(c.usage === undefined || c.usage === null, 'only the last chunk has usage');
  }
}));

test('chat streaming raw SSE: content-type and [DONE]', () => withLog(async () => {
  const res = await fetch(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-key', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fast', stream: true,
      messages: [{ role: 'user', content: 'raw sse' }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = text.split(/\r?\n\r?\n/).filter((e) => e.trim());
  const data = events.map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, '')).join('\n'));
  assert.equal(data.at(-1), '[DONE]', `stream must end with data: [DONE]; tail: ${text.slice(-200)}`);
  assert.equal(data.filter((d) => d === '[DONE]').length, 1, 'exactly one [DONE]');
  for (const d of data.slice(0, -1)) {
    assertSchema('CreateChatCompletionStreamResponse', JSON.parse(d), 'raw SSE event');
  }
}));

function checkToolCalls(toolCalls, what) {
  assert.ok(Array.isArray(toolCalls), `${what}: no tool_calls`);
  assert.equal(toolCalls.length, TOOLS.length, `${what}: one call per tool`);
  toolCalls.forEach((tc, i) => {
    assert.equal(tc.id, toolCallId(i), `${what}: id of call ${i}`);
    assert.equal(tc.type, 'function');
    assert.equal(tc.function.name, TOOLS[i].function.name, `${what}: name of call ${i}`);
    assert.equal(tc.function.arguments, toolArguments(TOOLS[i].function.name, i),
      `${what}: arguments of call ${i}`);
  });
}

test('tool calls non-streaming', () => withLog(async () => {
  const r = await s.client.chat.completions.create({
    model: 'fast', tools: TOOLS, tool_choice: 'auto',
    messages: [{ role: 'user', content: 'weather and time in Paris?' }],
  });
  assertSchema('CreateChatCompletionResponse', r, 'tool-call chat.completion');
  const up = s.upstream.lastRequest('/v1/chat/completions');
  assert.deepEqual(up.body.tools, TOOLS, 'tools forwarded unchanged');
  assert.equal(up.body.tool_choice, 'auto', 'tool_choice forwarded');
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  checkToolCalls(r.choices[0].message.tool_calls, 'non-stream');
  assert.ok(!r.choices[0].message.content, 'no content with tool calls');
}));

test('tool calls streamed: chat.completions.stream() reassembles arguments',
  () => withLog(async () => {
    const stream = s.client.chat.completions.stream({
      model: 'fast', tools: TOOLS,
      messages: [{ role: 'user', content: 'weather and time, streamed' }],
    });
    let n = 0;
    const doneArgs = [];
    stream.on('chunk', (chunk) => {
      assertSchema('CreateChatCompletionStreamResponse', chunk, `tool stream chunk #${n++}`);
    });
    stream.on('tool_calls.function.arguments.done', (e) => doneArgs.push(e.arguments));
    const final = await stream.finalChatCompletion();
    assert.ok(n > 2 * TOOLS.length, `arguments should arrive over many chunks, got ${n}`);
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    checkToolCalls(final.choices[0].message.tool_calls, 'streamed');
    assert.deepEqual(doneArgs, TOOLS.map((t, i) => toolArguments(t.function.name, i)));
  }));

test('tool result round trip: assistant tool_calls + tool messages forwarded',
  () => withLog(async () => {
    const calls = TOOLS.map((t, i) => ({ id: toolCallId(i), type: 'function',
      function: { name: t.function.name, arguments: toolArguments(t.function.name, i) } }));
    const messages = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: calls },
      { role: 'tool', tool_call_id: calls[0].id, content: '{"temp":21}' },
      { role: 'tool', tool_call_id: calls[1].id, content: '12:00' },
      { role: 'user', content: 'thanks, summarize' },
    ];
    const r = await s.client.chat.completions.create({ model: 'fast', tools: TOOLS, messages,
      tool_choice: 'none' });
    const up = s.upstream.lastRequest('/v1/chat/completions');
    const sent = up.body.messages;
    assert.equal(sent.length, messages.length, 'all messages forwarded');
    assert.deepEqual(sent.map((m) => m.role), messages.map((m) => m.role));
    assert.deepEqual(sent[1].tool_calls?.map((t) => [t.id, t.type, t.function.name,
      t.function.arguments]), calls.map((t) => [t.id, t.type, t.function.name,
      t.function.arguments]), 'assistant tool_calls forwarded');
    assert.deepEqual(sent.slice(2, 4).map((m) => [m.tool_call_id, m.content]),
      [[calls[0].id, '{"temp":21}'], [calls[1].id, '12:00']], 'tool messages forwarded');
    assert.equal(up.body.tool_choice, 'none');
    assertSchema('CreateChatCompletionResponse', r);
  }));

test('streaming is incremental: chunks arrive while the upstream is still generating',
  () => withLog(async () => {
    // The upstream takes ~2.5 s (100 chunks, 20 ms apart); a gateway that forwards as it reads
    // delivers the first chunks within a few tens of ms.
    const t0 = performance.now();
    const stream = await s.client.chat.completions.create({ model: 'fast', stream: true,
      messages: [{ role: 'user', content: 'incremental [[slow]]' }] });
    const times = [];
    for await (const chunk of stream) {
      times.push(performance.now() - t0);
      if (chunk.choices[0]?.finish_reason) break;
    }
    const first = times[1] ?? times[0]; // [0] is the role-only chunk
    const last = times.at(-1);
    assert.ok(first < 1000 && last - first > 1000,
      `first content chunk after ${first?.toFixed(0)} ms, last after ${last?.toFixed(0)} ms ` +
      `(${times.length} chunks): the stream was buffered, not forwarded as it arrived`);
  }));

test('client abort mid-stream: upstream is cancelled, gateway keeps serving',
  () => withLog(async () => {
    const before = s.upstream.state.streamsClosedEarly;
    const stream = await s.client.chat.completions.create({ model: 'fast', stream: true,
      messages: [{ role: 'user', content: 'long one [[slow]]' }] });
    let got = 0;
    for await (const chunk of stream) {
      assert.ok(chunk.choices);
      if (++got === 3) break; // breaking out of the iterator aborts the request
    }
    let cancelled = false;
    for (let i = 0; i < 50 && !cancelled; i++) {
      await sleep(100);
      cancelled = s.upstream.state.streamsClosedEarly > before;
    }
    assert.ok(cancelled, 'upstream stream still running 5 s after the client went away ' +
      '(the gateway should close the upstream request)');
    const r = await s.client.chat.completions.create({ model: 'fast',
      messages: [{ role: 'user', content: 'after abort' }] });
    assert.equal(r.choices[0].message.content, cannedContent(s.upstreamChatModel, 'after abort'));
  }));

test('concurrent streams are not mixed up', () => withLog(async () => {
  const N = 16;
  const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const chunks = await collectStream({ model: 'fast',
      messages: [{ role: 'user', content: `parallel #${i}` }] });
    return contentOf(chunks);
  }));
  results.forEach((text, i) =>
    assert.equal(text, cannedContent(s.upstreamChatModel, `parallel #${i}`)));
}));
