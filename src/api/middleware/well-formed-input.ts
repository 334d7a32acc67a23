/**
 * Refuses text that cannot be stored faithfully, before any route sees it:
 * bytes that are not UTF-8 (a lenient decoder would silently turn them into
 * U+FFFD), lone surrogates (`"\ud800"` is valid JSON but not valid text), and
 * NUL characters (PostgreSQL text cannot hold U+0000, so they would surface as
 * a 500 from the database). Path, query and JSON or form bodies are checked;
 * the answer is the usual 400 problem naming where the bad text was. JSON that
 * nests deeper than MAX_JSON_DEPTH is refused the same way.
 */
import type { MiddlewareHandler } from 'hono';
import { ValidationError } from '../../errors.ts';
import type { AppEnv } from '../env.ts';

interface Finding {
  path: string;
  message: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function problemOf(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!text.isWellFormed()) return 'contains a lone surrogate (not valid Unicode text)';
  return null;
}

/** decodeURIComponent refuses percent-encoded bytes that are not UTF-8, unlike URLSearchParams. */
function decodeStrict(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return null;
  }
}

function checkUrlEncoded(encoded: string, where: string, findings: Finding[]): void {
  if (encoded === '') return;
  for (const pair of encoded.split('&')) {
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decodeStrict(rawKey);
    const value = decodeStrict(rawValue);
    const name = key !== null && problemOf(key) === null ? key : '(parameter name)';
    if (key === null || value === null) findings.push({ path: `${where}.${name}`, message: 'is not valid percent-encoded UTF-8' });
    else {
      const problem = problemOf(key) ?? problemOf(value);
      if (problem) findings.push({ path: `${where}.${name}`, message: problem });
    }
  }
}

/**
 * Deeper than any body this API or Stripe sends (a Stripe event nests about eight levels).
 * A limit, because every later consumer of the value (zod, pino, JSON.stringify) recurses.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Walks the parsed body with an explicit stack, never recursion: `[` × 8,000 is 16 KB of
 * valid JSON, and a recursive walk over it overflows the call stack (a 500 for anyone).
 */
function checkJsonValue(root: unknown, findings: Finding[]): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: 'json', depth: 0 }];
  while (stack.length > 0 && findings.length < 20) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = problemOf(value);
      if (problem) findings.push({ path, message: problem });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      findings.push({ path: 'json', message: `nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}.${i}`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, v] = entries[i]!;
      const keyProblem = problemOf(k);
      if (keyProblem) findings.push({ path: `${path}.(key)`, message: keyProblem });
      else stack.push({ value: v, path: `${path}.${k}`, depth: depth + 1 });
    }
  }
}

export function wellFormedInput(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const findings: Finding[] = [];
    const url = c.req.url;
    const queryAt = url.indexOf('?');
    const pathname = new URL(url).pathname;
    const path = decodeStrict(pathname);
    if (path === null) findings.push({ path: 'path', message: 'is not valid percent-encoded UTF-8' });
    else {
      const problem = problemOf(path);
      if (problem) findings.push({ path: 'path', message: problem });
    }
    if (queryAt !== -1) checkUrlEncoded(url.slice(queryAt + 1).split('#')[0]!, 'query', findings);

    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const isJson = type === 'application/json' || type.endsWith('+json');
    const isForm = type === 'application/x-www-form-urlencoded';
    if ((isJson || isForm) && c.req.raw.body) {
      // Read once through Hono's body cache, so the validator and handlers get the same bytes.
      // A body-limit error thrown by the read propagates to the body-limit middleware.
      const bytes = await c.req.arrayBuffer();
      let text: string | null = null;
      try {
        text = strictUtf8.decode(bytes);
      } catch {
        findings.push({ path: isJson ? 'json' : 'form', message: 'is not valid UTF-8' });
      }
      if (text !== null && isForm) checkUrlEncoded(text, 'form', findings);
      if (text !== null && isJson) {
        let parsed: unknown;
        let ok = true;
        try {
          parsed = JSON.parse(text);
        } catch {
          ok = false; // malformed JSON is the validator's to refuse, with its own message
        }
        if (ok) checkJsonValue(parsed, findings);
      }
    }

    if (findings.length > 0) {
      throw new ValidationError(findings.map((f) => `${f.path}: ${f.message}`).join('; '), { errors: findings });
    }
    await next();
  };
}
