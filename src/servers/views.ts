/** Read models of servers for the API and the CLI. */
import { and, asc, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { dnsRecords, provisioningRuns, provisioningSteps, serverIps, servers } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export type ServerRow = typeof servers.$inferSelect;

export function serverSummary(s: ServerRow) {
  return {
    id: s.id,
    workspaceId: s.workspaceId,
    status: s.status,
    statusReason: s.statusReason,
    zone: s.zone,
    plan: s.planId,
    domain: s.domain,
    hostname: s.hostname,
    ipv4: s.ipv4,
    ipv6: s.ipv6,
    warnings: s.warnings,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export async function listServers(db: Db, where: { workspaceId?: string; status?: string }) {
  const conds: SQL[] = [];
  if (where.workspaceId) conds.push(eq(servers.workspaceId, where.workspaceId));
  if (where.status) conds.push(eq(servers.status, where.status as ServerRow['status']));
  const rows = await db
    .select()
    .from(servers)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(servers.createdAt))
    .limit(500);
  return rows.map(serverSummary);
}

export async function findServer(db: Db, serverId: string, workspaceId?: string): Promise<ServerRow> {
  if (!/^[0-9a-f-]{36}$/i.test(serverId)) throw new NotFoundError('Server');
  const conds = [eq(servers.id, serverId), ...(workspaceId ? [eq(servers.workspaceId, workspaceId)] : [])];
  const [row] = await db
    .select()
    .from(servers)
    .where(and(...conds));
  if (!row) throw new NotFoundError('Server');
  return row;
}

/** The server with its IP history and the steps of its latest run; logs only for staff. */
export async function serverDetail(db: Db, server: ServerRow, opts: { withLogs: boolean }) {
  // Independent reads, issued together: one round trip of latency instead of three.
  const latestRunId = db
    .select({ id: provisioningRuns.id })
    .from(provisioningRuns)
    .where(eq(provisioningRuns.serverId, server.id))
    .orderBy(desc(provisioningRuns.createdAt))
    .limit(1);
  const [[run], latestSteps, ips] = await Promise.all([
    db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, server.id)).orderBy(desc(provisioningRuns.createdAt)).limit(1),
    db.select().from(provisioningSteps).where(inArray(provisioningSteps.runId, latestRunId)).orderBy(asc(provisioningSteps.name)),
    db.select().from(serverIps).where(eq(serverIps.serverId, server.id)).orderBy(asc(serverIps.createdAt)),
  ]);
  // A run started between the two reads: read the steps of the run we show.
  const steps = latestSteps.every((st) => st.runId === run?.id)
    ? latestSteps
    : run
      ? await db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run.id)).orderBy(asc(provisioningSteps.name))
      : [];
  return {
    ...serverSummary(server),
    nameServers: server.nameServers ?? [],
    dnssec: { status: server.dnssecStatus, ds: server.dnssecDs },
    ips: ips.map((ip) => ({
      address: ip.address,
      family: ip.family,
      state: ip.state,
      listings: ip.listings,
      checkedAt: iso(ip.checkedAt),
      createdAt: ip.createdAt.toISOString(),
      releasedAt: iso(ip.releasedAt),
    })),
    // What provisioning waits for and on whom (nameservers to set, outbound SMTP to open), with what to do.
    waitingFor: steps.filter((s) => s.status === 'waiting' && s.waitingFor).map((s) => ({ step: s.name, ...s.waitingFor! })),
    run: run
      ? { id: run.id, kind: run.kind, status: run.status, error: run.error, createdAt: run.createdAt.toISOString(), finishedAt: iso(run.finishedAt) }
      : null,
    steps: steps.map((s) => ({
      name: s.name,
      status: s.status,
      attempt: s.attempt,
      dependsOn: s.dependsOn,
      error: s.error,
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      nextAttemptAt: iso(s.nextAttemptAt),
      durationMs: s.durationMs,
      waitingFor: s.waitingFor ?? null,
      ...(opts.withLogs ? { log: s.log, output: s.output } : {}),
    })),
  };
}

export async function publishedRecords(db: Db, serverId: string) {
  return db
    .select()
    .from(dnsRecords)
    .where(and(eq(dnsRecords.serverId, serverId), inArray(dnsRecords.state, ['published'])))
    .orderBy(asc(dnsRecords.purpose));
}
