// OpenAI SDK through switchyard: embeddings, models, legacy completions, errors, health,
// shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, withStackLog } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';
import { embeddingFor, EMBED_DIMS } from './lib/fake_upstream.mjs';

let s;
before(async () => { s = await startStack(); });
after(async () => { await s?.stop(); });

// Failures carry the tail of the gateway's log.
const withLog = (fn) => withStackLog(s, fn);

const INPUTS = ['The quick brown fox', 'jumped over', 'the lazy dog ✓'];

test('embeddings, SDK default (base64 on the wire): vectors equal the upstream floats',
  () => withLog(async () => {
    const r = await s.client.embeddings.create({ model: 'text-embedding-3-small', input: INPUTS });
    const up = s.upstream.lastRequest('/v1/embeddings');
    assert.ok(up, 'upstream saw no embeddings request');
    assert.deepEqual(up.body.input, INPUTS, 'input forwarded');
    assert.equal(up.body.model, 'text-embedding-3-small');
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, INPUTS.length);
    r.data.forEach((d, i) => {
      assert.equal(d.index, i);
      assert.equal(d.object, 'embedding');
      assert.ok(d.embedding instanceof Float32Array || Array.isArray(d.embedding),
        `embedding ${i} has type ${typeof d.embedding}`);
      assert.deepEqual(Array.from(d.embedding), embeddingFor(INPUTS[i]),
        `vector ${i} (the SDK sent encoding_format=base64 and decoded float32)`);
    });
    assert.equal(r.usage.prompt_tokens, up.response.usage.prompt_tokens);
    assert.equal(r.usage.total_tokens, up.response.usage.total_tokens);
  }));

test('embeddings encoding_format=float: schema and exact values', () => withLog(async () => {
  const r = await s.fetchJson('/embeddings', { body: { model: 'embed', input: INPUTS,
    encoding_format: 'float' } });
  assert.equal(r.status, 200, r.text);
  assertSchema('CreateEmbeddingResponse', r.json, 'embeddings (float) body');
  assert.equal(s.upstream.lastRequest('/v1/embeddings').body.model, s.upstreamEmbedModel);
  // The upstream's values are float32-exact. A gateway may print them as the shortest text
  // that round-trips float32 (as OpenAI itself does), but must not lose float32 precision.
  r.json.data.forEach((d, i) => assert.deepEqual(d.embedding.map(Math.fround),
    embeddingFor(INPUTS[i]), `float vector ${i} must keep float32 precision`));
  // And through the SDK with the format given explicitly (returned as-is).
  const sdk = await s.client.embeddings.create({ model: 'embed', input: 'single string',
    encoding_format: 'float' });
  assert.deepEqual(sdk.data[0].embedding.map(Math.fround), embeddingFor('single string'));
}));

test('embeddings encoding_format=base64 raw: a base64 float32 string', () => withLog(async () => {
  const r = await s.fetchJson('/embeddings', { body: { model: 'embed', input: INPUTS,
    encoding_format: 'base64' } });
  assert.equal(r.status, 200, r.text);
  r.json.data.forEach((d, i) => {
    assert.equal(typeof d.embedding, 'string', `embedding ${i} must be a base64 string`);
    const buf = Buffer.from(d.embedding, 'base64');
    assert.equal(buf.length, EMBED_DIMS * 4);
    const v = Array.from(new Float32Array(buf.buffer, buf.byteOffset, EMBED_DIMS));
    assert.deepEqual(v, embeddingFor(INPUTS[i]), `decoded vector ${i}`);
  });
}));

test('embeddings dimensions forwarded', () => withLog(async () => {
  const r = await s.client.embeddings.create({ model: 'embed', input: 'dims', dimensions: 4 });
  assert.equal(s.upstream.lastRequest('/v1/embeddings').body.dimensions, 4);
  assert.deepEqual(Array.from(r.data[0].embedding), embeddingFor('dims', 4));
}));

test('models.list contains the route "fast"', () => withLog(async () => {
  const ids = [];
  for await (const m of s.client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('fast'), `models.list() = ${JSON.stringify(ids)}`);
  const raw = await s.fetchJson('/models', { method: 'GET' });
  assert.equal(raw.status, 200, raw.text);
  assertSchema('ListModelsResponse', raw.json, 'GET /v1/models body');
  assert.equal(new Set(raw.json.data.map((m) => m.id)).size, raw.json.data.length,
    'model ids are unique');
}));

test('models.retrieve finds a listed model and 404s an unknown one', () => withLog(async () => {
  const m = await s.client.models.retrieve('fast');
  assert.equal(m.id, 'fast');
  assert.equal(m.object, 'model');
  const raw = await s.fetchJson('/models/fast', { method: 'GET' });
  assertSchema('Model', raw.json, 'GET /v1/models/{model} body');
  await assert.rejects(s.client.models.retrieve('no-such-model'),
    (e) => e.status === 404 && e.code === 'model_not_found');
}));

test('legacy completions: non-streaming and streaming', () => withLog(async () => {
  const r = await s.client.completions.create({ model: 'fast', prompt: 'Say hi', max_tokens: 8 });
  assertSchema('CreateCompletionResponse', r, 'text_completion body');
  const up = s.upstream.lastRequest('/v1/completions');
  assert.ok(up, 'upstream saw no /v1/completions request');
  assert.equal(r.choices[0].text, up.response.choices[0].text);
  assert.equal(r.usage.total_tokens, up.response.usage.total_tokens);

  const stream = await s.client.completions.create({ model: 'fast', prompt: 'Say hi',
    stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text, 'streamed text equals the non-streamed text');
}));

test('unknown model: NotFoundError (404) with a message', () => withLog(async () => {
  const before = s.upstream.requests.length;
  await assert.rejects(
    s.client.chat.completions.create({ model: 'no-such-model-xyz',
      messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError,
        `expected NotFoundError, got ${err?.constructor?.name} status=${err?.status}: ${err?.message}`);
      assert.equal(err.status, 404);
      assert.match(err.message, /no-such-model-xyz/);
      return true;
    });
  if (s.gateway) {
    assert.equal(s.upstream.requests.length, before, 'an unknown model must not reach upstream');
  }
  const raw = await s.fetchJson('/chat/completions', { body: { model: 'no-such-model-xyz',
    messages: [{ role: 'user', content: 'hi' }] } });
  assert.equal(raw.status, 404);
  assertSchema('ErrorResponse', raw.json, '404 error body');
  // Streaming requests fail the same way, before any SSE.
  await assert.rejects(s.client.chat.completions.create({ model: 'no-such-model-xyz',
    stream: true, messages: [{ role: 'user', content: 'hi' }] }), OpenAI.NotFoundError);
}));

test('upstream 500: SDK raises an API error with a 5xx status', () => withLog(async () => {
  const body = { model: 'fast', messages: [{ role: 'user', content: 'boom [[status:500]]' }] };
  await assert.rejects(s.client.chat.completions.create(body), (err) => {
    assert.ok(err instanceof OpenAI.APIError,
      `expected APIError, got ${err?.constructor?.name}: ${err?.message}`);
    assert.ok(err.status >= 500 && err.status <= 599, `status ${err.status}`);
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.ok(err.message.length > 0);
    return true;
  });
  const raw = await s.fetchJson('/chat/completions', { body });
  assert.ok(raw.status >= 500, `raw status ${raw.status}`);
  assertSchema('ErrorResponse', raw.json, '5xx error body');
  await assert.rejects(s.client.chat.completions.create({ ...body, stream: true }),
    (err) => err instanceof OpenAI.APIError && err.status >= 500,
    'a stream whose upstream fails before the first byte gets an HTTP error, not a 200');
}));

test('upstream 400 passes through as BadRequestError', () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'fast',
    messages: [{ role: 'user', content: 'bad [[status:400]]' }] }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError,
      `expected BadRequestError, got ${err?.constructor?.name} status=${err?.status}: ` +
      err?.message);
    return true;
  });
}));

test('upstream 429 passes through as RateLimitError', () => withLog(async () => {
  await assert.rejects(s.client.chat.completions.create({ model: 'fast',
    messages: [{ role: 'user', content: 'slow down [[status:429]]' }] }), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError,
      `expected RateLimitError, got ${err?.constructor?.name} status=${err?.status}: ` +
      err?.message);
    return true;
  });
}));

test('upstream stream cut mid-way: the client sees an error, not a clean end',
  () => withLog(async () => {
    const stream = await s.client.chat.completions.create({ model: 'fast', stream: true,
      messages: [{ role: 'user', content: 'cut me [[cut]]' }] });
    let text = '';
    let finish = null;
    let error = null;
    try {
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
      }
    } catch (e) {
      error = e;
    }
    assert.ok(error, `stream ended without error after ${JSON.stringify(text)} ` +
      `(finish_reason ${finish}); a truncated answer must not look complete`);
    // And the gateway is still fine.
    const r = await s.client.chat.completions.create({ model: 'fast',
      messages: [{ role: 'user', content: 'after cut' }] });
    assert.equal(r.choices[0].finish_reason, 'stop');
  }));

test('malformed requests get 400 with an OpenAI error body', () => withLog(async () => {
  const bad = await s.fetchJson('/chat/completions', { body: '{"model": "fast", "messages": [' });
  assert.equal(bad.status, 400, `invalid JSON -> ${bad.status} ${bad.text}`);
  assertSchema('ErrorResponse', bad.json, 'invalid-JSON error body');
  const noMessages = await s.fetchJson('/chat/completions', { body: { model: 'fast' } });
  assert.equal(noMessages.status, 400, `missing messages -> ${noMessages.status} ` +
    noMessages.text);
  assertSchema('ErrorResponse', noMessages.json, 'missing-messages error body');
}));

test('healthz and readyz', () => withLog(async () => {
  if (!s.gateway) return;
  for (const p of ['/healthz', '/readyz']) {
    const r = await fetch(`${s.origin}${p}`);
    assert.equal(r.status, 200, `${p} -> ${r.status} ${await r.text()}`);
  }
}));

test('SIGTERM: the gateway exits 0 within 5 s', () => withLog(async () => {
  if (!s.gateway) return;
  const r = await s.gateway.stop(5000);
  assert.equal(r.killed, false, 'had to SIGKILL');
  assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
}));
