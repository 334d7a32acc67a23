/**
 * Stripe's v1 wire format: requests are application/x-www-form-urlencoded with
 * bracket notation for nesting (`metadata[plan]=starter`,
 * `line_items[0][price]=price_x`), answers are the bare JSON object, and errors
 * are `{error: {type, code?, message, param?}}` with the HTTP status carrying
 * the class of failure (400/401/402/404/409/429/5xx).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type StripeErrorType = 'invalid_request_error' | 'api_error' | 'idempotency_error' | 'rate_limit_error' | 'card_error';

export class StripeApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly type: StripeErrorType;
  readonly code: string | undefined;
  readonly param: string | undefined;

  constructor(status: ContentfulStatusCode, type: StripeErrorType, message: string, extra: { code?: string; param?: string } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = extra.code;
    this.param = extra.param;
  }

  static invalid(message: string, param?: string): StripeApiError {
    return new StripeApiError(400, 'invalid_request_error', message, { param });
  }

  static missingParam(param: string): StripeApiError {
    return new StripeApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param });
  }

  /** Stripe's answer for an unknown id, and for a subscription that was already cancelled. */
  static missing(what: string, id: string): StripeApiError {
    return new StripeApiError(404, 'invalid_request_error', `No such ${what}: '${id}'`, { code: 'resource_missing', param: 'id' });
  }
}

export function errorBody(type: StripeErrorType, message: string, extra: { code?: string; param?: string } = {}) {
  const error: Record<string, string> = { type, message };
  if (extra.code) {
    error['code'] = extra.code;
    error['doc_url'] = `https://stripe.com/docs/error-codes/${extra.code.replaceAll('_', '-')}`;
  }
  if (extra.param) error['param'] = extra.param;
  return { error };
}

export function fail(c: Context, err: StripeApiError): Response {
  return c.json(errorBody(err.type, err.message, { code: err.code, param: err.param }), err.status);
}

/** Stripe-style ids: a prefix and random base62-ish characters (`cs_test_…`, `sub_…`). */
export function stripeId(prefix: string, length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** `line_items[0][price]` → ['line_items', '0', 'price']. */
function keyPath(key: string): string[] {
  const first = key.indexOf('[');
  if (first < 0) return [key];
  const path = [key.slice(0, first)];
  for (const m of key.slice(first).matchAll(/\[([^\]]*)\]/g)) path.push(m[1]!);
  return path;
}

/** Objects whose keys are all 0..n-1 were arrays on the client (the SDK sends `expand[0]=…`). */
function arraysFromIndexes(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const entries = keys.map((k) => [k, arraysFromIndexes(value[k]!)] as const);
  const indexed =
    keys.length > 0 &&
    keys.every((k) => /^\d+$/.test(k)) &&
    keys
      .map(Number)
      .sort((a, b) => a - b)
      .every((n, i) => n === i);
  if (indexed) return entries.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v);
  return Object.fromEntries(entries);
}

/** Decodes a form body with bracket notation into nested objects and arrays. */
export function decodeForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = keyPath(rawKey);
    let node: FormObject = root;
    for (let i = 0; i < path.length - 1; i++) {
      // `expand[]=a&expand[]=b` appends: give each empty index the next slot.
      const segment = path[i]!;
      const next = node[segment];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
      node = node[segment] as FormObject;
    }
    let last = path[path.length - 1]!;
    if (last === '') last = String(Object.keys(node).length);
    node[last] = value;
  }
  return arraysFromIndexes(root) as FormObject;
}

export async function formBody(c: Context): Promise<FormObject> {
  const text = await c.req.text();
  const type = c.req.header('Content-Type') ?? '';
  if (text !== '' && !type.startsWith('application/x-www-form-urlencoded')) {
    throw StripeApiError.invalid('Invalid request: the body must be application/x-www-form-urlencoded');
  }
  return decodeForm(text);
}

export function optionalString(form: FormObject, key: string): string | null {
  const value = form[key];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string')
    throw new StripeApiError(400, 'invalid_request_error', `Invalid string: ${key}`, { code: 'parameter_invalid_string', param: key });
  return value;
}

/** `metadata[key]=value` pairs; Stripe allows at most 50 keys, key ≤ 40 and value ≤ 500 characters. */
export function metadataParam(value: FormValue | undefined, param: string): Record<string, string> {
  if (value === undefined || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new StripeApiError(400, 'invalid_request_error', `Invalid object`, { param });
  const entries = Object.entries(value);
  if (entries.length > 50) throw new StripeApiError(400, 'invalid_request_error', 'Metadata can have at most 50 keys', { param });
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new StripeApiError(400, 'invalid_request_error', `Invalid string: ${param}[${k}]`, { param: `${param}[${k}]` });
    if (k.length > 40 || v.length > 500) throw new StripeApiError(400, 'invalid_request_error', `Metadata key ${k} is too long`, { param: `${param}[${k}]` });
    out[k] = v;
  }
  return out;
}
