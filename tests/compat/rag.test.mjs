// RAG citations through the official SDKs: the gateway grounds a request in a collection
// (x-switchyard-rag header) and returns the citations as an extension field in the body of every
// inbound format, streamed or not. Checks that each SDK parses the response and that the field
// is readable where docs/rag.md says it is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { API_KEY, DIRECT, gatewayConfig, startSwitchyard } from './lib/harness.mjs';
import { startFakeUpstream } from './lib/fake_upstream.mjs';

const skip = DIRECT ? 'COMPAT_DIRECT: no gateway, no RAG' : false;
const RAG = { 'x-switchyard-rag': 'kb;top_k=1;mode=lexical' };
const QUESTION = 'Where is the main office?';

let upstream;
let gateway;
let openai;
let anthropic;
let ollama;
before(async () => {
  if (skip) return;
  upstream = await startFakeUpstream();
  gateway = await startSwitchyard((dir) => `${gatewayConfig(upstream.baseURL, dir)}rag:
  path: ${path.join(dir, 'rag')}
`);
  const post = async (p, body) => {
    const res = await fetch(`${gateway.origin}${p}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${p}: ${res.status} ${await res.text()}`);
  };
  await post('/v1/collections', { name: 'kb' });
  await post('/v1/collections/kb/documents', {
    documents: [{
      source: 'handbook.md', format: 'markdown',
      text: '# Handbook\n\n## Office\n\nThe main office is in Lyon.\n\n## Leave\n\nTwenty days.',
    }],
  });
  openai = new OpenAI({ apiKey: API_KEY, baseURL: gateway.baseURL, maxRetries: 0, timeout: 15000 });
  anthropic = new Anthropic({ apiKey: API_KEY, baseURL: gateway.origin, maxRetries: 0,
    timeout: 15000 });
  ollama = new Ollama({ host: gateway.origin, headers: RAG });
});
after(async () => {
  const dir = gateway?.dir;
  await gateway?.stop();
  await upstream?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function withLog(fn) {
  try {
    return await fn();
  } catch (e) {
    e.message += `\n--- switchyard log ---\n${gateway?.log().slice(-3000) ?? ''}`;
    throw e;
  }
}

function assertCitations(citations) {
  assert.ok(Array.isArray(citations), `citations: ${JSON.stringify(citations)}`);
  assert.equal(citations.length, 1);
  const [c] = citations;
  assert.equal(c.index, 1);
  assert.equal(c.collection, 'kb');
  assert.equal(c.source, 'handbook.md');
  assert.equal(c.title, 'Handbook');
  assert.equal(c.section, 'Handbook > Office');
  assert.equal(c.page, 0);
  assert.ok(Number.isInteger(c.chunk_id) && c.chunk_id > 0);
  assert.ok(c.score > 0);
}

test('openai chat: citations on the completion and on the first chunk', { skip }, () => withLog(async () => {
  const res = await openai.chat.completions.create(
    { model: 'fast', messages: [{ role: 'user', content: QUESTION }] }, { headers: RAG });
  assert.equal(res.object, 'chat.completion');
  assertCitations(res.citations);

  const stream = await openai.chat.completions.create(
    { model: 'fast', stream: true, messages: [{ role: 'user', content: QUESTION }] },
    { headers: RAG });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length >= 2);
  assertCitations(chunks[0].citations);
  assert.ok(chunks.slice(1).every((c) => c.citations === undefined));

  const plain = await openai.chat.completions.create(
    { model: 'fast', messages: [{ role: 'user', content: QUESTION }] });
  assert.equal(plain.citations, undefined);
}));

test('anthropic messages: citations on the message and on message_start', { skip }, () => withLog(async () => {
  const msg = await anthropic.messages.create(
    { model: 'fast', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] },
    { headers: RAG });
  assert.equal(msg.type, 'message');
  assertCitations(msg.citations);

  const stream = anthropic.messages.stream(
    { model: 'fast', max_tokens: 64, messages: [{ role: 'user', content: QUESTION }] },
    { headers: RAG });
  let start;
  for await (const event of stream) {
    if (event.type === 'message_start') start = event;
  }
  assertCitations(start.message.citations);
  const final = await stream.finalMessage();
  assert.ok(final.content.length > 0);
}));

test('responses: citations on the response, streamed or not', { skip }, () => withLog(async () => {
  const res = await openai.responses.create({ model: 'fast', input: QUESTION }, { headers: RAG });
  assert.equal(res.object, 'response');
  assertCitations(res.citations);

  const stream = await openai.responses.create(
    { model: 'fast', input: QUESTION, stream: true }, { headers: RAG });
  const events = [];
  for await (const event of stream) events.push(event);
  assert.equal(events[0].type, 'response.created');
  assertCitations(events[0].response.citations);
  const completed = events.at(-1);
  assert.equal(completed.type, 'response.completed');
  assertCitations(completed.response.citations);
}));

test('ollama chat: citations on the response and on the first part', { skip }, () => withLog(async () => {
  const res = await ollama.chat({
    model: 'fast', stream: false, messages: [{ role: 'user', content: QUESTION }],
  });
  assert.equal(res.done, true);
  assertCitations(res.citations);

  const parts = [];
  for await (const part of await ollama.chat({
    model: 'fast', stream: true, messages: [{ role: 'user', content: QUESTION }],
  })) parts.push(part);
  assert.ok(parts.length >= 2);
  assertCitations(parts[0].citations);
  assert.equal(parts.at(-1).done, true);
}));
