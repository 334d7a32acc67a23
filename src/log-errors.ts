/**
 * How an error is written to the log. pino's standard serializer copies every
 * enumerable property and the whole message and stack, and database errors
 * carry the failed statement's bound values there: drizzle's
 * DrizzleQueryError puts `params: …` in its message and a `params` array on
 * itself, PostgreSQL echoes a refused value in messages such as
 * `invalid input syntax for type integer: "…"` and in its DETAIL. Those values
 * are password hashes, token hashes and user input, so this serializer keeps
 * what helps a reader (type, message, SQL text with placeholders, SQLSTATE,
 * table and constraint names, stack frames, the cause chain) and drops the rest.
 */

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

/** Properties that may hold bound values, row contents or request bodies. */
const DROPPED = new Set(['params', 'parameters', 'args', 'detail', 'where', 'hint', 'internal_query', 'body', 'data', 'response', 'request', 'config']);

/** Database error fields that name things rather than hold values. */
const KEPT_DB_FIELDS = ['code', 'severity', 'routine', 'schema_name', 'table_name', 'column_name', 'constraint_name', 'data_type'];

const SIMPLE = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Cuts drizzle's `\nparams: …` suffix and PostgreSQL's trailing echo of a refused value. */
export function scrubErrorMessage(message: string): string {
  const paramsAt = message.search(/\nparams: /);
  let m = paramsAt === -1 ? message : message.slice(0, paramsAt);
  m = m.replace(/: "[\s\S]*"$/, ': "[redacted]"');
  return m;
}

function isDbError(err: Error): boolean {
  return err.name === 'PostgresError' || err.constructor?.name === 'DrizzleQueryError' || 'params' in err || 'parameters' in err;
}

function frames(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  // The first lines repeat the (unscrubbed) message; the frames start at the first "    at ".
  const at = stack.indexOf('\n    at ');
  return at === -1 ? undefined : stack.slice(at + 1);
}

export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const message = scrubErrorMessage(err.message);
  const out: SerializedError = { type: err.constructor?.name || err.name, message };
  const rest = frames(err.stack);
  out.stack = rest ? `${err.name}: ${message}\n${rest}` : `${err.name}: ${message}`;
  const record = err as unknown as Record<string, unknown>;
  if (isDbError(err)) {
    for (const k of KEPT_DB_FIELDS) if (SIMPLE(record[k]) && record[k] !== undefined) out[k] = record[k];
    // drizzle's `query` is the SQL text with $n placeholders; postgres.js keeps its own as `query.string`.
    if (typeof record['query'] === 'string') out['query'] = record['query'];
  } else {
    for (const [k, v] of Object.entries(record)) {
      if (k === 'cause' || k === 'stack' || k === 'message' || DROPPED.has(k)) continue;
      if (SIMPLE(v) || (Array.isArray(v) && v.every(SIMPLE))) out[k] = v;
      else if (Array.isArray(v)) out[k] = depth < 5 ? v.map((e) => serializeError(e, depth + 1)) : v.length;
      else if (v instanceof Error) out[k] = depth < 5 ? serializeError(v, depth + 1) : v.name;
      else if (v && typeof v === 'object') out[k] = v; // redaction paths still apply to nested objects
    }
  }
  if (err.cause !== undefined && depth < 5) out['cause'] = serializeError(err.cause, depth + 1);
  return out;
}
