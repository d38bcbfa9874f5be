// A fake of Anthropic's Messages API (node:http) for the SDK compatibility tests, following
// https://docs.anthropic.com/en/api/messages and ../shared/specs/anthropic-openapi.yaml.
//
//   POST /v1/messages                x-api-key (401 authentication_error without) and
//                                    anthropic-version (400 without) required; the body is
//                                    checked as Anthropic checks it (below). Answers a message
//                                    object, or with stream:true SSE in the documented order:
//                                    message_start, then per block content_block_start, ping
//                                    (after the first), content_block_delta..., content_block_stop,
//                                    then message_delta (stop_reason, usage) and message_stop.
//   POST /v1/messages/count_tokens   {input_tokens}.
// The reply: a `thinking` block (thinking_delta pieces + signature_delta) when `thinking` is
// enabled; then the text of cannedAnthropicText(); with tools (tool_choice not none) a short
// text and one tool_use block per tool instead, input = toolArguments() streamed as
// input_json_delta in many pieces (stop_reason tool_use). After a tool_result the text names
// the results it got (toolResultText()).
// Usage: input_tokens = words of system + messages; with cache_control anywhere in the
// request (or [[cache]]) cache_read_input_tokens = CACHE_READ and cache_creation_input_tokens
// = CACHE_WRITE. message_start carries the input side (output_tokens 1, as Anthropic does),
// message_delta the cumulative totals as the live API sends them; [[spec-usage]] sends
// only {output_tokens} in message_delta, exactly the schema's MessageDeltaUsage.
// Markers in the last user message:
//   [[status:NNN]]    answer NNN with Anthropic's error body (529 overloaded_error, ...)
//   [[error-event]]   stream a few deltas, then `event: error` (overloaded_error) and end
//   [[cut]]           stream a few events, then reset the connection
//   [[length]]        stop_reason max_tokens
// Every request is recorded in `requests` (method, path, headers, parsed body, status,
// response or events).
import http from 'node:http';
import { contentPieces, countTokens, serveFake, toolArguments } from './fake_upstream.mjs';

export const ANTHROPIC_KEY = 'anthropic-test-key';
export const CACHE_READ = 1200;
export const CACHE_WRITE = 300;
export const THINKING_SIGNATURE = 'EqQBCkYIBxgCKkDfakeSignature+/=0';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function cannedAnthropicText(model, userText) {
  return `Hello from the fake Anthropic. model=${model}; you said: ${userText}`;
}

export function thinkingText(userText) {
  return `The user said "${userText}". I should greet them back.`;
}

export const TOOL_PREAMBLE = 'Let me look that up.';

export function anthropicToolUseId(i) {
  return `toolu_fake_${i}_01A09q90qw90lq917835lq9`;
}

// Text answered to a user turn that carries tool results.
export function toolResultText(results) {
  return `Got ${results.length} tool result(s): ${results.map((r) =>
    `${r.tool_use_id}=${typeof r.content === 'string' ? r.content : JSON.stringify(r.content)}` +
    (r.is_error ? ' (error)' : '')).join('; ')}`;
}

const ERROR_TYPES = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error',
  403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large',
  429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error', 529: 'overloaded_error',
};

export function anthropicErrorType(status) {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

const TOP_LEVEL = new Set(['model', 'messages', 'max_tokens', 'metadata', 'stop_sequences',
  'stream', 'system', 'temperature', 'thinking', 'tool_choice', 'tools', 'top_k', 'top_p',
  'service_tier', 'container', 'mcp_servers', 'context_management']);
const BLOCK_TYPES = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking',
  'redacted_thinking', 'search_result']);

class BadRequest extends Error {}
const bad = (msg) => { throw new BadRequest(msg); };

function blocksOf(content) {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

// The checks Anthropic makes that a translating gateway can get wrong.
function validate(body, countOnly) {
  for (const k of Object.keys(body)) {
    if (!TOP_LEVEL.has(k) || (countOnly && ['max_tokens', 'stream', 'stop_sequences',
      'temperature', 'top_k', 'top_p', 'metadata'].includes(k))) {
      bad(`${k}: Extra inputs are not permitted`);
    }
  }
  if (typeof body.model !== 'string' || !body.model) bad('model: Field required');
  if (!countOnly && !(Number.isInteger(body.max_tokens) && body.max_tokens >= 1)) {
    bad('max_tokens: Field required');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    bad('messages: at least one message is required');
  }
  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system)) bad('system: Input should be a valid string or list');
    body.system.forEach((b, i) => {
      if (b?.type !== 'text' || typeof b.text !== 'string') bad(`system.${i}: expected a text block`);
    });
  }
  let pendingToolUses = [];
  body.messages.forEach((m, i) => {
    if (m.role !== 'user' && m.role !== 'assistant') {
      bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) {
      bad(`messages.${i}.content: Input should be a valid string or list`);
    }
    const blocks = blocksOf(m.content);
    blocks.forEach((b, j) => {
      if (!BLOCK_TYPES.has(b?.type)) bad(`messages.${i}.content.${j}.type: unknown block type`);
      if (b.type === 'text' && (typeof b.text !== 'string' || b.text === '')) {
        bad(`messages.${i}.content.${j}: text content blocks must be non-empty`);
      }
      if (b.type === 'tool_use' && (m.role !== 'assistant' || typeof b.id !== 'string' ||
        typeof b.name !== 'string' || b.input === null || typeof b.input !== 'object' ||
        Array.isArray(b.input))) {
        bad(`messages.${i}.content.${j}: invalid tool_use block`);
      }
      if (b.type === 'thinking' && (typeof b.signature !== 'string' || !b.signature)) {
        bad(`messages.${i}.content.${j}.thinking.signature: Field required`);
      }
    });
    if (m.role === 'user') {
      const results = blocks.filter((b) => b.type === 'tool_result');
      for (const id of pendingToolUses) {
        if (!results.some((r) => r.tool_use_id === id)) {
          bad(`messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks ` +
            `immediately after: ${id}. Each \`tool_use\` block must have a corresponding ` +
            '`tool_result` block in the next message.');
        }
      }
      const firstOther = blocks.findIndex((b) => b.type !== 'tool_result');
      if (firstOther >= 0 && blocks.slice(firstOther).some((b) => b.type === 'tool_result')) {
        bad(`messages.${i}: tool_result blocks must come before any other content`);
      }
      for (const r of results) {
        if (!pendingToolUses.includes(r.tool_use_id)) {
          bad(`messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` ` +
            `blocks: ${r.tool_use_id}. Each \`tool_result\` block must have a corresponding ` +
            '`tool_use` block in the previous message.');
        }
      }
      pendingToolUses = [];
    } else {
      pendingToolUses = blocks.filter((b) => b.type === 'tool_use').map((b) => b.id);
    }
  });
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) bad('tools: Input should be a valid list');
    body.tools.forEach((t, i) => {
      if (t.type && t.type !== 'custom') return;  // server tools
      if (!/^[a-zA-Z0-9_-]{1,128}$/.test(t.name ?? '')) bad(`tools.${i}.name: invalid`);
      if (t.input_schema?.type !== 'object') bad(`tools.${i}.input_schema.type: Input should be 'object'`);
    });
  }
  if (body.thinking?.type === 'enabled') {
    const budget = body.thinking.budget_tokens;
    if (!Number.isInteger(budget) || budget < 1024) {
      bad('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    }
    if (!countOnly && body.max_tokens <= budget) {
      bad('`max_tokens` must be greater than `thinking.budget_tokens`');
    }
  }
}

function lastUserTurn(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return blocksOf(messages[i].content);
  }
  return [];
}

function inputTokens(body) {
  const sys = typeof body.system === 'string' ? body.system
    : (body.system ?? []).map((b) => b.text).join(' ');
  let n = countTokens(sys);
  for (const m of body.messages) {
    for (const b of blocksOf(m.content)) {
      if (b.type === 'text') n += countTokens(b.text);
      else if (b.type === 'tool_result') n += countTokens(JSON.stringify(b.content ?? ''));
      else if (b.type === 'tool_use') n += countTokens(JSON.stringify(b.input));
      else n += 1;
    }
  }
  return n;
}

// The message object the fake answers (stream or not) for a valid request.
export function buildMessage(body, id) {
  const turn = lastUserTurn(body.messages);
  const userText = turn.filter((b) => b.type === 'text').map((b) => b.text).join('');
  const results = turn.filter((b) => b.type === 'tool_result');
  const tools = (body.tools ?? []).filter((t) => !t.type || t.type === 'custom');
  const useTools = tools.length > 0 && body.tool_choice?.type !== 'none' && results.length === 0;
  const content = [];
  if (body.thinking?.type === 'enabled') {
    content.push({ type: 'thinking', thinking: thinkingText(userText),
      signature: THINKING_SIGNATURE });
  }
  let outText;
  if (useTools) {
    outText = TOOL_PREAMBLE;
    content.push({ type: 'text', text: TOOL_PREAMBLE });
    const chosen = body.tool_choice?.type === 'tool'
      ? tools.filter((t) => t.name === body.tool_choice.name) : tools;
    const n = body.tool_choice?.disable_parallel_tool_use ? 1 : chosen.length;
    chosen.slice(0, n).forEach((t, i) => content.push({ type: 'tool_use',
      id: anthropicToolUseId(i), name: t.name, input: JSON.parse(toolArguments(t.name, i)) }));
  } else {
    outText = results.length ? toolResultText(results) : cannedAnthropicText(body.model, userText);
    content.push({ type: 'text', text: outText });
  }
  const cached = userText.includes('[[cache]]') || JSON.stringify(body).includes('"cache_control"');
  const usage = {
    input_tokens: inputTokens(body),
    cache_creation_input_tokens: cached ? CACHE_WRITE : 0,
    cache_read_input_tokens: cached ? CACHE_READ : 0,
    output_tokens: countTokens(outText) + (useTools ? 9 * (content.length - 1) : 0) +
      (body.thinking?.type === 'enabled' ? countTokens(thinkingText(userText)) : 0),
    service_tier: 'standard',
  };
  return {
    id, type: 'message', role: 'assistant', model: body.model, content,
    stop_reason: useTools ? 'tool_use' : userText.includes('[[length]]') ? 'max_tokens' : 'end_turn',
    stop_sequence: null, usage,
  };
}

export async function startFakeAnthropic({ port = 0, apiKey = ANTHROPIC_KEY } = {}) {
  const state = { requests: [], streamsCompleted: 0, streamsClosedEarly: 0 };
  let seq = 0;

  function sendJson(res, status, obj) {
    res.record.status = status;
    res.record.response = obj;
    const text = JSON.stringify(obj);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'request-id': `req_fake_${++seq}`,
      ...(status === 429 ? { 'retry-after': '7' } : {}),
    });
    res.end(text);
  }

  function sendError(res, status, message, type = anthropicErrorType(status)) {
    sendJson(res, status, { type: 'error', error: { type, message } });
  }

  async function writeEvent(res, type, data) {
    if (res.destroyed || res.writableEnded) return false;
    res.record.events.push({ event: type, data });
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    // Split each event over two writes so the gateway must reassemble events across reads.
    const cut = Math.max(1, Math.floor(text.length / 3));
    res.write(text.slice(0, cut));
    await sleep(1);
    if (res.destroyed) return false;
    res.write(text.slice(cut));
    return true;
  }

  function streamEvents(msg, spec) {
    const ev = [];
    const startUsage = { input_tokens: msg.usage.input_tokens,
      cache_creation_input_tokens: msg.usage.cache_creation_input_tokens,
      cache_read_input_tokens: msg.usage.cache_read_input_tokens, output_tokens: 1,
      service_tier: 'standard' };
    ev.push(['message_start', { type: 'message_start', message: { ...msg, content: [],
      stop_reason: null, stop_sequence: null, usage: startUsage } }]);
    msg.content.forEach((b, index) => {
      if (b.type === 'text') {
        ev.push(['content_block_start', { type: 'content_block_start', index,
          content_block: { type: 'text', text: '' } }]);
        if (index === 0) ev.push(['ping', { type: 'ping' }]);
        for (const p of contentPieces(b.text)) {
          ev.push(['content_block_delta', { type: 'content_block_delta', index,
            delta: { type: 'text_delta', text: p } }]);
        }
      } else if (b.type === 'thinking') {
        ev.push(['content_block_start', { type: 'content_block_start', index,
          content_block: { type: 'thinking', thinking: '', signature: '' } }]);
        if (index === 0) ev.push(['ping', { type: 'ping' }]);
        for (const p of contentPieces(b.thinking)) {
          ev.push(['content_block_delta', { type: 'content_block_delta', index,
            delta: { type: 'thinking_delta', thinking: p } }]);
        }
        ev.push(['content_block_delta', { type: 'content_block_delta', index,
          delta: { type: 'signature_delta', signature: b.signature } }]);
      } else if (b.type === 'tool_use') {
        ev.push(['content_block_start', { type: 'content_block_start', index,
          content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }]);
        const args = JSON.stringify(b.input);
        // Anthropic opens with an empty partial_json, then splits anywhere (mid-string too).
        ev.push(['content_block_delta', { type: 'content_block_delta', index,
          delta: { type: 'input_json_delta', partial_json: '' } }]);
        for (let k = 0; k < args.length; k += 9) {
          ev.push(['content_block_delta', { type: 'content_block_delta', index,
            delta: { type: 'input_json_delta', partial_json: args.slice(k, k + 9) } }]);
        }
      }
      ev.push(['content_block_stop', { type: 'content_block_stop', index }]);
    });
    const deltaUsage = spec ? { output_tokens: msg.usage.output_tokens }
      : { input_tokens: msg.usage.input_tokens,
        cache_creation_input_tokens: msg.usage.cache_creation_input_tokens,
        cache_read_input_tokens: msg.usage.cache_read_input_tokens,
        output_tokens: msg.usage.output_tokens };
    ev.push(['message_delta', { type: 'message_delta',
      delta: { stop_reason: msg.stop_reason, stop_sequence: null }, usage: deltaUsage }]);
    ev.push(['message_stop', { type: 'message_stop' }]);
    return ev;
  }

  async function messages(req, res, body) {
    const msg = buildMessage(body, `msg_fake_${String(++seq).padStart(4, '0')}`);
    const userText = lastUserTurn(body.messages).filter((b) => b.type === 'text')
      .map((b) => b.text).join('');
    if (!body.stream) return sendJson(res, 200, msg);

    res.record.status = 200;
    res.record.events = [];
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': `req_fake_${seq}` });
    res.flushHeaders();
    const events = streamEvents(msg, userText.includes('[[spec-usage]]'));
    const errorAt = userText.includes('[[error-event]]') ? 6 : -1;
    const cutAt = userText.includes('[[cut]]') ? 6 : -1;
    for (const [i, [type, data]] of events.entries()) {
      if (i === cutAt) {
        state.streamsClosedEarly++;
        res.socket?.resetAndDestroy?.() ?? res.destroy();
        return;
      }
      if (i === errorAt) {
        await writeEvent(res, 'error', { type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' } });
        res.end();
        state.streamsClosedEarly++;
        return;
      }
      if (!(await writeEvent(res, type, data))) {
        state.streamsClosedEarly++;
        return;
      }
    }
    res.end();
    state.streamsCompleted++;
  }

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://x');
    const record = { method: req.method, path: url.pathname, query: url.search,
      headers: req.headers, raw, body: null };
    state.requests.push(record);
    res.record = record;
    try {
      const route = { '/v1/messages': 'messages', '/v1/messages/count_tokens': 'count' }[url.pathname];
      if (!route) return sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
      if (req.method !== 'POST') return sendError(res, 405, 'Method not allowed', 'invalid_request_error');
      if (!req.headers['x-api-key']) {
        return sendError(res, 401, 'x-api-key header is required');
      }
      if (req.headers['x-api-key'] !== apiKey) return sendError(res, 401, 'invalid x-api-key');
      if (!req.headers['anthropic-version']) {
        return sendError(res, 400, 'anthropic-version: header is required');
      }
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendError(res, 400, 'Invalid JSON in request body');
      }
      record.body = body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return sendError(res, 400, 'Request body must be a JSON object');
      }
      validate(body, route === 'count');
      if (route === 'count') return sendJson(res, 200, { input_tokens: inputTokens(body) });
      const marker = JSON.stringify(lastUserTurn(body.messages)).match(/\[\[status:(\d{3})\]\]/);
      if (marker) {
        const status = Number(marker[1]);
        return sendError(res, status, status === 529 ? 'Overloaded'
          : `fake anthropic injected status ${status}`);
      }
      return await messages(req, res, body);
    } catch (e) {
      if (e instanceof BadRequest) return sendError(res, 400, e.message);
      if (!res.headersSent) sendError(res, 500, `fake anthropic bug: ${e.stack}`);
      else res.destroy();
    }
  });
  return serveFake(server, port, state, (r, pathname = '/v1/messages') => r.path === pathname);
}

// Standalone: node lib/fake_anthropic.mjs [port]
if (import.meta.url === `file://${process.argv[1]}`) {
  const up = await startFakeAnthropic({ port: Number(process.argv[2] ?? 0) });
  console.error(`fake anthropic listening on ${up.origin}`);
}
