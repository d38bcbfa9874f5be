// A fake OpenAI-compatible upstream (node:http) for the compatibility tests.
//
// It answers deterministically so a test can compute what the client should receive:
//   POST /v1/chat/completions   canned reply echoing the model and the last user message;
//                               stream:true -> SSE, each event written in two TCP writes,
//                               a usage chunk (choices: []) when stream_options.include_usage,
//                               then `data: [DONE]`. With `tools`, the reply calls every
//                               tool given (arguments split over several chunks when streamed).
//   POST /v1/completions        the same for the legacy text completion.
//   POST /v1/embeddings         deterministic float32-exact vectors; encoding_format
//                               float (default) or base64 (little-endian float32).
//   GET  /v1/models             the models it was started with.
// Markers in the last user message (or the embedding input / prompt) inject faults:
//   [[status:NNN]]  answer NNN with an OpenAI error body
//   [[cut]]         stream a few chunks, then reset the connection (no [DONE])
//   [[slow]]        stream 100 chunks 20 ms apart, ~2.5 s (incremental-delivery and abort tests)
// Every request is recorded in `requests` (method, path, headers, parsed body) and every
// closed connection of a streamed reply in `streamsClosedEarly`.
import http from 'node:http';
import { once } from 'node:events';

export const DEFAULT_MODELS = ['gpt-4o-mini', 'text-embedding-3-small'];
export const EMBED_DIMS = 8;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function cannedContent(model, userText) {
  return `Hello from the fake upstream. model=${model}; you said: ${userText}`;
}

// The pieces a streamed reply is split into; their concatenation is cannedContent().
export function contentPieces(content) {
  const pieces = [];
  for (let i = 0; i < content.length; i += 7) pieces.push(content.slice(i, i + 7));
  return pieces;
}

export function countTokens(text) {
  return String(text).split(/\s+/).filter(Boolean).length;
}

// Arguments the fake "model" passes to tool number i.
export function toolArguments(name, i) {
  return JSON.stringify({ city: i === 0 ? 'Paris' : 'Zürich "quoted" \\ city', unit: 'celsius',
    tool: name, nested: { list: [1, 2.5, -3], flag: true, nothing: null } });
}

export function toolCallId(i) {
  return `call_fake_${i}_abc123`;
}

// Deterministic embedding for (text, index): values exactly representable as float32, so that
// float JSON and base64 float32 carry the very same numbers.
export function embeddingFor(text, dims = EMBED_DIMS) {
  let h = 2166136261;
  for (const ch of String(text)) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  const v = [];
  for (let i = 0; i < dims; i++) {
    h = (Math.imul(h ^ (h >>> 15), 2246822507) + i * 374761393) >>> 0;
    v.push(Math.fround((h / 4294967296) * 2 - 1));
  }
  return v;
}

export function float32Base64(values) {
  const f = new Float32Array(values);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

function lastUserText(messages) {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') {
      if (typeof m.content === 'string') return m.content;
      if (Array.isArray(m.content)) {
        return m.content.filter((p) => p && p.type === 'text').map((p) => p.text).join('');
      }
    }
  }
  return '';
}

function promptTokens(body) {
  if (Array.isArray(body.messages)) {
    return body.messages.reduce((n, m) => n + countTokens(typeof m.content === 'string'
      ? m.content : JSON.stringify(m.content ?? '')), 0);
  }
  return countTokens(Array.isArray(body.prompt) ? body.prompt.join(' ') : body.prompt ?? '');
}

function sendJson(res, status, obj) {
  if (res.record) { res.record.status = status; res.record.response = obj; }
  const text = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': `req_fake_${Math.random().toString(16).slice(2)}`,
  });
  res.end(text);
}

function sendError(res, status, message, type = 'invalid_request_error', code = null,
  param = null) {
  sendJson(res, status, { error: { message, type, param, code } });
}

export async function startFakeUpstream({ models = DEFAULT_MODELS, port = 0 } = {}) {
  const state = { requests: [], streamsClosedEarly: 0, streamsCompleted: 0 };
  let seq = 0;

  async function writeEvent(res, obj) {
    if (res.destroyed || res.writableEnded) return false;
    if (res.record) (res.record.events ??= []).push(obj);
    const text = `data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`;
    // Two writes per event with a pause between, so the gateway's SSE reader has to
    // reassemble events split across reads.
    const cut = Math.max(1, Math.floor(text.length / 2));
    res.write(text.slice(0, cut));
    await sleep(1);
    if (res.destroyed) return false;
    res.write(text.slice(cut));
    return true;
  }

  function startSse(res) {
    if (res.record) res.record.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
  }

  async function chat(req, res, body) {
    const model = body.model;
    const user = lastUserText(body.messages);
    const id = `chatcmpl-fake${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const tools = Array.isArray(body.tools) ? body.tools.filter((t) => t && t.function) : [];
    const content = cannedContent(model, user);
    const usage = {
      prompt_tokens: promptTokens(body),
      completion_tokens: tools.length ? 9 * tools.length : countTokens(content),
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const toolCalls = tools.map((t, i) => ({
      id: toolCallId(i), type: 'function',
      function: { name: t.function.name, arguments: toolArguments(t.function.name, i) },
    }));
    const finish = tools.length ? 'tool_calls' : 'stop';

    if (!body.stream) {
      sendJson(res, 200, {
        id, object: 'chat.completion', created, model,
        system_fingerprint: 'fp_fake',
        choices: [{
          index: 0,
          message: tools.length
            ? { role: 'assistant', content: null, tool_calls: toolCalls, refusal: null }
            : { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: finish,
        }],
        usage,
      });
      return;
    }

    const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
    const base = { id, object: 'chat.completion.chunk', created, model,
      system_fingerprint: 'fp_fake' };
    const chunk = (delta, finishReason = null) => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const slow = user.includes('[[slow]]');
    startSse(res);
    let closedEarly = false;
    res.on('close', () => { if (!res.writableEnded) closedEarly = true; });

    const events = [];
    if (tools.length) {
      events.push(chunk({ role: 'assistant', content: null, refusal: null }));
      toolCalls.forEach((tc, i) => {
        events.push(chunk({ tool_calls: [{ index: i, id: tc.id, type: 'function',
          function: { name: tc.function.name, arguments: '' } }] }));
        const args = tc.function.arguments;
        for (let k = 0; k < args.length; k += 11) {
          events.push(chunk({ tool_calls: [{ index: i,
            function: { arguments: args.slice(k, k + 11) } }] }));
        }
      });
    } else {
      events.push(chunk({ role: 'assistant', content: '', refusal: null }));
      const pieces = slow ? Array.from({ length: 100 }, (_, i) => `tick${i} `)
        : contentPieces(content);
      for (const p of pieces) events.push(chunk({ content: p }));
    }
    events.push(chunk({}, finish));
    if (includeUsage) events.push({ ...base, choices: [], usage });

    const cut = user.includes('[[cut]]');
    for (const [i, ev] of events.entries()) {
      if (cut && i === 4) {
        res.socket?.resetAndDestroy?.() ?? res.destroy();
        state.streamsClosedEarly++;
        return;
      }
      if (!(await writeEvent(res, ev))) break;
      if (slow) await sleep(20);
    }
    if (!closedEarly && !res.destroyed) {
      await writeEvent(res, '[DONE]');
      res.end();
      state.streamsCompleted++;
    } else {
      state.streamsClosedEarly++;
    }
  }

  async function completions(req, res, body) {
    const model = body.model;
    const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt ?? '');
    const text = ` completion from the fake upstream. model=${model}; prompt: ${prompt}`;
    const id = `cmpl-fake${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: countTokens(prompt), completion_tokens: countTokens(text) };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (!body.stream) {
      sendJson(res, 200, {
        id, object: 'text_completion', created, model, system_fingerprint: 'fp_fake',
        choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
      return;
    }
    const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
    startSse(res);
    const base = { id, object: 'text_completion', created, model };
    for (const p of contentPieces(text)) {
      await writeEvent(res, { ...base, choices: [{ text: p, index: 0, logprobs: null,
        finish_reason: null }] });
    }
    await writeEvent(res, { ...base, choices: [{ text: '', index: 0, logprobs: null,
      finish_reason: 'stop' }] });
    if (includeUsage) await writeEvent(res, { ...base, choices: [], usage });
    await writeEvent(res, '[DONE]');
    res.end();
  }

  function embeddings(req, res, body) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const fmt = body.encoding_format ?? 'float';
    if (fmt !== 'float' && fmt !== 'base64') {
      return sendError(res, 400, `Invalid encoding_format: ${fmt}`, 'invalid_request_error',
        null, 'encoding_format');
    }
    const dims = Number.isInteger(body.dimensions) ? body.dimensions : EMBED_DIMS;
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input);
      tokens += countTokens(text);
      const v = embeddingFor(text, dims);
      return { object: 'embedding', index, embedding: fmt === 'base64' ? float32Base64(v) : v };
    });
    sendJson(res, 200, { object: 'list', data, model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body = null;
    const url = new URL(req.url, 'http://x');
    const record = { method: req.method, path: url.pathname, headers: req.headers, raw,
      body: null };
    state.requests.push(record);
    res.record = record;
    try {
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        return sendJson(res, 200, { object: 'list', data: models.map((id) => ({
          id, object: 'model', created: 1700000000, owned_by: 'fake-upstream' })) });
      }
      if (req.method !== 'POST') return sendError(res, 404, `Unknown path ${url.pathname}`);
      try {
        body = JSON.parse(raw);
      } catch {
        return sendError(res, 400, 'We could not parse the JSON body of your request.');
      }
      record.body = body;
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) {
        return sendError(res, 401, 'Missing bearer token', 'invalid_request_error',
          'invalid_api_key');
      }
      const marker = JSON.stringify(body.messages ?? body.input ?? body.prompt ?? '')
        .match(/\[\[status:(\d{3})\]\]/);
      if (marker) {
        const status = Number(marker[1]);
        return sendError(res, status, `fake upstream injected status ${status}`,
          status >= 500 ? 'server_error' : 'invalid_request_error', `fake_${status}`);
      }
      if (typeof body.model !== 'string' || !models.includes(body.model)) {
        return sendError(res, 404, `The model \`${body.model}\` does not exist or you do not ` +
          'have access to it.', 'invalid_request_error', 'model_not_found', 'model');
      }
      const required = { '/v1/chat/completions': 'messages', '/v1/completions': 'prompt',
        '/v1/embeddings': 'input' }[url.pathname];
      if (required && body[required] === undefined) {
        return sendError(res, 400, `Missing required parameter: '${required}'.`,
          'invalid_request_error', 'missing_required_parameter', required);
      }
      switch (url.pathname) {
        case '/v1/chat/completions': return await chat(req, res, body);
        case '/v1/completions': return await completions(req, res, body);
        case '/v1/embeddings': return embeddings(req, res, body);
        default: return sendError(res, 404, `Unknown path ${url.pathname}`);
      }
    } catch (e) {
      if (!res.headersSent) sendError(res, 500, `fake upstream bug: ${e.stack}`, 'server_error');
      else res.destroy();
    }
  });
  return serveFake(server, port, state, (r, pathname) => !pathname || r.path === pathname,
    (origin) => ({ baseURL: `${origin}/v1` }));
}

// Listens on 127.0.0.1:`port` (0: any) and returns what every fake gives its tests: port,
// origin, its `state`, the recorded requests, the last request that `matches(request, key)`,
// close(); `extras(origin)` adds the fake's own fields (its SDK base URL).
export async function serveFake(server, port, state, matches, extras = () => ({})) {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actualPort = server.address().port;
  const origin = `http://127.0.0.1:${actualPort}`;
  return {
    port: actualPort,
    origin,
    ...extras(origin),
    state,
    get requests() { return state.requests; },
    lastRequest(key) {
      for (let i = state.requests.length - 1; i >= 0; i--) {
        if (matches(state.requests[i], key)) return state.requests[i];
      }
      return undefined;
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

// Standalone: node lib/fake_upstream.mjs [port]
if (import.meta.url === `file://${process.argv[1]}`) {
  const up = await startFakeUpstream({ port: Number(process.argv[2] ?? 0) });
  console.error(`fake upstream listening on ${up.baseURL}`);
}
