// Validates response bodies against the component schemas of the OpenAI OpenAPI document
// (/work/shared/specs/openai-openapi.yaml or $OPENAI_OPENAPI). The document is OpenAPI 3.1
// (JSON Schema 2020-12) but still carries some 3.0 `nullable: true`; those are rewritten
// into 2020-12 form before the whole document is registered with Ajv, so that
// '#/components/schemas/...' references resolve inside it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));

export function specPath() {
  if (process.env.OPENAI_OPENAPI) return process.env.OPENAI_OPENAPI;
  const candidates = [
    path.resolve(here, '../../../../shared/specs/openai-openapi.yaml'),
    '/work/shared/specs/openai-openapi.yaml',
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}

// OpenAPI 3.0 `nullable: true` -> 2020-12. With a `type`, null joins the type list (and the
// enum, which would otherwise reject null); without one (e.g. next to a $ref), the schema
// becomes anyOf [schema, null].
function fixNullable(node) {
  if (Array.isArray(node)) return node.map(fixNullable);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = fixNullable(v);
  if (out.nullable === undefined) return out;
  const nullable = out.nullable === true;
  delete out.nullable;
  if (!nullable) return out;
  if (out.type !== undefined) {
    const types = Array.isArray(out.type) ? out.type : [out.type];
    if (!types.includes('null')) out.type = [...types, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  const { description, ...rest } = out;
  const wrapped = { anyOf: [rest, { type: 'null' }] };
  if (description !== undefined) wrapped.description = description;
  return wrapped;
}

const DOC_ID = 'https://switchyard.test/openai-openapi.json';
let ajvSingleton = null;
const compiled = new Map();

function ajv() {
  if (ajvSingleton) return ajvSingleton;
  const doc = fixNullable(YAML.parse(fs.readFileSync(specPath(), 'utf8')));
  // Only components.schemas is a schema; the rest of the document is not, so register a
  // document holding just that (refs stay '#/components/schemas/X').
  const schemaDoc = { $id: DOC_ID, components: { schemas: doc.components.schemas } };
  const a = new Ajv2020({
    strict: false, // x-oaiMeta, x-stainless-const, discriminator, $recursiveAnchor ...
    allErrors: true,
    validateFormats: true,
  });
  addFormats(a);
  for (const f of ['unixtime', 'float', 'double', 'int32', 'int64', 'binary', 'png', 'byte']) {
    a.addFormat(f, true);
  }
  a.addSchema(schemaDoc);
  ajvSingleton = a;
  return a;
}

export function validator(name) {
  if (!compiled.has(name)) {
    compiled.set(name, ajv().compile({ $ref: `${DOC_ID}#/components/schemas/${name}` }));
  }
  return compiled.get(name);
}

// Returns null when `body` matches components.schemas[name], else a readable error string.
export function schemaErrors(name, body) {
  const v = validator(name);
  if (v(body)) return null;
  return v.errors
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
}

// node:assert-style helper.
export function assertSchema(name, body, what = name) {
  const err = schemaErrors(name, body);
  if (err) {
    throw new Error(`${what} does not match #/components/schemas/${name}:\n${err}\n` +
      `body: ${JSON.stringify(body).slice(0, 2000)}`);
  }
}
