// The response cache's Redis tier (`cache.redis`) seen through the official SDKs: two gateways,
// each with its own fake upstream, share one redis-server; an answer gateway A got from its
// upstream is a hit on gateway B (B's upstream never asked), identical field for field, for the
// OpenAI SDK (chat, streamed chat, embeddings) and the Anthropic SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, API_KEY, DIRECT, withStackLog } from './lib/harness.mjs';
import { assertSchema } from './lib/schema.mjs';

const skip = DIRECT ? 'COMPAT_DIRECT: no gateway, no cache' : false;
const ADMIN = 'compat-cache-admin';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A throwaway redis-server on a free loopback port (Debian's redis-server; scripts/bootstrap
// installs it), no persistence.
async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-compat-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  for (let i = 0; i < 100; ++i) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (up) {
      return {
        url: `redis://127.0.0.1:${port}/0`,
        async stop() {
          proc.kill();
          await exited;
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill();
  throw new Error(`redis-server did not start on port ${port}`);
}

let redis;
let a;
let b;
before(async () => {
  if (skip) return;
  redis = await startRedis();
  const extraConfig = `admin_key: ${ADMIN}\ncache:\n  enabled: true\n  redis: ${redis.url}\n`;
  a = await startStack({ extraConfig });
  b = await startStack({ extraConfig });
});
after(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

const withLog = (fn) => withStackLog(b, fn);
const calls = (stack, p) => stack.upstream.requests.filter((r) => r.path === p).length;

// Writes to Redis go out after the answer: wait until gateway A has made `n`.
async function written(n) {
  for (let i = 0; i < 200; ++i) {
    const res = await fetch(`${a.origin}/admin/cache`,
      { headers: { authorization: `Bearer ${ADMIN}` } });
    const stats = await res.json();
    assert.equal(res.status, 200, JSON.stringify(stats));
    if (stats.redis.writes >= n) return stats;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gateway A did not write ${n} answers to Redis`);
}

test('chat: an answer gateway A got is a hit on gateway B', { skip }, () => withLog(async () => {
  const params = { model: 'fast', messages: [{ role: 'user', content: 'shared through redis' }] };
  const first = await a.client.chat.completions.create(params).withResponse();
  assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
  const stats = await written(1);
  assert.equal(stats.redis.up, true);
  assert.ok(!stats.redis.url.includes('@'), 'no credentials in the stats');

  const second = await b.client.chat.completions.create(params).withResponse();
  assert.equal(second.response.headers.get('x-switchyard-cache'), 'hit');
  assert.match(second.response.headers.get('age') ?? '', /^\d+$/);
  assertSchema('CreateChatCompletionResponse', second.data, 'chat.completion from Redis');
  assert.deepEqual(second.data, first.data);
  assert.equal(calls(b, '/v1/chat/completions'), 0, "B's upstream was never asked");
}));

test('chat streaming and embeddings are shared too', { skip }, () => withLog(async () => {
  const params = { model: 'fast', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'stream through redis' }] };
  const collect = async (stack) => {
    const { data: stream, response } = await stack.client.chat.completions.create(params)
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, cache: response.headers.get('x-switchyard-cache') };
  };
  const first = await collect(a);
  const input = ['alpha', 'beta'];
  const vectors = await a.client.embeddings.create({ model: 'embed', input });
  await written(3);  // the first test's answer, this stream and the embeddings

  const second = await collect(b);
  assert.equal(first.cache, 'miss');
  assert.equal(second.cache, 'hit');
  assert.deepEqual(second.chunks, first.chunks);
  assert.ok(second.chunks.at(-1).usage, 'the usage chunk is replayed');
  const again = await b.client.embeddings.create({ model: 'embed', input }).withResponse();
  assert.equal(again.response.headers.get('x-switchyard-cache'), 'hit');
  assert.deepEqual(again.data.data.map((d) => d.embedding), vectors.data.map((d) => d.embedding));
  assert.equal(calls(b, '/v1/chat/completions'), 0);
  assert.equal(calls(b, '/v1/embeddings'), 0);
}));

test('Anthropic SDK: a Messages answer is shared', { skip }, () => withLog(async () => {
  const client = (stack) => new Anthropic({ apiKey: API_KEY, baseURL: stack.origin,
    maxRetries: 0 });
  const params = { model: 'fast', max_tokens: 64,
    messages: [{ role: 'user', content: 'anthropic through redis' }] };
  const first = await client(a).messages.create(params).withResponse();
  assert.equal(first.response.headers.get('x-switchyard-cache'), 'miss');
  await written(4);
  const second = await client(b).messages.create(params).withResponse();
  assert.equal(second.response.headers.get('x-switchyard-cache'), 'hit');
  assert.deepEqual(second.data, first.data);
  assert.equal(calls(b, '/v1/chat/completions'), 0);
}));
