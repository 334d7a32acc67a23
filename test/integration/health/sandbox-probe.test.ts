/**
 * The sandbox's probe answers health checks from the rows provisioning wrote. Each question is one
 * indexed lookup (at 10,000 servers, reading the whole table per question was the fleet's largest
 * cost in PostgreSQL), and a deleted server whose address or name another now has answers nothing.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, workspaces } from '../../../src/db/schema/index.ts';
import { recordedServerQuery, SandboxProbe } from '../../../src/health/sandbox-probe.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
let workspaceId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const [ws] = await database.db.insert(workspaces).values({ name: 'probe' }).returning();
  workspaceId = ws!.id;
});
afterAll(async () => database?.close());

const base = { planId: 'starter', zone: 'fr-par-1', tlsSpkiSha256: 'spki' } as const;

describe('SandboxProbe', () => {
  it('answers for the live server, not a deleted one that had the same address and name', async () => {
    // The deleted one first, so a lookup that ignores status meets it first in the heap.
    await database.db.insert(servers).values([
      { ...base, workspaceId, domain: 'old.example', hostname: 'mail.same.example', status: 'deleted', ipv4: '100.64.9.9', ipv6: '2001:db8::9' },
      { ...base, workspaceId, domain: 'same.example', hostname: 'mail.same.example', status: 'ready', ipv4: '100.64.9.9', ipv6: '2001:db8::9' },
      { ...base, workspaceId, domain: 'gone.example', hostname: 'mail.gone.example', status: 'deleted', ipv4: '100.64.9.10' },
    ]);
    const probe = new SandboxProbe({ db: database.db });
    // No step of the live server has succeeded yet: closed, and no certificate (its issue_tls never ran).
    expect(await probe.portState('100.64.9.9')).toBe('closed');
    const [live] = await database.db.execute<{ domain: string }>(recordedServerQuery('100.64.9.9'));
    expect(live!.domain).toBe('same.example');
    const [byV6] = await database.db.execute<{ domain: string }>(recordedServerQuery('2001:db8::9'));
    expect(byV6!.domain).toBe('same.example');
    const [byName] = await database.db.execute<{ domain: string }>(recordedServerQuery('mail.same.example'));
    expect(byName!.domain).toBe('same.example');
    expect([...(await database.db.execute(recordedServerQuery('100.64.9.10')))]).toHaveLength(0);
    expect(await probe.mtaStsPolicy('mta-sts.gone.example')).toBeNull();
  });

  it('finds a server by address, hostname or domain through an index', async () => {
    await database.db.execute(sql`
      insert into servers (workspace_id, plan_id, zone, domain, hostname, status, ipv4, ipv6)
      select ${workspaceId}, 'starter', 'fr-par-1', 'd' || i || '.example', 'mail.d' || i || '.example', 'ready',
        '100.65.' || (i / 256) || '.' || (i % 256), '2001:db8:1::' || to_hex(i)
      from generate_series(1, 3000) i`);
    await database.db.execute(sql`analyze servers`);
    for (const host of ['100.65.3.7', '2001:db8:1::a', 'mail.d77.example', 'mta-sts.d78.example']) {
      const [plan] = await database.db.execute<{ 'QUERY PLAN': unknown }>(sql`explain (format json) ${recordedServerQuery(host)}`);
      const scans = serverScans((plan!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
      expect(scans.length, host).toBeGreaterThan(0);
      for (const scan of scans) expect(scan['Node Type'], host).toMatch(/^(Index|Index Only|Bitmap Heap) Scan$/);
    }
  }, 60_000);
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan that reads the servers table. */
function serverScans(node: PlanNode): PlanNode[] {
  const own = node['Relation Name'] === 'servers' ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(serverScans)];
}
