/**
 * The one owner of a server's status. Every change of `servers.status` is one of the named
 * transitions below and is written by moveServer, whose UPDATE names the statuses it may leave
 * (`WHERE status IN (…)`): a writer that raced another (a Stripe webhook suspending the server
 * while a run ends, reconciliation failing it while a rotation finishes) changes nothing instead
 * of writing over it. Callers learn whether their transition happened and act on that.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { servers, type SERVER_STATUSES } from '../db/schema/servers.ts';
import { provisioningRuns, type RUN_STATUSES } from '../db/schema/servers.ts';

export type ServerStatus = (typeof SERVER_STATUSES)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];

interface Transition<S extends string> {
  readonly from: readonly S[];
  readonly to: S;
}

/** Server transitions by name; `from` is every status the transition may leave. */
export const SERVER_TRANSITIONS = {
  /** A run that builds the server starts, resumes or re-runs a step (rebuild, resume, support re-run). */
  build: { from: ['provisioning', 'waiting', 'ready', 'failed'], to: 'provisioning' },
  /** A step waits on a person (nameservers, SMTP opened). */
  wait: { from: ['provisioning', 'waiting'], to: 'waiting' },
  /** Nothing waits any more. */
  wait_over: { from: ['waiting'], to: 'provisioning' },
  /**
   * A run succeeded (ready → ready: a rotation or a step re-run on a live server). Never from
   * suspended (only reinstate leaves a suspension), never from failed (reconciliation's verdict).
   */
  become_ready: { from: ['provisioning', 'waiting', 'ready'], to: 'ready' },
  /** The building (or deprovisioning) run failed for good. */
  fail_run: { from: ['provisioning', 'waiting', 'deprovisioning'], to: 'failed' },
  /** Reconciliation found the instance of a ready server gone at the provider. */
  instance_gone: { from: ['ready'], to: 'failed' },
  /** Billing: unpaid or cancelled, kept (mail still arrives) for the grace period. */
  suspend: { from: ['ready'], to: 'suspended' },
  /** Billing: paid again; the one way back from a suspension. */
  reinstate: { from: ['suspended'], to: 'ready' },
  /** Deprovisioning starts (or a failed deprovisioning is resumed) from anything still alive. */
  deprovision: { from: ['provisioning', 'waiting', 'ready', 'failed', 'suspended', 'deprovisioning'], to: 'deprovisioning' },
  /** The deprovisioning run succeeded. */
  delete: { from: ['deprovisioning'], to: 'deleted' },
} as const satisfies Record<string, Transition<ServerStatus>>;

export type ServerTransition = keyof typeof SERVER_TRANSITIONS;

/** Run transitions by name. */
export const RUN_TRANSITIONS = {
  succeed: { from: ['running'], to: 'succeeded' },
  fail: { from: ['running'], to: 'failed' },
  /** Deprovisioning supersedes whatever was still building. */
  cancel: { from: ['running'], to: 'cancelled' },
  /** A failed run resumed, or any finished run whose step support re-runs. */
  reopen: { from: ['failed', 'succeeded'], to: 'running' },
} as const satisfies Record<string, Transition<RunStatus>>;

export type RunTransition = keyof typeof RUN_TRANSITIONS;

export function canMoveServer(from: ServerStatus, transition: ServerTransition): boolean {
  return (SERVER_TRANSITIONS[transition].from as readonly ServerStatus[]).includes(from);
}

/**
 * Applies a named transition to one server if its current status allows it; returns the server
 * (id, workspace) when it moved, null when its status did not allow it (nothing written).
 * `reason` is the status_reason shown to people (null clears it).
 */
export async function moveServer(
  tx: DbOrTx,
  serverId: string,
  transition: ServerTransition,
  opts: { reason?: string | null; now: Date },
): Promise<{ id: string; workspaceId: string } | null> {
  const t = SERVER_TRANSITIONS[transition];
  const [moved] = await tx
    .update(servers)
    .set({ status: t.to, statusReason: opts.reason ?? null, updatedAt: opts.now })
    .where(and(eq(servers.id, serverId), inArray(servers.status, [...t.from])))
    .returning({ id: servers.id, workspaceId: servers.workspaceId });
  return moved ?? null;
}

/** Applies a named transition to runs matching `where` (one run by id, or a server's running runs). */
export async function moveRuns(
  tx: DbOrTx,
  target: { runId: string } | { serverId: string },
  transition: RunTransition,
  opts: { error?: string | null; now: Date },
): Promise<number> {
  const t = RUN_TRANSITIONS[transition];
  const finished = t.to === 'running' ? null : opts.now;
  const which = 'runId' in target ? eq(provisioningRuns.id, target.runId) : eq(provisioningRuns.serverId, target.serverId);
  const moved = await tx
    .update(provisioningRuns)
    .set({ status: t.to, error: opts.error ?? null, finishedAt: finished })
    .where(and(which, inArray(provisioningRuns.status, [...t.from])))
    .returning({ id: provisioningRuns.id });
  return moved.length;
}
