// Request validation for the fake OpenAI chat-completions server.
//
// A request the real API would reject must be rejected here too (HTTP 400 with
// an OpenAI-style error body), so a malformed request can never pass a test.
//
// Source of truth: the official SDK's types, which are generated from OpenAI's
// OpenAPI spec (github.com/openai/openai-openapi):
//   node_modules/openai/resources/chat/completions/completions.d.ts
//     ChatCompletionCreateParamsBase (every top-level request field),
//     ChatCompletion{System,Developer,User,Assistant,Tool,Function}MessageParam,
//     ChatCompletionContentPart{Text,Image,InputAudio,Refusal}, ContentPart.File,
//     ChatCompletionMessage{Function,Custom}ToolCall, ChatCompletion{Function,Custom}Tool,
//     ChatCompletionToolChoiceOption, ChatCompletionStreamOptions
//   node_modules/openai/resources/shared.d.ts
//     FunctionDefinition (name: "a-z, A-Z, 0-9, underscores and dashes, maximum
//     length of 64"), ReasoningEffort, ResponseFormat*
// (openai npm 6.49.0, pinned in package-lock.json.)
//
// Error messages, `param` and `code` copy what api.openai.com answers, e.g.
//   "Missing required parameter: 'messages[0].content'."        missing_required_parameter
//   "Invalid type for 'messages[0].content': expected ..."     invalid_type
//   "Invalid value: 'x'. Supported values are: ..."            invalid_value
//   "Invalid 'messages': empty array. Expected an array with minimum length 1, ..."  empty_array
//   "Unrecognized request argument supplied: foo"              (code null)
//   "An assistant message with 'tool_calls' must be followed by tool messages
//    responding to each 'tool_call_id'. The following tool_call_ids did not have
//    response messages: call_x"          param "messages.[i].role", code null
//   "Invalid parameter: messages with role 'tool' must be a response to a
//    preceeding message with 'tool_calls'."  (sic)  param "messages.[i].role"
//
// Extra fields -- the choice made here:
// * Top level: OpenAI rejects any parameter it does not know with 400
//   "Unrecognized request argument supplied: X". We do the same, for every
//   name not in ChatCompletionCreateParamsBase. Tests of the client's "extra
//   request fields" option (OpenRouter's `provider`, vLLM's
//   `chat_template_kwargs`, ...) list those names in the scenario's
//   `allow_fields`.
// * Inside messages: unknown fields are rejected ("Unknown parameter:
//   'messages[1].foo'.", code unknown_parameter) except a documented set of
//   vendor fields that OpenAI-compatible servers (OpenRouter, vLLM, DeepSeek)
//   accept and that Stirrup sends: `reasoning_content`, `reasoning` and
//   `reasoning_details` on assistant messages (reasoning passed back), and
//   `name` on tool messages, a string or null (Stirrup sends the tool's name
//   with its result, null when unknown; api.openai.com ignores it). The scenario's `allow_message_fields` adds more.

export const TOP_LEVEL_FIELDS = new Set([
  // ChatCompletionCreateParamsBase, openai 6.49.0, in declaration order.
  'messages', 'model', 'audio', 'frequency_penalty', 'function_call', 'functions',
  'logit_bias', 'logprobs', 'max_completion_tokens', 'max_tokens', 'metadata',
  'modalities', 'moderation', 'n', 'parallel_tool_calls', 'prediction',
  'presence_penalty', 'prompt_cache_key', 'prompt_cache_options',
  'prompt_cache_retention', 'reasoning_effort', 'response_format',
  'safety_identifier', 'seed', 'service_tier', 'stop', 'store', 'stream',
  'stream_options', 'temperature', 'tool_choice', 'tools', 'top_logprobs', 'top_p',
  'user', 'verbosity', 'web_search_options',
]);

// Vendor fields tolerated inside messages, per role (see above).
export const VENDOR_MESSAGE_FIELDS = {
  assistant: ['reasoning_content', 'reasoning', 'reasoning_details'],
  tool: ['name'],
};

const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];
const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'];
const TOOL_NAME_RE = /^[a-zA-Z0-9_-]+$/;

class Invalid extends Error {
  constructor(message, param, code) {
    super(message);
    this.param = param ?? null;
    this.code = code ?? null;
  }
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal number';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function invalidType(param, expected, v) {
  return new Invalid(`Invalid type for '${param}': expected ${expected}, but got ${typeName(v)} instead.`,
    param, 'invalid_type');
}
function missing(param) {
  return new Invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}
function invalidValue(param, v, allowed) {
  const list = allowed.map((a) => `'${a}'`);
  const text = list.length > 1 ? `${list.slice(0, -1).join(', ')}, and ${list.at(-1)}` : list[0];
  return new Invalid(`Invalid value: '${v}'. Supported values are: ${text}.`, param, 'invalid_value');
}
function unknownParam(param) {
  return new Invalid(`Unknown parameter: '${param}'.`, param, 'unknown_parameter');
}

function expectString(v, param) { if (typeof v !== 'string') throw invalidType(param, 'a string', v); }
function expectBool(v, param) { if (typeof v !== 'boolean') throw invalidType(param, 'a boolean', v); }
function expectObject(v, param) { if (!isObj(v)) throw invalidType(param, 'an object', v); }
function expectNumber(v, param, min, max) {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidType(param, 'a number', v);
  if (min !== undefined && v < min) {
    throw new Invalid(`Invalid '${param}': decimal below minimum value. Expected a value >= ${min}, but got ${v} instead.`,
      param, 'decimal_below_min_value');
  }
  if (max !== undefined && v > max) {
    throw new Invalid(`Invalid '${param}': decimal above maximum value. Expected a value <= ${max}, but got ${v} instead.`,
      param, 'decimal_above_max_value');
  }
}
function expectInt(v, param, min, max) {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidType(param, 'an integer', v);
  if (min !== undefined && v < min) {
    throw new Invalid(`Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${v} instead.`,
      param, 'integer_below_min_value');
  }
  if (max !== undefined && v > max) {
    throw new Invalid(`Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${v} instead.`,
      param, 'integer_above_max_value');
  }
}
function expectEnum(v, param, allowed) {
  if (typeof v !== 'string') throw invalidType(param, 'a string', v);
  if (!allowed.includes(v)) throw invalidValue(param, v, allowed);
}
function expectNonEmptyArray(v, param) {
  if (!Array.isArray(v)) throw invalidType(param, 'an array', v);
  if (v.length === 0) {
    throw new Invalid(`Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
      param, 'empty_array');
  }
}
function onlyKeys(obj, param, allowed) {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw unknownParam(`${param}.${k}`);
}
function required(obj, key, param) {
  if (!(key in obj) || obj[key] === undefined) throw missing(`${param}.${key}`);
  return obj[key];
}

// --- content parts --------------------------------------------------------

// ChatCompletionContentPart{Text,Image,InputAudio}, ChatCompletionContentPart.File,
// ChatCompletionContentPartRefusal. `kinds` lists the part types the role allows.
function validatePart(part, param, kinds) {
  expectObject(part, param);
  const type = required(part, 'type', param);
  expectString(type, `${param}.type`);
  if (!kinds.includes(type)) throw invalidValue(`${param}.type`, type, kinds);
  const cacheBreakpoint = (p) => {
    if ('prompt_cache_breakpoint' in part) {
      expectObject(part.prompt_cache_breakpoint, `${p}.prompt_cache_breakpoint`);
      expectEnum(required(part.prompt_cache_breakpoint, 'mode', `${p}.prompt_cache_breakpoint`),
        `${p}.prompt_cache_breakpoint.mode`, ['explicit']);
    }
  };
  switch (type) {
    case 'text':
      onlyKeys(part, param, ['type', 'text', 'prompt_cache_breakpoint']);
      expectString(required(part, 'text', param), `${param}.text`);
      cacheBreakpoint(param);
      break;
    case 'refusal':
      onlyKeys(part, param, ['type', 'refusal']);
      expectString(required(part, 'refusal', param), `${param}.refusal`);
      break;
    case 'image_url': {
      onlyKeys(part, param, ['type', 'image_url', 'prompt_cache_breakpoint']);
      const img = required(part, 'image_url', param);
      expectObject(img, `${param}.image_url`);
      onlyKeys(img, `${param}.image_url`, ['url', 'detail']);
      const url = required(img, 'url', `${param}.image_url`);
      expectString(url, `${param}.image_url.url`);
      if (!/^(https?:\/\/|data:image\/[a-zA-Z0-9.+-]+;base64,)/.test(url)) {
        throw new Invalid(`Invalid 'image_url.url': expected a URL (http, https) or a base64 data URL (data:image/...;base64,...).`,
          `${param}.image_url.url`, 'invalid_value');
      }
      if (url.startsWith('data:') && !/^data:[^,]*;base64,[A-Za-z0-9+/]*={0,2}$/.test(url)) {
        throw new Invalid(`Invalid 'image_url.url': the data URL's base64 payload is not valid base64.`,
          `${param}.image_url.url`, 'invalid_value');
      }
      if ('detail' in img) expectEnum(img.detail, `${param}.image_url.detail`, ['auto', 'low', 'high']);
      cacheBreakpoint(param);
      break;
    }
    case 'input_audio': {
      onlyKeys(part, param, ['type', 'input_audio', 'prompt_cache_breakpoint']);
      const a = required(part, 'input_audio', param);
      expectObject(a, `${param}.input_audio`);
      onlyKeys(a, `${param}.input_audio`, ['data', 'format']);
      expectString(required(a, 'data', `${param}.input_audio`), `${param}.input_audio.data`);
      expectEnum(required(a, 'format', `${param}.input_audio`), `${param}.input_audio.format`, ['wav', 'mp3']);
      cacheBreakpoint(param);
      break;
    }
    case 'file': {
      onlyKeys(part, param, ['type', 'file', 'prompt_cache_breakpoint']);
      const f = required(part, 'file', param);
      expectObject(f, `${param}.file`);
      onlyKeys(f, `${param}.file`, ['file_data', 'file_id', 'filename']);
      for (const k of ['file_data', 'file_id', 'filename']) if (k in f) expectString(f[k], `${param}.file.${k}`);
      if (!('file_data' in f) && !('file_id' in f)) throw missing(`${param}.file.file_data`);
      cacheBreakpoint(param);
      break;
    }
    default:
      break;
  }
}

function validateContent(content, param, kinds, { nullable = false } = {}) {
  if (content === null && nullable) return;
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) {
    throw invalidType(param, 'one of a string or array of objects', content);
  }
  expectNonEmptyArray(content, param);
  content.forEach((p, i) => validatePart(p, `${param}[${i}]`, kinds));
}

// --- messages --------------------------------------------------------------

function validateToolCall(tc, param) {
  expectObject(tc, param);
  const id = required(tc, 'id', param);
  expectString(id, `${param}.id`);
  const type = required(tc, 'type', param);
  expectEnum(type, `${param}.type`, ['function', 'custom']);
  if (type === 'function') {
    onlyKeys(tc, param, ['id', 'type', 'function']);
    const fn = required(tc, 'function', param);
    expectObject(fn, `${param}.function`);
    onlyKeys(fn, `${param}.function`, ['name', 'arguments']);
    expectString(required(fn, 'name', `${param}.function`), `${param}.function.name`);
    // The commonest client bug: arguments sent as a JSON object, not a string.
    expectString(required(fn, 'arguments', `${param}.function`), `${param}.function.arguments`);
  } else {
    onlyKeys(tc, param, ['id', 'type', 'custom']);
    const c = required(tc, 'custom', param);
    expectObject(c, `${param}.custom`);
    onlyKeys(c, `${param}.custom`, ['name', 'input']);
    expectString(required(c, 'name', `${param}.custom`), `${param}.custom.name`);
    expectString(required(c, 'input', `${param}.custom`), `${param}.custom.input`);
  }
  return id;
}

function validateMessage(m, i, extraFields) {
  const param = `messages[${i}]`;
  if (!isObj(m)) throw invalidType(param, 'an object', m);
  const role = required(m, 'role', param);
  expectString(role, `${param}.role`);
  if (!ROLES.includes(role)) throw invalidValue(`${param}.role`, role, ROLES);
  const allow = (keys) => onlyKeys(m, param, [...keys, ...(VENDOR_MESSAGE_FIELDS[role] ?? []), ...extraFields]);
  const optName = () => { if ('name' in m) expectString(m.name, `${param}.name`); };

  switch (role) {
    case 'system':
    case 'developer':
      allow(['role', 'content', 'name']);
      validateContent(required(m, 'content', param), `${param}.content`, ['text']);
      optName();
      break;
    case 'user':
      allow(['role', 'content', 'name']);
      validateContent(required(m, 'content', param), `${param}.content`, ['text', 'image_url', 'input_audio', 'file']);
      optName();
      break;
    case 'assistant': {
      // `annotations` is a field of the response message (ChatCompletionMessage),
      // not of the request param; the API accepts a response message passed
      // back verbatim (as the SDK's docs do), so it is tolerated, like OpenAI.
      allow(['role', 'content', 'name', 'audio', 'function_call', 'refusal', 'tool_calls', 'annotations']);
      if ('annotations' in m && !Array.isArray(m.annotations)) throw invalidType(`${param}.annotations`, 'an array', m.annotations);
      if ('content' in m) validateContent(m.content, `${param}.content`, ['text', 'refusal'], { nullable: true });
      optName();
      if ('refusal' in m && m.refusal !== null) expectString(m.refusal, `${param}.refusal`);
      if ('audio' in m && m.audio !== null) {
        expectObject(m.audio, `${param}.audio`);
        expectString(required(m.audio, 'id', `${param}.audio`), `${param}.audio.id`);
      }
      if ('function_call' in m && m.function_call !== null) {
        expectObject(m.function_call, `${param}.function_call`);
        expectString(required(m.function_call, 'name', `${param}.function_call`), `${param}.function_call.name`);
        expectString(required(m.function_call, 'arguments', `${param}.function_call`), `${param}.function_call.arguments`);
      }
      if ('tool_calls' in m) {
        expectNonEmptyArray(m.tool_calls, `${param}.tool_calls`);
        m.tool_calls.forEach((tc, j) => validateToolCall(tc, `${param}.tool_calls[${j}]`));
      }
      const hasContent = m.content !== undefined && m.content !== null;
      const hasCalls = Array.isArray(m.tool_calls) || (m.function_call ?? null) !== null;
      const hasOther = (m.audio ?? null) !== null || typeof m.refusal === 'string';
      if (!hasContent && !hasCalls && !hasOther) {
        throw new Invalid(`Invalid value for 'content': expected a string, got null.`,
          `messages.[${i}].content`, null);
      }
      break;
    }
    case 'tool':
      allow(['role', 'content', 'tool_call_id']);
      validateContent(required(m, 'content', param), `${param}.content`, ['text']);
      expectString(required(m, 'tool_call_id', param), `${param}.tool_call_id`);
      // Stirrup sends `name` (null when unknown); api.openai.com ignores it.
      if ('name' in m && m.name !== null) expectString(m.name, `${param}.name`);
      break;
    case 'function':
      allow(['role', 'content', 'name']);
      if (required(m, 'content', param) !== null) expectString(m.content, `${param}.content`);
      expectString(required(m, 'name', param), `${param}.name`);
      break;
    default:
      break;
  }
}

// The pairing rules the API enforces between assistant tool_calls and tool
// messages (it answers these with code null and a dotted param).
function validateToolPairing(messages) {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      const answered = new Set();
      let j = i + 1;
      for (; j < messages.length && messages[j].role === 'tool'; j++) answered.add(messages[j].tool_call_id);
      const missingIds = m.tool_calls.map((tc) => tc.id).filter((id) => !answered.has(id));
      if (missingIds.length > 0) {
        throw new Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to each " +
          `'tool_call_id'. The following tool_call_ids did not have response messages: ${missingIds.join(', ')}`,
        `messages.[${i}].role`, null);
      }
    } else if (m.role === 'tool') {
      let k = i - 1;
      while (k >= 0 && messages[k].role === 'tool') k--;
      const prev = k >= 0 ? messages[k] : null;
      if (!prev || prev.role !== 'assistant' || !Array.isArray(prev.tool_calls)) {
        throw new Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          `messages.[${i}].role`, null);
      }
      if (!prev.tool_calls.some((tc) => tc.id === m.tool_call_id)) {
        throw new Invalid(`Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`,
          `messages.[${i}].tool_call_id`, null);
      }
    }
  }
}

// --- tools -------------------------------------------------------------------

function validateFunctionName(name, param) {
  expectString(name, param);
  if (name.length > 64) {
    throw new Invalid(`Invalid '${param}': string too long. Expected a string with maximum length 64, but got a string with length ${name.length} instead.`,
      param, 'string_above_max_length');
  }
  if (!TOOL_NAME_RE.test(name)) {
    throw new Invalid(`Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
      param, 'invalid_value');
  }
}

function validateTools(tools) {
  expectNonEmptyArray(tools, 'tools');
  tools.forEach((t, i) => {
    const param = `tools[${i}]`;
    expectObject(t, param);
    const type = required(t, 'type', param);
    expectEnum(type, `${param}.type`, ['function', 'custom']);
    if (type === 'function') {
      onlyKeys(t, param, ['type', 'function']);
      const fn = required(t, 'function', param);
      expectObject(fn, `${param}.function`);
      onlyKeys(fn, `${param}.function`, ['name', 'description', 'parameters', 'strict']);
      validateFunctionName(required(fn, 'name', `${param}.function`), `${param}.function.name`);
      if ('description' in fn) expectString(fn.description, `${param}.function.description`);
      if ('parameters' in fn) {
        expectObject(fn.parameters, `${param}.function.parameters`);
        if ('type' in fn.parameters && fn.parameters.type !== 'object') {
          throw new Invalid(`Invalid schema for function '${fn.name}': schema must be a JSON Schema of 'type: "object"', got 'type: "${fn.parameters.type}"'.`,
            `${param}.function.parameters`, 'invalid_function_parameters');
        }
      }
      if ('strict' in fn && fn.strict !== null) expectBool(fn.strict, `${param}.function.strict`);
    } else {
      onlyKeys(t, param, ['type', 'custom']);
      const c = required(t, 'custom', param);
      expectObject(c, `${param}.custom`);
      onlyKeys(c, `${param}.custom`, ['name', 'description', 'format']);
      validateFunctionName(required(c, 'name', `${param}.custom`), `${param}.custom.name`);
      if ('description' in c) expectString(c.description, `${param}.custom.description`);
    }
  });
}

function validateToolChoice(tc, body) {
  if (!('tools' in body) && !('functions' in body)) {
    throw new Invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice', null);
  }
  if (typeof tc === 'string') {
    expectEnum(tc, 'tool_choice', ['none', 'auto', 'required']);
    return;
  }
  if (!isObj(tc)) throw invalidType('tool_choice', 'one of a string or object', tc);
  const type = required(tc, 'type', 'tool_choice');
  expectEnum(type, 'tool_choice.type', ['function', 'custom', 'allowed_tools']);
  if (type === 'function') {
    onlyKeys(tc, 'tool_choice', ['type', 'function']);
    const fn = required(tc, 'function', 'tool_choice');
    expectObject(fn, 'tool_choice.function');
    const name = required(fn, 'name', 'tool_choice.function');
    expectString(name, 'tool_choice.function.name');
    const names = (body.tools ?? []).map((t) => t?.function?.name);
    if (!names.includes(name)) {
      throw new Invalid(`Invalid value for 'tool_choice': tool '${name}' is not among the provided tools.`,
        'tool_choice', 'invalid_value');
    }
  } else if (type === 'custom') {
    onlyKeys(tc, 'tool_choice', ['type', 'custom']);
    expectObject(required(tc, 'custom', 'tool_choice'), 'tool_choice.custom');
    expectString(required(tc.custom, 'name', 'tool_choice.custom'), 'tool_choice.custom.name');
  } else {
    onlyKeys(tc, 'tool_choice', ['type', 'allowed_tools']);
    const at = required(tc, 'allowed_tools', 'tool_choice');
    expectObject(at, 'tool_choice.allowed_tools');
    expectEnum(required(at, 'mode', 'tool_choice.allowed_tools'), 'tool_choice.allowed_tools.mode', ['auto', 'required']);
    if (!Array.isArray(required(at, 'tools', 'tool_choice.allowed_tools'))) {
      throw invalidType('tool_choice.allowed_tools.tools', 'an array', at.tools);
    }
  }
}

// --- the request -----------------------------------------------------------

// Top-level scalar fields: value checks (null is accepted where the SDK types
// say `| null`).
const NULLABLE = new Set(['audio', 'frequency_penalty', 'logprobs', 'max_completion_tokens', 'max_tokens',
  'metadata', 'modalities', 'moderation', 'n', 'prediction', 'presence_penalty', 'prompt_cache_key',
  'prompt_cache_retention', 'reasoning_effort', 'safety_identifier', 'seed', 'service_tier', 'stop', 'store',
  'stream', 'stream_options', 'temperature', 'top_logprobs', 'top_p', 'verbosity']);

function validateScalars(b) {
  const has = (k) => k in b && !(b[k] === null && NULLABLE.has(k));
  if (has('max_completion_tokens')) expectInt(b.max_completion_tokens, 'max_completion_tokens', 1);
  if (has('max_tokens')) expectInt(b.max_tokens, 'max_tokens', 1);
  if (has('n')) expectInt(b.n, 'n', 1, 128);
  if (has('seed')) expectInt(b.seed, 'seed');
  if (has('top_logprobs')) expectInt(b.top_logprobs, 'top_logprobs', 0, 20);
  if (has('temperature')) expectNumber(b.temperature, 'temperature', 0, 2);
  if (has('top_p')) expectNumber(b.top_p, 'top_p', 0, 1);
  if (has('frequency_penalty')) expectNumber(b.frequency_penalty, 'frequency_penalty', -2, 2);
  if (has('presence_penalty')) expectNumber(b.presence_penalty, 'presence_penalty', -2, 2);
  for (const k of ['stream', 'logprobs', 'store', 'parallel_tool_calls']) if (has(k)) expectBool(b[k], k);
  for (const k of ['user', 'safety_identifier', 'prompt_cache_key']) if (has(k)) expectString(b[k], k);
  if (has('reasoning_effort')) expectEnum(b.reasoning_effort, 'reasoning_effort', REASONING_EFFORTS);
  if (has('service_tier')) expectEnum(b.service_tier, 'service_tier', ['auto', 'default', 'flex', 'scale', 'priority']);
  if (has('verbosity')) expectEnum(b.verbosity, 'verbosity', ['low', 'medium', 'high']);
  if (has('prompt_cache_retention')) expectEnum(b.prompt_cache_retention, 'prompt_cache_retention', ['in_memory', '24h']);
  if (has('stop')) {
    if (Array.isArray(b.stop)) {
      if (b.stop.length > 4) {
        throw new Invalid(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${b.stop.length} instead.`,
          'stop', 'array_above_max_length');
      }
      b.stop.forEach((s, i) => expectString(s, `stop[${i}]`));
    } else if (typeof b.stop !== 'string') {
      throw invalidType('stop', 'one of a string or array of strings', b.stop);
    }
  }
  if (has('metadata')) {
    expectObject(b.metadata, 'metadata');
    for (const [k, v] of Object.entries(b.metadata)) expectString(v, `metadata.${k}`);
  }
  if (has('logit_bias')) {
    expectObject(b.logit_bias, 'logit_bias');
    for (const [k, v] of Object.entries(b.logit_bias)) expectNumber(v, `logit_bias.${k}`, -100, 100);
  }
  if (has('modalities')) {
    if (!Array.isArray(b.modalities)) throw invalidType('modalities', 'an array', b.modalities);
    b.modalities.forEach((m, i) => expectEnum(m, `modalities[${i}]`, ['text', 'audio']));
  }
  if (has('response_format')) {
    expectObject(b.response_format, 'response_format');
    const t = required(b.response_format, 'type', 'response_format');
    expectEnum(t, 'response_format.type', ['text', 'json_object', 'json_schema']);
    if (t === 'json_schema') {
      const js = required(b.response_format, 'json_schema', 'response_format');
      expectObject(js, 'response_format.json_schema');
      expectString(required(js, 'name', 'response_format.json_schema'), 'response_format.json_schema.name');
    }
  }
  for (const k of ['audio', 'prediction', 'moderation', 'prompt_cache_options', 'web_search_options']) {
    if (has(k)) expectObject(b[k], k);
  }
  if (has('stream_options')) {
    if (b.stream !== true) {
      throw new Invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        'stream_options', 'invalid_value');
    }
    expectObject(b.stream_options, 'stream_options');
    onlyKeys(b.stream_options, 'stream_options', ['include_usage', 'include_obfuscation']);
    for (const k of ['include_usage', 'include_obfuscation']) {
      if (k in b.stream_options) expectBool(b.stream_options[k], `stream_options.${k}`);
    }
  }
}

/**
 * Validates a parsed chat-completions request body.
 * @param {unknown} body the parsed JSON body
 * @param {{allowFields?: string[], allowMessageFields?: string[]}} [opts]
 * @returns {null | {message: string, type: string, param: string|null, code: string|null}}
 *   null when valid, else the OpenAI error object to answer with HTTP 400.
 */
export function validateChatRequest(body, opts = {}) {
  try {
    validateBody(body, opts);
    return null;
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    return { message: e.message, type: 'invalid_request_error', param: e.param, code: e.code };
  }
}

function validateBody(b, { allowFields = [], allowMessageFields = [] }) {
  if (!isObj(b)) {
    throw new Invalid(`Invalid type for request body: expected an object, but got ${typeName(b)} instead.`, null, 'invalid_type');
  }
  for (const k of Object.keys(b)) {
    if (!TOP_LEVEL_FIELDS.has(k) && !allowFields.includes(k)) {
      throw new Invalid(`Unrecognized request argument supplied: ${k}`, null, null);
    }
  }
  if (!('model' in b)) throw new Invalid('you must provide a model parameter', null, null);
  expectString(b.model, 'model');
  if (b.model.length === 0) throw new Invalid('you must provide a model parameter', null, null);
  if (!('messages' in b)) throw missing('messages');
  expectNonEmptyArray(b.messages, 'messages');
  b.messages.forEach((m, i) => validateMessage(m, i, allowMessageFields));
  validateToolPairing(b.messages);
  if ('tools' in b) validateTools(b.tools);
  if ('tool_choice' in b) validateToolChoice(b.tool_choice, b);
  if ('parallel_tool_calls' in b && !('tools' in b)) {
    throw new Invalid("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
      'parallel_tool_calls', null);
  }
  validateScalars(b);
}

/** The HTTP-level checks: returns null or {status, error}. */
export function checkAuth(headers, apiKey) {
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer (.+)$/.exec(auth) : null;
  if (!m || m[1].trim() === '') {
    return {
      status: 401,
      error: {
        message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        type: 'invalid_request_error', param: null, code: 'invalid_api_key',
      },
    };
  }
  if (apiKey !== undefined && apiKey !== null && m[1] !== apiKey) {
    const shown = m[1].length > 8 ? `${m[1].slice(0, 3)}*****${m[1].slice(-4)}` : '*****';
    return {
      status: 401,
      error: {
        message: `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error', param: null, code: 'invalid_api_key',
      },
    };
  }
  return null;
}

/** Content-Type must be application/json (parameters such as charset allowed). */
export function checkContentType(headers) {
  const ct = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (ct === 'application/json') return null;
  return {
    status: 400,
    error: {
      message: `Invalid Content-Type header (${headers['content-type'] ?? 'none'}), expected application/json. (HINT: If you're using curl, you can pass -H 'Content-Type: application/json')`,
      type: 'invalid_request_error', param: null, code: null,
    },
  };
}

export const INVALID_JSON_MESSAGE = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";
