// A fake of Google's Gemini API (node:http) for the SDK compatibility tests, following
// https://ai.google.dev/api/generate-content and https://ai.google.dev/api/embeddings.
//
//   POST /v1beta/models/{model}:generateContent               GenerateContentResponse
//   POST /v1beta/models/{model}:streamGenerateContent?alt=sse  `data: {GenerateContentResponse}`
//                                                              events (\r\n\r\n apart, as Google
//                                                              sends them); text in pieces, all
//                                                              functionCalls in one event, the
//                                                              last event with finishReason
//   POST /v1beta/models/{model}:batchEmbedContents            {embeddings: [{values}]}
// x-goog-api-key is required (403 PERMISSION_DENIED without, 400 INVALID_ARGUMENT "API key
// not valid" when wrong); errors are {"error":{"code","message","status"}}. The body is
// checked as Gemini checks it: unknown fields are rejected, roles are user/model, a part holds
// one kind of data, functionCall.args is an object, and (as Gemini 3 does) a model turn's first
// functionCall must carry the thoughtSignature it was given (SIGNATURES[i]).
// The reply: with thinkingConfig.includeThoughts a thought part; then cannedGeminiText(); with
// functionDeclarations (mode not NONE) one functionCall part per declaration instead,
// args = toolArguments(), the first carrying thoughtSignature. After functionResponse parts
// the text names them (functionResponseText()).
// usageMetadata: promptTokenCount (words), candidatesTokenCount, thoughtsTokenCount with
// thoughts, cachedContentTokenCount = CACHED_TOKENS with [[cache]] or cachedContent,
// totalTokenCount. Markers in the last user turn:
//   [[status:NNN]]    answer NNN with Google's error body (429: a RetryInfo detail, retryDelay 13s)
//   [[error-event]]   stream a few events, then `data: {"error":{code 503, UNAVAILABLE}}` and end
//   [[cut]]           stream a few events, then reset the connection
//   [[length]]        finishReason MAX_TOKENS
import http from 'node:http';
import { contentPieces, countTokens, embeddingFor, serveFake, toolArguments } from './fake_upstream.mjs';

export const GEMINI_KEY = 'gemini-test-key';
export const CACHED_TOKENS = 3;
export const RETRY_DELAY_S = 13;
export const MODEL_VERSION_SUFFIX = '-001';
// Signatures Gemini returns: opaque bytes in standard base64, with + / and = padding, so that
// a round trip through base64url must restore them exactly.
export const SIGNATURES = ['Cv8BAb4+9vsig/fake+caw==', 'Cv8BAb4+9vsig/fake+tew=='];
const sigBytes = (sig) => Buffer.from(sig, 'base64').toString('hex');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function cannedGeminiText(model, userText) {
  return `Hello from the fake Gemini. model=${model}; you said: ${userText}`;
}

export function geminiThought(userText) {
  return `**Greeting** The user wrote "${userText}"; answer politely.`;
}

export function functionResponseText(responses) {
  return `Got ${responses.length} function response(s): ${responses.map((r) =>
    `${r.name}=${JSON.stringify(r.response)}`).join('; ')}`;
}

const STATUS_NAMES = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function googleStatus(code) {
  return STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}

const TOP_LEVEL = new Set(['contents', 'tools', 'toolConfig', 'safetySettings',
  'systemInstruction', 'generationConfig', 'cachedContent', 'labels']);
const DATA_FIELDS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse',
  'executableCode', 'codeExecutionResult'];
const PART_FIELDS = new Set([...DATA_FIELDS, 'thought', 'thoughtSignature', 'videoMetadata',
  'partMetadata']);
const GEN_CONFIG = new Set(['stopSequences', 'responseMimeType', 'responseSchema',
  'responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens', 'temperature',
  'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs',
  'thinkingConfig', 'mediaResolution', 'speechConfig']);

class BadRequest extends Error {}
const bad = (msg) => { throw new BadRequest(msg); };
const unknownName = (where, k) => bad(`Invalid JSON payload received. Unknown name "${k}" at ` +
  `'${where}': Cannot find field.`);

function validateParts(parts, where) {
  if (!Array.isArray(parts)) bad(`${where}.parts: must be a list`);
  parts.forEach((p, j) => {
    for (const k of Object.keys(p)) if (!PART_FIELDS.has(k)) unknownName(`${where}.parts[${j}]`, k);
    const data = DATA_FIELDS.filter((f) => p[f] !== undefined);
    if (data.length !== 1) bad(`${where}.parts[${j}]: a part must hold exactly one of ${DATA_FIELDS.join(', ')}`);
    if (p.functionCall) {
      const a = p.functionCall.args;
      if (typeof p.functionCall.name !== 'string') bad(`${where}.parts[${j}].function_call.name: required`);
      if (a !== undefined && (a === null || typeof a !== 'object' || Array.isArray(a))) {
        bad(`Invalid value at '${where}.parts[${j}].function_call.args' (type.googleapis.com/google.protobuf.Struct)`);
      }
    }
    if (p.functionResponse && (typeof p.functionResponse.name !== 'string' ||
      typeof p.functionResponse.response !== 'object' || Array.isArray(p.functionResponse.response))) {
      bad(`${where}.parts[${j}].function_response: name and an object response are required`);
    }
  });
}

function validate(body) {
  for (const k of Object.keys(body)) if (!TOP_LEVEL.has(k)) unknownName('', k);
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    bad('* GenerateContentRequest.contents: contents is not specified');
  }
  body.contents.forEach((c, i) => {
    if (c.role !== 'user' && c.role !== 'model') {
      bad(`Please use a valid role: user, model. (contents[${i}].role: ${c.role})`);
    }
    validateParts(c.parts, `contents[${i}]`);
    const calls = c.parts.filter((p) => p.functionCall);
    // Gemini 3: the first functionCall of each model turn carries its signature back.
    if (c.role === 'model' && calls.length && !calls[0].thoughtSignature) {
      bad(`Function call is missing a thought_signature in functionCall parts. This is required ` +
        `for tools to work correctly, and missing thought_signature may lead to degraded model ` +
        `performance. Additional data, function call \`default_api:${calls[0].functionCall.name}\` ` +
        `, position ${c.parts.indexOf(calls[0]) + 1}.`);
    }
    // Google parses the signature as protobuf bytes: padding and the base64url alphabet
    // do not matter, the bytes do.
    if (c.role === 'model' && calls.length &&
      !SIGNATURES.map(sigBytes).includes(sigBytes(calls[0].thoughtSignature))) {
      bad(`Corrupted thought signature. (contents[${i}])`);
    }
  });
  if (body.systemInstruction !== undefined) validateParts(body.systemInstruction.parts, 'system_instruction');
  for (const k of Object.keys(body.generationConfig ?? {})) {
    if (!GEN_CONFIG.has(k)) unknownName('generation_config', k);
  }
  (body.tools ?? []).forEach((t, i) => (t.functionDeclarations ?? []).forEach((d, j) => {
    if (!/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/.test(d.name ?? '')) bad(`tools[${i}].function_declarations[${j}].name: invalid`);
    const types = JSON.stringify(d.parameters ?? {}).match(/"type":"([^"]*)"/g) ?? [];
    for (const t2 of types) {
      const v = t2.slice(8, -1);
      if (!['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL',
        'string', 'number', 'integer', 'boolean', 'array', 'object'].includes(v)) {
        bad(`tools[${i}].function_declarations[${j}].parameters: invalid type ${v}`);
      }
    }
    if (JSON.stringify(d.parameters ?? {}).includes('"additionalProperties"')) {
      unknownName(`tools[${i}].function_declarations[${j}].parameters`, 'additionalProperties');
    }
  }));
}

function lastUserParts(contents) {
  for (let i = contents.length - 1; i >= 0; i--) {
    if (contents[i].role === 'user') return contents[i].parts;
  }
  return [];
}

function promptTokens(body) {
  let n = 0;
  const count = (parts) => {
    for (const p of parts ?? []) {
      if (p.text !== undefined) n += countTokens(p.text);
      else n += 1;
    }
  };
  count(body.systemInstruction?.parts);
  for (const c of body.contents) count(c.parts);
  return n;
}

// What the fake answers for a valid request: the parts, finishReason and usageMetadata.
export function buildCandidate(body, model) {
  const parts = lastUserParts(body.contents);
  const userText = parts.filter((p) => p.text !== undefined).map((p) => p.text).join('');
  const responses = parts.filter((p) => p.functionResponse).map((p) => p.functionResponse);
  const decls = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
  const mode = body.toolConfig?.functionCallingConfig?.mode ?? 'AUTO';
  const allowed = body.toolConfig?.functionCallingConfig?.allowedFunctionNames;
  const callable = decls.filter((d) => !allowed || allowed.includes(d.name));
  const thinking = body.generationConfig?.thinkingConfig?.includeThoughts === true;
  const out = [];
  if (thinking) out.push({ text: geminiThought(userText), thought: true });
  let text = null;
  if (callable.length && mode !== 'NONE' && responses.length === 0) {
    callable.forEach((d, i) => out.push({
      functionCall: { name: d.name, args: JSON.parse(toolArguments(d.name, i)) },
      ...(i === 0 ? { thoughtSignature: SIGNATURES[0] } : {}),
    }));
  } else {
    text = responses.length ? functionResponseText(responses) : cannedGeminiText(model, userText);
    out.push({ text, ...(thinking ? { thoughtSignature: SIGNATURES[1] } : {}) });
  }
  const prompt = promptTokens(body);
  const usageMetadata = {
    promptTokenCount: prompt,
    candidatesTokenCount: text === null ? 7 * callable.length : countTokens(text),
  };
  if (userText.includes('[[cache]]') || body.cachedContent) {
    usageMetadata.cachedContentTokenCount = CACHED_TOKENS;
  }
  if (thinking) usageMetadata.thoughtsTokenCount = countTokens(geminiThought(userText));
  usageMetadata.totalTokenCount = prompt + usageMetadata.candidatesTokenCount +
    (usageMetadata.thoughtsTokenCount ?? 0);
  usageMetadata.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
  return { parts: out, text, usageMetadata,
    finishReason: userText.includes('[[length]]') ? 'MAX_TOKENS' : 'STOP' };
}

export async function startFakeGemini({ port = 0, apiKey = GEMINI_KEY } = {}) {
  const state = { requests: [], streamsCompleted: 0, streamsClosedEarly: 0 };
  let seq = 0;

  function sendJson(res, status, obj) {
    res.record.status = status;
    res.record.response = obj;
    const text = JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendError(res, code, message, status = googleStatus(code)) {
    // Quota errors say when to come back, as Gemini does, in a google.rpc.RetryInfo detail.
    const details = code === 429 ? { details: [{
      '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${RETRY_DELAY_S}s` }] } : {};
    sendJson(res, code, { error: { code, message, status, ...details } });
  }

  async function writeEvent(res, obj) {
    if (res.destroyed || res.writableEnded) return false;
    res.record.events.push(obj);
    const text = `data: ${JSON.stringify(obj)}\r\n\r\n`;
    const cut = Math.max(1, Math.floor(text.length / 2));
    res.write(text.slice(0, cut));
    await sleep(1);
    if (res.destroyed) return false;
    res.write(text.slice(cut));
    return true;
  }

  async function generate(req, res, body, model, stream) {
    const c = buildCandidate(body, model);
    const responseId = `fakeResp${++seq}`;
    const modelVersion = `${model}${MODEL_VERSION_SUFFIX}`;
    const userText = lastUserParts(body.contents).filter((p) => p.text !== undefined)
      .map((p) => p.text).join('');
    if (!stream) {
      return sendJson(res, 200, {
        candidates: [{ content: { role: 'model', parts: c.parts }, finishReason: c.finishReason,
          index: 0 }],
        usageMetadata: c.usageMetadata, modelVersion, responseId,
      });
    }
    res.record.status = 200;
    res.record.events = [];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    // Gemini streams cumulative usage with every event; the final one is complete.
    const partial = { promptTokenCount: c.usageMetadata.promptTokenCount,
      totalTokenCount: c.usageMetadata.promptTokenCount };
    const events = [];
    const ev = (parts, last = false) => ({
      candidates: [{ content: { role: 'model', parts }, ...(last ? { finishReason: c.finishReason } : {}),
        index: 0 }],
      usageMetadata: last ? c.usageMetadata : partial, modelVersion, responseId,
    });
    let signature = null;
    for (const p of c.parts) {
      if (p.text !== undefined) {
        for (const piece of contentPieces(p.text)) {
          events.push(ev([{ text: piece, ...(p.thought ? { thought: true } : {}) }]));
        }
        if (p.thoughtSignature) signature = p.thoughtSignature;
      }
    }
    const calls = c.parts.filter((p) => p.functionCall);
    if (calls.length) {
      events.push(ev(calls, true));
    } else if (signature) {
      // Streamed, a text answer's signature comes last in a part with empty text, as Google
      // documents ("the signature may arrive in a final chunk with an empty text part").
      events.push(ev([{ text: '', thoughtSignature: signature }], true));
    } else {
      // Otherwise the last text piece carries the finishReason.
      const lastEv = events.pop();
      events.push(ev(lastEv.candidates[0].content.parts, true));
    }
    const errorAt = userText.includes('[[error-event]]') ? 4 : -1;
    const cutAt = userText.includes('[[cut]]') ? 4 : -1;
    for (const [i, e] of events.entries()) {
      if (i === cutAt) {
        state.streamsClosedEarly++;
        res.socket?.resetAndDestroy?.() ?? res.destroy();
        return;
      }
      if (i === errorAt) {
        await writeEvent(res, { error: { code: 503, message: 'The model is overloaded. ' +
          'Please try again later.', status: 'UNAVAILABLE' } });
        res.end();
        state.streamsClosedEarly++;
        return;
      }
      if (!(await writeEvent(res, e))) {
        state.streamsClosedEarly++;
        return;
      }
    }
    res.end();
    state.streamsCompleted++;
  }

  function batchEmbed(res, body, model) {
    for (const k of Object.keys(body)) if (k !== 'requests') unknownName('', k);
    if (!Array.isArray(body.requests) || body.requests.length === 0) bad('requests: required');
    const embeddings = body.requests.map((r, i) => {
      if (r.model !== `models/${model}`) {
        bad(`requests[${i}].model: model "${r.model}" does not match the batch's "models/${model}"`);
      }
      for (const k of Object.keys(r)) {
        if (!['model', 'content', 'taskType', 'title', 'outputDimensionality'].includes(k)) {
          unknownName(`requests[${i}]`, k);
        }
      }
      validateParts(r.content?.parts, `requests[${i}].content`);
      const text = r.content.parts.map((p) => p.text).join('');
      if (text.includes('[[status:')) return { status: Number(text.match(/\[\[status:(\d{3})\]\]/)[1]) };
      return { values: embeddingFor(text, r.outputDimensionality ?? 8) };
    });
    const failed = embeddings.find((e) => e.status);
    if (failed) return sendError(res, failed.status, `fake gemini injected status ${failed.status}`);
    return sendJson(res, 200, { embeddings });
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
      const m = url.pathname.match(/^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/);
      if (!m) return sendError(res, 404, `Requested entity was not found. (${url.pathname})`);
      const [, model, method] = m;
      record.model = model;
      record.method_name = method;
      if (req.method !== 'POST') return sendError(res, 405, 'Method not allowed', 'INVALID_ARGUMENT');
      if (url.searchParams.has('key')) {
        return sendError(res, 400, 'the fake wants the key in x-goog-api-key, not in the URL');
      }
      if (!req.headers['x-goog-api-key']) {
        return sendError(res, 403, 'Method doesn\'t allow unregistered callers (callers without ' +
          'established identity). Please use API Key or other form of API consumer identity ' +
          'to call this API.');
      }
      if (req.headers['x-goog-api-key'] !== apiKey) {
        return sendError(res, 400, 'API key not valid. Please pass a valid API key.');
      }
      if (method === 'streamGenerateContent' && url.searchParams.get('alt') !== 'sse') {
        return sendError(res, 400, 'the fake streams only with ?alt=sse');
      }
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendError(res, 400, 'Invalid JSON payload received.');
      }
      record.body = body;
      if (method === 'batchEmbedContents') return batchEmbed(res, body, model);
      validate(body);
      const marker = JSON.stringify(lastUserParts(body.contents)).match(/\[\[status:(\d{3})\]\]/);
      if (marker) {
        const code = Number(marker[1]);
        return sendError(res, code, code === 429 ? 'Resource has been exhausted (e.g. check quota).'
          : `fake gemini injected status ${code}`);
      }
      return await generate(req, res, body, model, method === 'streamGenerateContent');
    } catch (e) {
      if (e instanceof BadRequest) return sendError(res, 400, e.message);
      if (!res.headersSent) sendError(res, 500, `fake gemini bug: ${e.stack}`);
      else res.destroy();
    }
  });
  // lastRequest(method): the last request to a method (generateContent,
  // streamGenerateContent, batchEmbedContents; any when omitted).
  return serveFake(server, port, state, (r, method) => !method || r.method_name === method,
    (origin) => ({ baseURL: `${origin}/v1beta` }));
}

// Standalone: node lib/fake_gemini.mjs [port]
if (import.meta.url === `file://${process.argv[1]}`) {
  const up = await startFakeGemini({ port: Number(process.argv[2] ?? 0) });
  console.error(`fake gemini listening on ${up.baseURL}`);
}
