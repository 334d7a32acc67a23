/**
 * Every path id of every route, API and dashboard, malformed one at a time while the others are
 * real: the answer is the not-found answer of an unknown id (404; problem+json from the API, the
 * not-found page from the dashboard), never a 500 from PostgreSQL's `invalid input syntax for
 * type uuid`. The API's list comes from /openapi.json, so a new route is covered by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let staff: string;
let real: Record<string, string>;
let spec: { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> };

const MALFORMED = [
  'not-a-uuid',
  '123',
  '-'.repeat(36),
  '00000000-0000-4000-8000-00000000000g',
  // Forms PostgreSQL itself would read as a UUID, and our ids never take.
  '6f1c2b8e4d3a4c559e1f0a7b3c9d2e10',
  encodeURIComponent('{6f1c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e10}'),
  '6f1c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e10x',
  encodeURIComponent("1' or '1'='1"),
  '%20',
  'x'.repeat(300),
  '999.1.1.1',
];

beforeAll(async () => {
  h = await startHarness();
  owner = await h.customer('path-ids@example.com');
  const { serverId } = await h.readyServer(owner.token, owner.workspaceId, 'path-ids.test');
  const mailbox = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`, { token: owner.token, body: { localPart: 'ids' } });
  const key = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/api-keys`, { token: owner.token, body: { name: 'ids', scopes: ['read'] } });
  const invitation = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/invitations`, {
    token: owner.token,
    body: { email: 'ids-invitee@example.com', role: 'member' },
  });
  staff = await h.staff('path-ids-staff@example.com', 'ops');
  const [user] = await h.database.sql`select id from users where email = 'path-ids@example.com'`;
  const [server] = await h.database.sql`select ipv4 from servers where id = ${serverId}`;
  real = {
    ws: owner.workspaceId,
    id: serverId,
    mb: mailbox.body.mailbox.id,
    userId: user!['id'] as string,
    uid: user!['id'] as string,
    keyId: key.body.apiKey.id,
    invitationId: invitation.body.invitation.id,
    step: 'verify',
    ip: server!['ipv4'] as string,
  };
  spec = (await h.call('GET', '/openapi.json')).body;
}, 180_000);
afterAll(() => h?.close());

const fill = (template: string, bad: string, value: string) =>
  template.replace(/\{(\w+)\}|:(\w+)/g, (_m, a: string | undefined, b: string | undefined) => ((a ?? b) === bad ? value : real[(a ?? b)!]!));
const paramsOf = (template: string) => [...template.matchAll(/\{(\w+)\}|:(\w+)/g)].map((m) => (m[1] ?? m[2])!);

describe('a malformed path id', () => {
  it('answers 404 problem+json on every API route, for every parameter', { timeout: 180_000 }, async () => {
    let checked = 0;
    for (const [template, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const names = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        for (const name of names) {
          for (const value of MALFORMED) {
            const path = fill(template, name, value);
            const token = template.startsWith('/v1/admin') ? staff : owner.token;
            const res = await h.call(method.toUpperCase(), path, { token, ...(method === 'get' || method === 'delete' ? {} : { body: {} }) });
            const where = `${method.toUpperCase()} ${path.slice(0, 120)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
            expect(res.status, where).toBe(404);
            expect(res.headers.get('content-type'), where).toBe('application/problem+json');
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('answers the not-found page on every dashboard page, for every parameter', { timeout: 180_000 }, async () => {
    const pages = [
      'GET /w/:ws',
      'GET /w/:ws/team',
      'GET /w/:ws/api-keys',
      'GET /w/:ws/subscribe',
      'GET /w/:ws/servers/:id',
      'GET /w/:ws/servers/:id/dns',
      'GET /w/:ws/servers/:id/health',
      'GET /w/:ws/servers/:id/mailboxes',
      'GET /w/:ws/servers/:id/settings',
      'GET /w/:ws/servers/:id/settings/autoconfig.xml',
      'POST /w/:ws/rename',
      'POST /w/:ws/invitations',
      'POST /w/:ws/invitations/:id/revoke',
      'POST /w/:ws/members/:uid/role',
      'POST /w/:ws/members/:uid/remove',
      'POST /w/:ws/api-keys/:id/revoke',
      'POST /w/:ws/api-keys/:id/rotate',
      'POST /w/:ws/servers/:id/health/run',
      'POST /w/:ws/servers/:id/mailboxes',
      'POST /w/:ws/servers/:id/mailboxes/:mb/delete',
      'POST /w/:ws/servers/:id/mailboxes/:mb/reset',
      'POST /w/:ws/servers/:id/mailboxes/:mb/export',
      'POST /w/:ws/servers/:id/mailboxes/:mb/webmail',
      'GET /support/servers/:id',
      'POST /support/servers/:id/resume',
      'POST /support/servers/:id/steps/:step/rerun',
      'POST /ops/alerts/:id/acknowledge',
      'POST /ops/alerts/:id/resolve',
      'POST /ops/servers/:id/ips/:ip/rotate',
      'GET /sandbox/mail/:id',
    ];
    for (const line of pages) {
      const [method, template] = line.split(' ') as [string, string];
      for (const name of paramsOf(template).filter((n) => n !== 'step')) {
        for (const value of MALFORMED) {
          const path = fill(template, name, value);
          const token = /^\/(support|ops)\//.test(template) ? staff : owner.token;
          const res = await fetch(`${h.baseUrl}${path}`, {
            method,
            redirect: 'manual',
            headers: {
              cookie: `mailplane_session=${token}`,
              origin: h.baseUrl,
              ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            },
            ...(method === 'POST' ? { body: 'reason=because&role=member&name=x&email=x%40example.com&localPart=x' } : {}),
          });
          await res.text();
          expect(res.status, `${method} ${path.slice(0, 120)}`).toBe(404);
        }
      }
    }
  });
});
