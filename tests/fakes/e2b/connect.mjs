// The Connect protocol (https://connectrpc.com/docs/protocol), JSON codec
// only, as envd speaks it: unary calls are a bare JSON body answered with
// `application/json`; server-streaming calls carry 5-byte envelopes
// (flags:u8, length:u32 big-endian, JSON) in both directions, always answered
// with HTTP 200 and ended by an EndStreamResponse envelope (flags 0x02).
// See ../../../../shared/notes/e2b-protocol.md §3 and §5.1.

// Connect code -> HTTP status of a unary error (protocol spec "Error Codes").
export const CODE_STATUS = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

// An RPC failure with a Connect code; handlers throw it, the dispatcher
// answers it (unary: status + JSON body; streaming: in the end-stream message).
export class ConnectError extends Error {
  constructor(code, message) {
    super(message);
    if (!(code in CODE_STATUS)) throw new Error(`bad Connect code ${code}`);
    this.code = code;
  }
  toJSON() { return { code: this.code, message: this.message }; }
}

export const FLAG_COMPRESSED = 0x01;
export const FLAG_END_STREAM = 0x02;

export function envelope(flags, obj) {
  const json = Buffer.from(JSON.stringify(obj));
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

// Splits a request body into envelopes; throws ConnectError on a malformed body
// (a truncated envelope, or compression we never negotiated).
export function parseEnvelopes(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 5) throw new ConnectError('invalid_argument', 'protocol error: incomplete envelope');
    const flags = buf[off];
    const len = buf.readUInt32BE(off + 1);
    if (buf.length - off - 5 < len) throw new ConnectError('invalid_argument', 'protocol error: incomplete envelope');
    if (flags & FLAG_COMPRESSED) throw new ConnectError('internal', 'protocol error: received compressed message without negotiated compression');
    out.push({ flags, data: buf.subarray(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  return out;
}

// Parses one JSON message; an empty body is the empty message.
export function parseMessage(data) {
  if (data.length === 0) return {};
  let v;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new ConnectError('invalid_argument', `unmarshal message: ${e.message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConnectError('invalid_argument', 'unmarshal message: not a JSON object');
  return v;
}

// ---------------------------------------------------------------------------
// proto3 JSON mapping helpers. Parsers accept lowerCamelCase and the original
// snake_case names, int64 as strings or numbers, enums as names or numbers,
// standard and URL-safe base64 -- as protojson does.

export function field(obj, camel, snake) {
  if (obj == null || typeof obj !== 'object') return undefined;
  if (obj[camel] !== undefined) return obj[camel];
  if (snake !== undefined && obj[snake] !== undefined) return obj[snake];
  return undefined;
}

export function asString(v, name) {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ConnectError('invalid_argument', `invalid value for string field ${name}: ${JSON.stringify(v)}`);
  return v;
}

export function asUint(v, name) {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ConnectError('invalid_argument', `invalid value for uint32 field ${name}: ${JSON.stringify(v)}`);
  return n;
}

export function asBytes(v, name) {
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw new ConnectError('invalid_argument', `invalid value for bytes field ${name}: ${JSON.stringify(v)}`);
  return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function asEnum(v, names, name) {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v in names) return names[v];
  throw new ConnectError('invalid_argument', `invalid value for enum field ${name}: ${JSON.stringify(v)}`);
}

export function asStringMap(v, name) {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConnectError('invalid_argument', `invalid value for map field ${name}`);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new ConnectError('invalid_argument', `invalid value for map field ${name}[${k}]`);
  }
  return { ...v };
}

// google.protobuf.Timestamp as protojson writes it: RFC 3339 UTC with 0, 3, 6
// or 9 fractional digits. `ns` is a BigInt of nanoseconds since the epoch.
export function timestamp(ns) {
  const sec = ns / 1000000000n;
  const frac = Number(ns % 1000000000n);
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  if (frac === 0) return `${base}Z`;
  let digits = String(frac).padStart(9, '0');
  if (digits.endsWith('000000')) digits = digits.slice(0, 3);
  else if (digits.endsWith('000')) digits = digits.slice(0, 6);
  return `${base}.${digits}Z`;
}
