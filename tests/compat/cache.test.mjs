// The response cache (`cache: {enabled: true}`) seen through the official SDKs: a repeated
// request is answered without the upstream, identical to the first answer, for chat (plain and
// streamed), embeddings and Anthropic's Messages API; Cache-Control: no-cache asks again, and
// so do LiteLLM's body controls (`cache: {...}`), which never reach the upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, API_KEY, DIRECT, withStackLog } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';
import { cannedContent } from './lib/fake_upstream.mjs';

// The cache lives in the gateway.
const skip = DIRECT ? 'COMPAT_DIRECT: no gateway, no cache' : false;

let s;
before(async () => {
  if (skip) return;
  s = await startStack({ extraConfig: 'cache:\n  enabled: true\n  ttl: 10m\n' });
});
after(async () => { await s?.stop(); });

const withLog = (fn) => withStackLog(s, fn);
const upstreamCalls = (path) => s.upstream.requests.filter((r) => r.path === path).length;

test('chat: the second identical request is a hit with the same body', { skip },
  () => withLog(async () => {
    const params = { model: 'fast', messages: [{ role: 'user', content: 'cache me once' }],
      temperature: 0 };
    const before = upstreamCalls('/v1/chat/completions');
    const first = await s.client.chat.completions.create(params).withResponse();
    assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
    const second = await s.client.chat.completions.create(params).withResponse();
    assert.equal(second.response.headers.get('x-switchyard-cache'), 'hit');
    assert.match(second.response.headers.get('age') ?? '', /^\d+$/);
    assertSchema('CreateChatCompletionResponse', second.data, 'cached chat.completion');
    assert.deepEqual(second.data, first.data);
    assert.equal(second.data.choices[0].message.content,
      cannedContent(s.upstreamChatModel, 'cache me once'));
    assert.equal(upstreamCalls('/v1/chat/completions'), before + 1, 'one upstream call');

    // Cache-Control: no-cache goes upstream again (and refreshes the entry).
    const fresh = await s.client.chat.completions.create(params,
      { headers: { 'Cache-Control': 'no-cache' } }).withResponse();
    assert.equal(fresh.response.headers.get('x-switchyard-cache'), 'refresh');
    assert.equal(upstreamCalls('/v1/chat/completions'), before + 2);
  }));

test('chat streaming: a hit replays the same chunks', { skip }, () => withLog(async () => {
  const params = { model: 'fast', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'stream me twice' }] };
  const collect = async () => {
    const { data: stream, response } = await s.client.chat.completions.create(params)
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, cache: response.headers.get('x-switchyard-cache') };
  };
  const before = upstreamCalls('/v1/chat/completions');
  const first = await collect();
  const second = await collect();
  assert.equal(first.cache, 'miss');
  assert.equal(second.cache, 'hit');
  for (const chunk of second.chunks) {
    assertSchema('CreateChatCompletionStreamResponse', chunk, 'cached chunk');
  }
  assert.deepEqual(second.chunks, first.chunks);
  const text = second.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, cannedContent(s.upstreamChatModel, 'stream me twice'));
  assert.ok(second.chunks.at(-1).usage?.completion_tokens > 0, 'usage replayed');
  assert.equal(upstreamCalls('/v1/chat/completions'), before + 1);
}));

test('embeddings: a hit returns the same vectors', { skip }, () => withLog(async () => {
  const params = { model: 'embed', input: ['alpha', 'beta'] };
  const before = upstreamCalls('/v1/embeddings');
  const first = await s.client.embeddings.create(params).withResponse();
  const second = await s.client.embeddings.create(params).withResponse();
  assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
  assert.equal(second.response.headers.get('x-switchyard-cache'), 'hit');
  assert.deepEqual(second.data.data, first.data.data);
  assert.equal(upstreamCalls('/v1/embeddings'), before + 1);
}));

test('anthropic SDK: messages.create is cached too', { skip }, () => withLog(async () => {
  const client = new Anthropic({ apiKey: API_KEY, baseURL: s.origin, maxRetries: 0 });
  const params = { model: 'fast', max_tokens: 64,
    messages: [{ role: 'user', content: 'anthropic, cached' }] };
  const before = upstreamCalls('/v1/chat/completions');
  const first = await client.messages.create(params).withResponse();
  const second = await client.messages.create(params).withResponse();
  assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
  assert.equal(second.response.headers.get('x-switchyard-cache'), 'hit');
  assert.equal(second.data.type, 'message');
  assert.deepEqual(second.data.content, first.data.content);
  assert.deepEqual(second.data.usage, first.data.usage);
  assert.equal(upstreamCalls('/v1/chat/completions'), before + 1);
}));

// LiteLLM's per-request controls, as its users write them (`extra_body={"cache": {...}}` in
// Python; extra fields of the params object in the Node SDK).
test('cache controls in the body: no-cache, namespace, never forwarded', { skip },
  () => withLog(async () => {
    const params = { model: 'fast', messages: [{ role: 'user', content: 'body controls' }] };
    const before = upstreamCalls('/v1/chat/completions');
    const first = await s.client.chat.completions.create(params).withResponse();
    assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
    const fresh = await s.client.chat.completions
      .create({ ...params, cache: { 'no-cache': true } }).withResponse();
    assert.equal(fresh.response.headers.get('x-switchyard-cache'), 'refresh');
    const sent = s.upstream.requests.filter((r) => r.path === '/v1/chat/completions').at(-1);
    assert.ok(sent.body?.messages, 'the upstream got the request');
    assert.equal(sent.body.cache, undefined, 'the controls never reach the upstream');
    const other = await s.client.chat.completions
      .create({ ...params, cache: { namespace: 'tenant-b' } }).withResponse();
    assert.equal(other.response.headers.get('x-switchyard-cache'), 'miss');
    assert.equal(upstreamCalls('/v1/chat/completions'), before + 3);

    const bad = await s.fetchJson('/chat/completions',
      { body: { ...params, cache: { ttl: 'soon' } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'cache.ttl');
  }));
