/**
 * What customers and support see of provisioning: the plans and regions, the
 * checkout's up-front validation, live step events over SSE, the server
 * detail, the DNS view (expected records against what DNS answers, DNSSEC and
 * the nameservers to set), and the staff-only admin views.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let customer: { token: string; workspaceId: string };

beforeAll(async () => {
  h = await startHarness();
  customer = await h.customer('views@example.com');
}, 60_000);
afterAll(async () => {
  await h?.close();
});

/** Reads SSE events until `stop` says enough (or the stream ends). */
async function readEvents(
  url: string,
  token: string,
  stop: (events: { event: string; data: any; id?: string }[]) => boolean,
  signal: AbortSignal,
  lastEventId?: string,
) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: { event: string; data: any; id?: string }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let idx = buffer.indexOf('\n\n'); idx >= 0; idx = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      const id = /^id: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data), ...(id !== undefined ? { id } : {}) });
    }
    if (stop(events)) break;
  }
  await reader.cancel().catch(() => {});
  return events;
}

describe('provisioning as customers and support see it', () => {
  let serverId: string;

  it('lists plans and EU regions, and validates a checkout before calling Stripe', async () => {
    const plans = await h.call('GET', '/v1/plans');
    expect(plans.status).toBe(200);
    expect(plans.body.plans.length).toBeGreaterThan(0);
    // A bigger plan gives each mailbox at least as much room as a smaller one (pooled storage).
    const quota = Object.fromEntries(plans.body.plans.map((p: { id: string; mailboxQuotaGb: number }) => [p.id, p.mailboxQuotaGb]));
    expect(quota).toEqual({ starter: 10, business: 20 });
    const regions = await h.call('GET', '/v1/regions');
    expect(regions.body.regions.map((r: { zone: string }) => r.zone)).toEqual(expect.arrayContaining(['fr-par-1', 'nl-ams-1', 'pl-waw-1']));
    const path = `/v1/workspaces/${customer.workspaceId}/checkout`;
    const sessionsBefore = h.sandbox.stripe!.sessions().length;
    for (const body of [
      { plan: 'starter', region: 'us-east-1', domain: 'ok.example' },
      { plan: 'nope', region: 'fr-par-1', domain: 'ok.example' },
      { plan: 'starter', region: 'fr-par-1', domain: 'not a domain' },
      { plan: 'starter', region: 'fr-par-1', domain: 'evil\n.example' },
      { plan: 'starter', region: 'fr-par-1', domain: 'ev$il.example' },
    ]) {
      const res = await h.call('POST', path, { token: customer.token, body });
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(h.sandbox.stripe!.sessions().length).toBe(sessionsBefore);
  });

  it('streams step events over SSE from checkout to ready', async () => {
    const abort = new AbortController();
    ({ serverId } = await h.subscribe(customer.token, customer.workspaceId, 'views-mail.example'));
    const url = `${h.baseUrl}/v1/workspaces/${customer.workspaceId}/servers/${serverId}/events`;
    const events = await readEvents(url, customer.token, (ev) => ev.some((e) => e.data?.step === 'verify' && /succeeded/.test(e.event)), abort.signal);
    abort.abort();
    expect(events[0]!.event).toBe('snapshot');
    const names = new Set(events.filter((e) => e.event !== 'snapshot').map((e) => e.data.step));
    expect([...names]).toEqual(expect.arrayContaining(['create_server', 'publish_dns', 'verify']));
    await h.waitForServer(serverId, ['ready']);
  }, 90_000);

  it("gives every event an id, replays what a client missed from Last-Event-ID, and ends a finished server's stream", async () => {
    const url = `${h.baseUrl}/v1/workspaces/${customer.workspaceId}/servers/${serverId}/events`;
    // The run is over: the stream says so and closes by itself (readEvents returns at its end).
    const finished = await readEvents(url, customer.token, () => false, AbortSignal.timeout(10_000));
    expect(finished.map((e) => e.event)).toEqual(['snapshot', 'end']);
    expect(finished.every((e) => /^\d+$/.test(e.id ?? ''))).toBe(true);
    // A client that saw the run up to create_server's start reconnects with that event's id.
    const [started] = await h.database
      .sql`select s.started_at from provisioning_steps s join provisioning_runs r on r.id = s.run_id where r.server_id = ${serverId} and s.name = 'create_server'`;
    const lastEventId = String(new Date(started!['started_at'] as string).getTime());
    const replay = await readEvents(url, customer.token, () => false, AbortSignal.timeout(10_000), lastEventId);
    expect(replay[0]).toMatchObject({ event: 'step.started', data: { step: 'create_server' } });
    expect(replay.map((e) => `${e.event}:${e.data.step ?? ''}`)).toEqual(
      expect.arrayContaining(['step.succeeded:create_server', 'step.succeeded:verify', 'run.succeeded:']),
    );
    expect(replay.some((e) => e.data.step === 'allocate_ips' && e.event === 'step.started')).toBe(false);
    expect(replay.at(-1)!.event).toBe('end');
    const ids = replay.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  }, 30_000);

  it('shows the server with its IPs and steps, and the DNS view with live answers', async () => {
    const detail = await h.call('GET', `/v1/workspaces/${customer.workspaceId}/servers/${serverId}`, { token: customer.token });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: serverId, status: 'ready', domain: 'views-mail.example', hostname: 'mail.views-mail.example', zone: 'fr-par-1' });
    expect(detail.body.ips.filter((ip: { state: string }) => ip.state === 'active')).toHaveLength(2);
    expect(detail.body.steps.every((s: { status: string; durationMs: number | null }) => s.status === 'succeeded')).toBe(true);
    expect(detail.body.steps[0]).not.toHaveProperty('log');

    const dns = await h.call('GET', `/v1/workspaces/${customer.workspaceId}/servers/${serverId}/dns`, { token: customer.token });
    expect(dns.status).toBe(200);
    expect(dns.body.nameServers.length).toBeGreaterThan(0);
    expect(dns.body.instructions).toContain(dns.body.nameServers[0]);
    expect(dns.body.dnssec.ds).toBeTruthy();
    const types = dns.body.records.map((r: { type: string }) => r.type);
    expect(types).toEqual(expect.arrayContaining(['A', 'AAAA', 'MX', 'TXT', 'CAA', 'SSHFP', 'TLSA']));
    const checked = dns.body.records.filter((r: { live: { matches: boolean | null } }) => r.live.matches !== null);
    expect(checked.length).toBeGreaterThan(5);
    expect(checked.every((r: { live: { matches: boolean } }) => r.live.matches)).toBe(true);
  });

  it('keeps other workspaces out and lets only staff use the admin views', async () => {
    const outsider = await h.customer('outsider-views@example.com');
    expect((await h.call('GET', `/v1/workspaces/${customer.workspaceId}/servers/${serverId}`, { token: outsider.token })).status).toBe(404);
    expect((await h.call('GET', `/v1/workspaces/${outsider.workspaceId}/servers/${serverId}`, { token: outsider.token })).status).toBe(404);
    expect((await h.call('GET', '/v1/admin/servers', { token: customer.token })).status).toBe(403);

    const support = await h.staff('support-views@example.com', 'support');
    const list = await h.call('GET', '/v1/admin/servers?status=ready', { token: support });
    expect(list.status).toBe(200);
    expect(list.body.servers.map((s: { id: string }) => s.id)).toContain(serverId);
    const failed = await h.call('GET', '/v1/admin/servers?status=failed', { token: support });
    expect(failed.body.servers.map((s: { id: string }) => s.id)).not.toContain(serverId);
    const one = await h.call('GET', `/v1/admin/servers/${serverId}`, { token: support });
    expect(one.status).toBe(200);
    expect(one.body.steps.find((s: { name: string }) => s.name === 'install_mail_stack').log).toMatch(/uploaded \d+ files/);
    // A run that did not fail cannot be resumed.
    expect((await h.call('POST', `/v1/admin/servers/${serverId}/resume`, { token: support })).status).toBe(409);
    expect((await h.call('POST', `/v1/admin/servers/${serverId}/steps/not_a_step/rerun`, { token: support })).status).toBeGreaterThanOrEqual(400);
  });

  // Every answer above was also checked against these schemas by the harness (test/support/response-contract.ts).
  it('documents the server, DNS, export and fleet answers as named, typed components of /openapi.json', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const schemas = doc.components.schemas as Record<string, { type?: string; properties?: object; additionalProperties?: unknown }>;
    const jsonOf = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(jsonOf('/v1/workspaces/{ws}/servers/{id}', 'get', '200')).toEqual(ref('ServerDetail'));
    expect(jsonOf('/v1/workspaces/{ws}/servers/{id}/dns', 'get', '200')).toEqual(ref('DnsView'));
    expect(jsonOf('/v1/workspaces/{ws}/servers', 'get', '200').properties.servers.items).toEqual(ref('ServerSummary'));
    expect(jsonOf('/v1/me/export', 'get', '200')).toEqual(ref('GdprExport'));
    expect(jsonOf('/v1/admin/servers', 'get', '200').properties.servers.items).toEqual(ref('ServerSummary'));
    expect(jsonOf('/v1/admin/servers/{id}', 'get', '200')).toEqual(ref('ServerDetail'));
    expect(jsonOf('/v1/admin/servers/{id}/stack', 'get', '200')).toEqual(ref('ServerStack'));
    expect(jsonOf('/v1/admin/rollouts', 'get', '200').properties.rollouts.items).toEqual(ref('RolloutSummary'));
    expect(jsonOf('/v1/admin/rollouts/{id}', 'get', '200')).toEqual(ref('Rollout'));
    // No answer of the API is an untyped bag any more: a body, or the items of a list in it, that is
    // an object with no documented properties would be `record<string, unknown>` again.
    const untyped = (s: { type?: string; properties?: object; $ref?: string } | undefined) =>
      s !== undefined && s.$ref === undefined && s.type === 'object' && s.properties === undefined;
    const bags: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { responses?: Record<string, any> }>>)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, res] of Object.entries(op.responses ?? {})) {
          const body = res.content?.['application/json']?.schema;
          const lists = Object.values(body?.properties ?? {}).map((p: any) => p.items);
          if (untyped(body) || lists.some(untyped)) bags.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(bags).toEqual([]);
    for (const name of ['ServerSummary', 'ServerDetail', 'DnsView', 'GdprExport', 'ServerStack', 'RolloutSummary', 'Rollout']) {
      expect(Object.keys(schemas[name]?.properties ?? schemas[name] ?? {}).length, name).toBeGreaterThan(0);
    }
  });
});
