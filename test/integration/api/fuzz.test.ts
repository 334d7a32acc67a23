/**
 * Property-based fuzzing of every operation in /openapi.json, over real HTTP,
 * against the product on the sandbox with a provisioned, ready server (so ids
 * in paths can be real and requests reach deep code). Each generated request
 * mixes values shaped by the operation's own schema with hostile ones: wrong
 * types, NUL, lone surrogates, invalid UTF-8 bytes, huge strings, boundary
 * numbers, unknown and prototype-polluting fields, wrong content types.
 *
 * Properties: never a 5xx; every error is RFC 9457 problem+json; a refused
 * request (4xx) leaves the database as it was. Afterwards no log line of the
 * whole run (provisioning included) holds a password, hash, token, private key
 * or query parameter list. Three sweeps no random sample can be trusted to hit:
 * JSON nested 8,000 deep (arrays and objects) on every operation, every path
 * parameter of every operation malformed in each of a fixed list of ways, and
 * every operation's body cut short over a raw socket (closed, then reset):
 * none may answer 5xx or log an error.
 *
 * CI runs a fixed seed and FUZZ_RUNS (default 8) requests per operation;
 * `FUZZ_RUNS=500 FUZZ_SEED=$RANDOM npx vitest run test/integration/api/fuzz.test.ts`
 * runs longer, and a failure prints its seed and path to replay it.
 */
import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { runBackup } from '../../../src/backups/run-backup.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 8);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  required?: string[];
};
interface Operation {
  method: string;
  path: string;
  params: Array<{ name: string; in: string; schema?: Schema }>;
  body: Schema | null;
  eventStream: boolean;
}

/**
 * Tables written on purpose while a request is refused (the audit trail of failed sign-ins, the
 * sign-in throttle) or by the workers in the background whatever the API does (a backup or a
 * restore an earlier, accepted request queued records its run while later requests are refused;
 * the fleet sweep's drift checks record what each host runs; the minute sweeps move each server's
 * next health run, blacklist check and usage collection on).
 */
const UNWATCHED = [
  'audit_log',
  'login_attempts',
  '__drizzle_migrations',
  'blacklist_checks',
  'server_checks',
  'server_notices',
  'sandbox_mail',
  'backup_runs',
  'backup_restores',
  'server_stacks',
  'server_schedules',
];

const logLines: string[] = [];
const secrets = new Set<string>();
let h: Harness;
let spec: { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } };
let ids: Record<string, string[]>;
let tokens: { owner: string; staff: string };
let provisioned: string;

beforeAll(async () => {
  h = await startHarness({
    logLines,
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '1000000', RATE_LIMIT_API_PER_MINUTE: '1000000', PASSWORD_EXPORTS_PER_HOUR: '1000000' },
  });
  // A full provisioning, so the log check covers it and paths can name a ready server.
  const owner = await h.customer('fuzz-owner@example.com');
  const { serverId } = await h.subscribe(owner.token, owner.workspaceId, 'fuzz-mail.test');
  const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
  provisioned = server.status;
  // A mailbox only on a ready server; the sync must finish so the workers are idle while the database is watched.
  let mailboxId = '00000000-0000-4000-8000-000000000000';
  if (provisioned === 'ready') {
    const mailbox = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`, {
      token: owner.token,
      body: { localPart: 'fuzzbox' },
    });
    expect(mailbox.status).toBe(201);
    mailboxId = mailbox.body.mailbox.id;
    secrets.add(mailbox.body.password);
    for (let i = 0; i < 300; i++) {
      const [row] = await h.database.sql`select sync_status from mailboxes where id = ${mailboxId}`;
      if (row!['sync_status'] === 'applied') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // The server's backup repository and its secrets exist before the database is watched: the backups
  // that accepted requests queue only add runs then.
  if (provisioned === 'ready') await runBackup(h.ctx.backups, serverId, 'manual');
  const key = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/api-keys`, { token: owner.token, body: { name: 'fuzz', scopes: ['read'] } });
  const invitation = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/invitations`, {
    token: owner.token,
    body: { email: 'invitee@example.com', role: 'member' },
  });
  const staff = await h.staff('fuzz-staff@example.com', 'ops');
  for (const s of [owner.token, staff, key.body.key, invitation.body.token, STRONG_PASSWORD]) secrets.add(s);
  const [user] = await h.database.sql`select id, password_hash from users where email = 'fuzz-owner@example.com'`;
  secrets.add(user!['password_hash'] as string);
  const [alert] = await h.database.sql`select id from alerts limit 1`;
  tokens = { owner: owner.token, staff };
  ids = {
    ws: [owner.workspaceId],
    id: [serverId],
    mb: [mailboxId],
    userId: [user!['id'] as string],
    step: ['install_mail_stack', 'verify'],
    ip: [server.ipv4 ?? '192.0.2.1'],
    alertId: alert ? [alert['id'] as string] : [],
  };
  const res = await fetch(`${h.baseUrl}/openapi.json`);
  spec = (await res.json()) as typeof spec;
}, 240_000);
afterAll(() => h?.close());

/** A digest per application table, computed inside PostgreSQL. */
async function fingerprint(): Promise<Record<string, string>> {
  const rows = await h.database.sql`
    select tablename, (xpath('/row/d/text()', query_to_xml(format(
      'select md5(coalesce(string_agg(x::text, %L order by x::text), %L)) as d from %I x', ',', '', tablename), false, true, '')))[1]::text as digest
    from pg_tables where schemaname = 'public' and not (tablename = any(${UNWATCHED}))`;
  return Object.fromEntries(rows.map((r) => [r['tablename'] as string, r['digest'] as string]));
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = op.requestBody?.content?.['application/json']?.schema ?? null;
      const eventStream = Object.values(op.responses ?? {}).some((r: any) => r?.content?.['text/event-stream']);
      ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body, eventStream });
    }
  }
  return ops;
}

const resolve = (s: Schema): Schema => (s.$ref ? resolve(spec.components!.schemas![s.$ref.split('/').at(-1)!]!) : s);

const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    '\ufffe',
    '../../etc/passwd',
    '%00',
    '%ff',
    '<script>alert(1)</script>',
    "' or 1=1 --",
    '\r\nX-Injected: 1',
    '😀📬',
    '',
    ' ',
    '__proto__',
    'constructor',
    '$argon2id$v=19$m=1',
    '-1',
    '0',
    'null',
    'true',
    '1e309',
    '١٢٣',
  ),
  fc.constantFrom('x'.repeat(300), 'é'.repeat(5000), 'y'.repeat(200_000)),
);
/** Valid JSON that a recursive walk cannot survive (16 KB each); the limit is 64 levels. */
const DEEP_BODIES = ['['.repeat(8_000) + ']'.repeat(8_000), '{"a":'.repeat(8_000) + '1' + '}'.repeat(8_000), `{"name":${'['.repeat(65)}${']'.repeat(65)}}`];
/** Ids no route can hold: not UUIDs, or UUIDs in spellings PostgreSQL would read and our schemas do not take. */
const MALFORMED_IDS = [
  'not-a-uuid',
  '0',
  '-'.repeat(36),
  '00000000-0000-4000-8000-00000000000g',
  '6f1c2b8e4d3a4c559e1f0a7b3c9d2e10',
  encodeURIComponent('{6f1c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e10}'),
  '6f1c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e10x',
  encodeURIComponent("1' or '1'='1"),
  '999.1.1.1',
  'x'.repeat(300),
];
const boundaryNumber = fc.constantFrom(0, -1, 1, -0, 0.5, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, Number.MIN_VALUE);
const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    hostileString,
    boundaryNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'prototype')), tie('value'), { maxKeys: 3 }),
  ),
})).value;

function fromSchema(raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!raw || depth > 4) return anyJson;
  const s = resolve(raw);
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return fc.oneof(...variants.map((v) => fromSchema(v, depth + 1)));
  if (s.allOf) return fromSchema(s.allOf[0], depth + 1);
  if (s.enum) return fc.constantFrom(...s.enum);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      if (s.format === 'email') return fc.emailAddress();
      if (s.format === 'uuid') return fc.uuid();
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 60) });
    case 'integer':
      return fc.integer({ min: s.minimum ?? -10, max: s.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -10, max: s.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(s.items, depth + 1), { maxLength: 3 });
    case 'object': {
      const props = s.properties ?? {};
      const shaped = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, depth + 1)]));
      return fc.record(shaped, { requiredKeys: s.required?.filter((k) => k in props) ?? [] });
    }
    default:
      return anyJson;
  }
}

/** Mostly schema-shaped (to get past validation), sometimes anything at all. */
const valueFor = (s: Schema | undefined, depth = 0) => fc.oneof({ weight: 3, arbitrary: fromSchema(s, depth) }, { weight: 2, arbitrary: anyJson });

interface Fuzzed {
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

function request(op: Operation): fc.Arbitrary<Fuzzed> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const pathArb = fc.tuple(
    ...pathParams.map((p) =>
      fc.oneof(
        { weight: 4, arbitrary: ids[p.name]?.length ? fc.constantFrom(...ids[p.name]!) : fc.uuid() },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: hostileString.filter((v) => v.length > 0 && v.length < 2000).map((v) => encodeURIComponent(v.isWellFormed() ? v : 'x')) },
        { weight: 1, arbitrary: fc.constantFrom('%00', '%ff', '%ed%a0%80', '..%2f..', '%2e%2e', ...MALFORMED_IDS) },
      ),
    ),
  );
  const queryArb = fc.array(
    fc.tuple(
      queryParams.length ? fc.oneof(fc.constantFrom(...queryParams.map((p) => p.name)), fc.string({ maxLength: 6 })) : fc.string({ maxLength: 6 }),
      fc.oneof(
        hostileString.map((v) => (v.isWellFormed() ? encodeURIComponent(v) : '%ed%a0%80')),
        fc.constantFrom('%00', '%ff', 'open', 'acknowledged', '1'),
      ),
    ),
    { maxLength: 3 },
  );
  const bodyArb: fc.Arbitrary<{ body: string | Buffer | undefined; type: string | undefined }> = op.body
    ? fc.oneof(
        { weight: 8, arbitrary: valueFor(op.body).map((v) => ({ body: JSON.stringify(v) ?? 'null', type: 'application/json' })) },
        {
          weight: 1,
          arbitrary: fc.constant({
            body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xfd, 0x22, 0x7d]),
            type: 'application/json',
          }),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(
              '{"a":',
              '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
              '{"__proto__":{"admin":true}}',
              '',
              ...DEEP_BODIES,
            )
            .map((b) => ({ body: b, type: 'application/json' })),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1')
            .map((type) => ({ body: 'name=x%00&a=%ff', type })),
        },
      )
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant({ body: undefined, type: undefined }) },
        { weight: 1, arbitrary: anyJson.map((v) => ({ body: JSON.stringify(v) ?? 'null', type: 'application/json' })) },
        { weight: 1, arbitrary: fc.constantFrom(...DEEP_BODIES).map((b) => ({ body: b, type: 'application/json' })) },
      );
  const authArb = fc.constantFrom<'owner' | 'staff' | 'none' | 'garbage'>('owner', 'owner', 'owner', 'staff', 'none', 'garbage');
  return fc.record({ pathValues: pathArb, query: queryArb, body: bodyArb, auth: authArb }).map(({ pathValues, query, body, auth }) => {
    let path = op.path;
    pathParams.forEach((p, i) => {
      path = path.replace(`{${p.name}}`, String(pathValues[i]));
    });
    const headers: Record<string, string> = {};
    if (auth === 'owner') headers['authorization'] = `Bearer ${tokens.owner}`;
    if (auth === 'staff') headers['authorization'] = `Bearer ${tokens.staff}`;
    if (auth === 'garbage') headers['authorization'] = 'Bearer \u00ff\u00fe';
    if (body.type) headers['content-type'] = body.type;
    return { path, query: query.map(([k, v]) => `${encodeURIComponent(k.isWellFormed() ? k : 'k')}=${v}`).join('&'), headers, body: body.body };
  });
}

/** The operation's path with the real ids, except where `override` gives a value. */
function fillPath(op: Operation, override: (name: string) => string | null): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => override(name) ?? ids[name]?.[0] ?? '00000000-0000-4000-8000-000000000000');
}

/** Headers and the first bytes of a JSON body announced as 1 KB, then the socket is closed (FIN) or reset (RST). */
function cutShort(method: string, path: string, how: 'close' | 'reset', requestId: string): Promise<void> {
  const url = new URL(h.baseUrl);
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${tokens.owner}\r\nContent-Type: application/json\r\n` +
          `Content-Length: 1024\r\nX-Request-Id: ${requestId}\r\n\r\n{"name":"cut sh`,
        () => {
          if (how === 'reset') socket.resetAndDestroy();
          else socket.end();
          resolve();
        },
      );
    });
    socket.on('error', reject);
  });
}

async function send(op: Operation, r: Fuzzed): Promise<{ status: number; type: string | null; text: string }> {
  const url = `${h.baseUrl}${r.path}${r.query ? `?${r.query}` : ''}`;
  const controller = new AbortController();
  const res = await fetch(url, { method: op.method, headers: r.headers, body: op.method === 'GET' ? undefined : r.body, signal: controller.signal });
  const type = res.headers.get('content-type');
  // An event stream stays open by design: its headers are the answer.
  if (type?.startsWith('text/event-stream')) {
    controller.abort();
    return { status: res.status, type, text: '' };
  }
  return { status: res.status, type, text: await res.text() };
}

describe('fuzzing every operation of /openapi.json', () => {
  it('runs against a fully provisioned server', async () => {
    const failures = await h.database.sql`select name, error from provisioning_steps where status = 'failed'`;
    expect(provisioned, JSON.stringify(failures)).toBe('ready');
  });

  // The sweeps run before the random requests, which may sign the owner out or erase the workspace.
  it('refuses JSON nested 8,000 deep, of arrays and of objects, on every operation with 400', { timeout: 120_000 }, async () => {
    for (const op of operations().filter((o) => o.method !== 'GET')) {
      for (const body of DEEP_BODIES.slice(0, 2)) {
        const r: Fuzzed = {
          path: fillPath(op, () => null),
          query: '',
          headers: { authorization: `Bearer ${tokens.owner}`, 'content-type': 'application/json' },
          body,
        };
        const res = await send(op, r);
        const where = `${op.method} ${op.path} with ${body.slice(0, 12)}… → ${res.status}: ${res.text.slice(0, 200)}`;
        expect(res.status, where).toBe(400);
        expect(res.type, where).toBe('application/problem+json');
        expect(JSON.parse(res.text).detail, where).toMatch(/deeper than 64 levels/);
      }
    }
  });

  it('answers a malformed id in any path parameter of any operation with 404 problem+json', { timeout: 300_000 }, async () => {
    let tried = 0;
    for (const op of operations()) {
      for (const param of op.params.filter((p) => p.in === 'path')) {
        for (const bad of MALFORMED_IDS) {
          const token = op.path.startsWith('/v1/admin') ? tokens.staff : tokens.owner;
          const body = op.body ? '{}' : undefined;
          const r: Fuzzed = {
            path: fillPath(op, (name) => (name === param.name ? bad : null)),
            query: '',
            headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
            body,
          };
          const res = await send(op, r);
          const where = `${op.method} ${r.path.slice(0, 150)} → ${res.status}: ${res.text.slice(0, 200)}`;
          expect(res.status, where).toBe(404);
          expect(res.type, where).toBe('application/problem+json');
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(200);
  });

  it('treats a body cut short over a raw socket (closed or reset) as the client leaving: never a 5xx, never an error logged', {
    timeout: 300_000,
  }, async () => {
    let n = 0;
    for (const op of operations().filter((o) => o.method !== 'GET')) {
      for (const how of ['close', 'reset'] as const) {
        const requestId = `fuzz-cut-${String(++n).padStart(4, '0')}`;
        await cutShort(
          op.method,
          fillPath(op, () => null),
          how,
          requestId,
        );
        await vi.waitFor(
          () => {
            if (!logLines.some((l) => l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"request"')))
              throw new Error(`${op.method} ${op.path}: no access log line yet`);
          },
          { timeout: 10_000, interval: 20 },
        );
        const lines = logLines
          .filter((l) => l.includes(`"requestId":"${requestId}"`))
          .map((l) => JSON.parse(l) as { level: number; msg: string; status?: number });
        const access = lines.find((l) => l.msg === 'request')!;
        expect(access.status, `${op.method} ${op.path} (${how})`).toBeLessThan(500);
        expect(
          lines.filter((l) => l.level >= 50),
          `${op.method} ${op.path} (${how})`,
        ).toEqual([]);
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('never answers 5xx, answers every error as problem+json, and changes nothing when it refuses', { timeout: 600_000 }, async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(30);
    const counts = { requests: 0, refused: 0 };
    for (const [i, op] of ops.entries()) {
      await fc.assert(
        fc.asyncProperty(request(op), async (r) => {
          const before = await fingerprint();
          const res = await send(op, r);
          counts.requests++;
          const where = `${op.method} ${r.path.slice(0, 200)}?${r.query.slice(0, 200)} → ${res.status}: ${res.text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          if (res.status >= 400) {
            counts.refused++;
            expect(res.type, where).toBe('application/problem+json');
            const problem = JSON.parse(res.text);
            expect(problem, where).toMatchObject({ status: res.status, type: expect.any(String), title: expect.any(String) });
            const after = await fingerprint();
            const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
            expect(changed, `${where}: a refused request changed the database`).toEqual([]);
          }
        }),
        { numRuns: RUNS, seed: SEED + i, endOnFailure: true },
      );
    }
    expect(counts.refused).toBeGreaterThan(counts.requests / 2);
  });

  it('leaves no secret, hash, token, private key or query parameter list in any log line', () => {
    expect(logLines.length).toBeGreaterThan(100);
    const all = logLines.join('\n');
    for (const secret of secrets) expect(all.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the log`).toBe(false);
    expect(all).not.toMatch(/\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}/);
    expect(all).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(all).not.toMatch(/\nparams: |"params":|"parameters":/);
    expect(all).not.toMatch(/Bearer [A-Za-z0-9._~+/-]{20,}/);
  });
});
