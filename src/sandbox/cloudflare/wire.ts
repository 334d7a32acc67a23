/**
 * Cloudflare's v4 wire format: every answer is the envelope
 * `{success, errors, messages, result}` (lists add `result_info`), errors are
 * `{code, message}` objects with Cloudflare's numeric codes, and lists are
 * paginated by `page`/`per_page` with an empty page past the end.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface CfZone {
  id: string;
  name: string;
  status: 'initializing' | 'pending' | 'active' | 'moved';
  type: 'full';
  paused: boolean;
  development_mode: number;
  name_servers: string[];
  original_name_servers: string[] | null;
  original_registrar: string | null;
  original_dnshost: string | null;
  account: { id: string; name: string };
  owner: { id: string | null; type: string; email: string | null };
  plan: { id: string; name: string };
  meta: Record<string, unknown>;
  permissions: string[];
  created_on: string;
  modified_on: string;
  activated_on: string | null;
}

export interface CfRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  data?: Record<string, string | number>;
  priority?: number;
  proxiable: boolean;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

export type CfDnssecStatus = 'active' | 'pending' | 'disabled' | 'pending-disabled' | 'error';

export interface CfDnssec {
  status: CfDnssecStatus;
  algorithm: string | null;
  digest: string | null;
  digest_algorithm: string | null;
  digest_type: string | null;
  ds: string | null;
  flags: number | null;
  key_tag: number | null;
  key_type: string | null;
  public_key: string | null;
  modified_on: string | null;
  dnssec_multi_signer: boolean;
  dnssec_presigned: boolean;
  dnssec_use_nsec3: boolean;
}

/** A failed call as Cloudflare reports it: HTTP status plus one `{code, message}`. */
export class CfApiError extends Error {
  readonly status: number;
  readonly code: number;
  /** Further `{code, message}` entries Cloudflare sends in the same `errors` array. */
  readonly more: { code: number; message: string }[];

  constructor(status: number, code: number, message: string, more: { code: number; message: string }[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.more = more;
  }

  /** A zone id that is not one (not 32 hex digits): Cloudflare's router refuses it, 400 with 7003 then 7000. */
  static zoneNotFound(zoneId: string): CfApiError {
    return new CfApiError(400, 7003, `Could not route to /client/v4/zones/${zoneId}, perhaps your object identifier is invalid?`, [
      { code: 7000, message: 'No route for that URI' },
    ]);
  }

  static invalid(code: number, message: string): CfApiError {
    return new CfApiError(400, code, message);
  }
}

export function errorBody(errors: { code: number; message: string }[]): Record<string, unknown> {
  return { success: false, errors, messages: [], result: null };
}

export function fail(c: Context, status: number, code: number, message: string): Response {
  return c.json(errorBody([{ code, message }]), status as ContentfulStatusCode);
}

export function ok(c: Context, result: unknown, resultInfo?: ResultInfo): Response {
  return c.json({ success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) });
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

export function paginate<T>(
  items: T[],
  query: { page?: string | undefined; per_page?: string | undefined },
  limits: { defaultSize: number; min: number; max: number },
): { items: T[]; info: ResultInfo } {
  const page = query.page === undefined ? 1 : Number(query.page);
  const perPage = query.per_page === undefined ? limits.defaultSize : Number(query.per_page);
  if (!Number.isInteger(page) || page < 1) throw CfApiError.invalid(1001, 'Invalid page: must be a positive integer');
  if (!Number.isInteger(perPage) || perPage < limits.min || perPage > limits.max) {
    throw CfApiError.invalid(1001, `Invalid per_page: must be between ${limits.min} and ${limits.max}`);
  }
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    items: slice,
    info: { page, per_page: perPage, count: slice.length, total_count: items.length, total_pages: Math.ceil(items.length / perPage) },
  };
}

/** String filters the way the v4 list endpoints take them: `name=x` or `name.exact=x`, `.contains`, `.startswith`, `.endswith`. */
export function matchesStringFilter(value: string, query: (key: string) => string | undefined, field: string): boolean {
  const v = value.toLowerCase();
  const exact = query(`${field}.exact`) ?? query(field);
  if (exact !== undefined && v !== exact.toLowerCase()) return false;
  const contains = query(`${field}.contains`);
  if (contains !== undefined && !v.includes(contains.toLowerCase())) return false;
  const starts = query(`${field}.startswith`);
  if (starts !== undefined && !v.startsWith(starts.toLowerCase())) return false;
  const ends = query(`${field}.endswith`);
  if (ends !== undefined && !v.endsWith(ends.toLowerCase())) return false;
  return true;
}
