// The OpenAI SDK against a local model: switchyard serving a tiny GGUF model (made here with
// `switchyard models make-tiny`) in-process on llama.cpp. Random weights, so the tests assert
// shapes, usage, determinism and errors rather than content.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startSwitchyard, switchyardBin, API_KEY, DIRECT } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';

let gw;
let client;
let modelDir;

before(async () => {
  if (DIRECT) return;
  modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-local-'));
  const model = path.join(modelDir, 'tiny-chat.gguf');
  execFileSync(switchyardBin(), ['models', 'make-tiny', '--out', model], { stdio: 'pipe' });
  gw = await startSwitchyard((dir) => `
server:
  listen: 127.0.0.1:0
storage:
  url: sqlite://${path.join(dir, 'switchyard.db')}
providers:
  - name: local
    kind: local
    threads: 2
    models:
      - name: tiny-chat
        path: ${model}
        aliases: [private]
        context: 1024
        parallel: 4
        embeddings: true
        preload: true
`, { timeoutMs: 60000 });
  client = new OpenAI({ apiKey: API_KEY, baseURL: gw.baseURL, maxRetries: 0, timeout: 60000 });
});

after(async () => {
  await gw?.stop();
  if (modelDir) fs.rmSync(modelDir, { recursive: true, force: true });
});

const skip = DIRECT ? 'no local model without the gateway' : false;
const ask = { role: 'user', content: 'Write a haiku about switchyards.' };

test('models list includes the local model and its alias', { skip }, async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('tiny-chat'), ids.join(','));
  assert.ok(ids.includes('private'), ids.join(','));
});

test('chat non-streaming: schema, exact usage, deterministic when greedy', { skip }, async () => {
  const params = { model: 'private', messages: [ask], max_tokens: 9, temperature: 0,
    ignore_eos: true };
  const a = await client.chat.completions.create(params);
  assertSchema('CreateChatCompletionResponse', a, 'local chat.completion');
  assert.equal(a.choices[0].message.role, 'assistant');
  assert.equal(a.choices[0].finish_reason, 'length');
  assert.equal(a.usage.completion_tokens, 9);
  assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + 9);
  const b = await client.chat.completions.create(params);
  assert.equal(b.choices[0].message.content, a.choices[0].message.content);
  // The second run reused the first one's prompt from the KV cache.
  assert.ok(b.usage.prompt_tokens_details?.cached_tokens > 0, JSON.stringify(b.usage));
});

test('chat streaming: SDK iterates chunks, usage last, same text as non-streaming', { skip },
  async () => {
    const params = { model: 'tiny-chat', messages: [ask], max_tokens: 16, temperature: 0,
      ignore_eos: true };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true,
      stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      assertSchema('CreateChatCompletionStreamResponse', chunk, 'local chunk');
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks >= 3, `only ${chunks} chunks`);
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 16);
  });

test('json_schema output parses', { skip }, async () => {
  const r = await client.chat.completions.create({
    model: 'tiny-chat', messages: [ask], max_tokens: 120, seed: 3,
    response_format: { type: 'json_schema', json_schema: { name: 'city', schema: {
      type: 'object', properties: { city: { type: 'string', maxLength: 10 } },
      required: ['city'], additionalProperties: false } } },
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof parsed.city, 'string');
});

test('embeddings from the local model', { skip }, async () => {
  const r = await client.embeddings.create({ model: 'tiny-chat', input: ['alpha', 'beta'] });
  assertSchema('CreateEmbeddingResponse', r, 'local embeddings');
  assert.equal(r.data.length, 2);
  const norm = Math.hypot(...r.data[0].embedding);
  assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
});

test('a prompt longer than the context is a 400 naming both numbers', { skip }, async () => {
  const long = 'context overflow words '.repeat(400);
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user',
      content: long }] }),
    (e) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /prompt is \d+ tokens but the context holds 1024/);
      assert.equal(e.code, 'context_length_exceeded');
      return true;
    });
});
