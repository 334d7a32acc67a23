/**
 * What an SSE client missed. Live events travel by pg_notify and are not
 * stored, but everything they announce is in the run and step rows, so a
 * client reconnecting with `Last-Event-ID` (the time of the last event it saw,
 * in ms) gets the transitions after that time rebuilt from those rows, in
 * order, before the live ones. Events of the same millisecond share an id, so
 * the replay starts *at* that time (the last event seen may come again rather
 * than a neighbour be lost). A rebuilt event carries the step's latest attempt
 * only: intermediate retries are not kept anywhere.
 */
import { and, asc, eq, gte, or } from 'drizzle-orm';
import type { ProvisioningEvent } from '../../provisioning/events.ts';
import type { Db } from '../db/client.ts';
import { provisioningRuns, provisioningSteps } from '../db/schema/index.ts';

/** The SSE id of an event: its time in ms. Clients send it back as Last-Event-ID. */
export const eventId = (at: string | Date) => String(typeof at === 'string' ? Date.parse(at) : at.getTime());

/** A Last-Event-ID we issued, as a time; anything else is ignored (no replay). */
export function parseLastEventId(value: string | undefined): Date | null {
  if (!value || !/^\d{1,15}$/.test(value)) return null;
  const at = new Date(Number(value));
  return Number.isNaN(at.getTime()) ? null : at;
}

export async function eventsSince(db: Db, serverId: string, since: Date): Promise<ProvisioningEvent[]> {
  const runs = await db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId)).orderBy(asc(provisioningRuns.createdAt));
  const events: ProvisioningEvent[] = [];
  for (const run of runs) {
    if (run.createdAt >= since) events.push({ serverId, runId: run.id, type: 'run.started', at: run.createdAt.toISOString() });
    const steps = await db
      .select()
      .from(provisioningSteps)
      .where(and(eq(provisioningSteps.runId, run.id), or(gte(provisioningSteps.startedAt, since), gte(provisioningSteps.finishedAt, since))));
    for (const s of steps) {
      if (s.startedAt && s.startedAt >= since)
        events.push({ serverId, runId: run.id, type: 'step.started', step: s.name, attempt: s.attempt, at: s.startedAt.toISOString() });
      if (s.finishedAt && s.finishedAt >= since && (s.status === 'succeeded' || s.status === 'failed')) {
        events.push({
          serverId,
          runId: run.id,
          type: s.status === 'succeeded' ? 'step.succeeded' : 'step.failed',
          step: s.name,
          attempt: s.attempt,
          ...(s.error ? { error: s.error } : {}),
          at: s.finishedAt.toISOString(),
        });
      }
    }
    if (run.finishedAt && run.finishedAt >= since && (run.status === 'succeeded' || run.status === 'failed')) {
      events.push({ serverId, runId: run.id, type: run.status === 'succeeded' ? 'run.succeeded' : 'run.failed', at: run.finishedAt.toISOString() });
    }
  }
  return events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** True when no run of the server is running: no event will come until someone starts one. */
export async function nothingMoreToCome(db: Db, serverId: string): Promise<boolean> {
  const [running] = await db
    .select({ id: provisioningRuns.id })
    .from(provisioningRuns)
    .where(and(eq(provisioningRuns.serverId, serverId), eq(provisioningRuns.status, 'running')))
    .limit(1);
  return running === undefined;
}
