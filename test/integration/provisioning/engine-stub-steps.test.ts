/**
 * The engine alone, on the real test database: every step of the plans replaced by a stub whose
 * behaviour the test sets (instant, failing, retried, waiting, crashing mid-step), the steps'
 * jobs delivered by hand as a worker would (so the order and redeliveries are the test's), and
 * the server's status checked against the transition table (src/servers/status.ts) at each end.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StepContext, StepDefinition } from '../../../provisioning/context.ts';
import { createEngine, startRun, type Engine } from '../../../provisioning/engine.ts';
import { PLANS, type RunKind, type StepName } from '../../../provisioning/plan.ts';
import { WaitingError } from '../../../provisioning/waiting.ts';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { JOBS_CHANNEL } from '../../../src/jobs/wake-up.ts';
import { provisioningRuns, provisioningSteps, servers, workspaces } from '../../../src/db/schema/index.ts';
import { AppError } from '../../../src/errors.ts';
import { suspendServer } from '../../../src/servers/lifecycle.ts';
import { canMoveServer, SERVER_TRANSITIONS } from '../../../src/servers/status.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let engine: Engine;
let workspaceId: string;
/** What each step does this time (default: succeed at once). */
let behaviour: Partial<Record<StepName, (ctx: StepContext) => Promise<void>>> = {};
const ran: string[] = [];

const ALL_STEPS = [...new Set(Object.values(PLANS).flatMap((plan) => Object.keys(plan)))] as StepName[];

beforeAll(async () => {
  h = await startHarness({ workers: false });
  const stubs = Object.fromEntries(
    ALL_STEPS.map((name): [StepName, StepDefinition] => [
      name,
      {
        name,
        maxAttempts: 3,
        async run(ctx) {
          ran.push(name);
          await behaviour[name]?.(ctx);
        },
      },
    ]),
  ) as Record<StepName, StepDefinition>;
  engine = createEngine(h.ctx.provisioning, stubs);
  const [ws] = await h.database.db.insert(workspaces).values({ name: 'engine stubs' }).returning();
  workspaceId = ws!.id;
});
afterAll(async () => h?.close());
beforeEach(() => {
  behaviour = {};
  ran.length = 0;
});

async function newServer(status: 'provisioning' | 'ready' = 'provisioning'): Promise<string> {
  const [server] = await h.database.db
    .insert(servers)
    .values({
      workspaceId,
      planId: 'starter',
      zone: 'fr-par-1',
      domain: `s${Math.random().toString(36).slice(2, 10)}.example`,
      hostname: 'mail.x.example',
      status,
    })
    .returning();
  return server!.id;
}

async function start(serverId: string, kind: RunKind): Promise<string> {
  return h.ctx.database.db.transaction((tx) => startRun(h.ctx.queue, tx, { serverId, kind }));
}

/** Delivers the due steps' jobs, as a worker would, until nothing is due; `limit` stops early. */
async function drive(runId: string, limit = 100): Promise<void> {
  for (let i = 0; i < limit; i++) {
    const due = await h.database.db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, runId));
    const next = due.find((s) => s.status === 'queued' || s.status === 'retrying');
    if (!next) return;
    await engine.handleStepJob({ runId, step: next.name }, { signal: new AbortController().signal });
  }
}

async function state(serverId: string, runId: string) {
  const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
  const [run] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.id, runId));
  const steps = await h.database.db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, runId));
  return { server: server!.status, run: run!.status, steps: Object.fromEntries(steps.map((s) => [s.name, { status: s.status, attempt: s.attempt }])) };
}

describe('the transition table', () => {
  it('lets a suspension end only by reinstatement or deprovisioning, and a deleted server never move', () => {
    const leave = (status: Parameters<typeof canMoveServer>[0]) =>
      Object.keys(SERVER_TRANSITIONS).filter((t) => canMoveServer(status, t as keyof typeof SERVER_TRANSITIONS));
    expect(leave('suspended').sort()).toEqual(['deprovision', 'reinstate']);
    expect(leave('deleted')).toEqual([]);
    expect(leave('failed').sort()).toEqual(['build', 'deprovision']);
  });
});

describe('the engine with stub steps', () => {
  it('instant steps: the run succeeds in plan order and the server becomes ready with its first health run queued', async () => {
    const serverId = await newServer();
    const runId = await start(serverId, 'provision');
    await drive(runId);
    const s = await state(serverId, runId);
    expect([s.server, s.run]).toEqual(['ready', 'succeeded']);
    expect(Object.values(s.steps).every((x) => x.status === 'succeeded' && x.attempt === 1)).toBe(true);
    // Every step ran after the steps it depends on.
    for (const [step, deps] of Object.entries(PLANS.provision)) for (const d of deps) expect(ran.indexOf(d)).toBeLessThan(ran.indexOf(step));
    const [job] = await h.database.sql`select 1 from pgboss.job where name = 'health.check_server' and data->>'serverId' = ${serverId}`;
    expect(job).toBeDefined();
  });

  it("announces all of a run's first steps, so a worker wakes a slot for each (identical NOTIFYs of one transaction fold into one)", async () => {
    const heard: string[] = [];
    let ended: () => void = () => {};
    const end = new Promise<void>((resolve) => (ended = resolve));
    const listening = await h.database.sql.listen(JOBS_CHANNEL, (payload) => {
      if (payload === 'end') ended();
      else heard.push(payload);
    });
    try {
      const roots = Object.entries(PLANS.provision).filter(([, deps]) => deps.length === 0).length;
      expect(roots).toBeGreaterThan(1);
      await start(await newServer(), 'provision');
      // Sent after the run's commit, so heard after everything the run's transaction announced.
      await h.database.sql`select pg_notify(${JOBS_CHANNEL}, 'end')`;
      await end;
      const announced = heard.filter((p) => p.startsWith('provisioning.step:')).reduce((n, p) => n + Number(p.slice(p.lastIndexOf(':') + 1)), 0);
      expect(announced).toBe(roots);
    } finally {
      await listening.unlisten();
    }
  });

  it('dates a run when it is inserted, not when the transaction that starts it began (its first steps wait from then)', async () => {
    const serverId = await newServer();
    const later = await h.ctx.database.db.transaction(async (tx) => {
      // What a caller does before starting the run (the webhook's checks) is not the run's wait.
      await tx.execute(sql`select id from servers where id = ${serverId}`);
      const runId = await startRun(h.ctx.queue, tx, { serverId, kind: 'provision' });
      // now(): when this transaction began; both in microseconds, read inside the transaction.
      const rows = await tx.execute<{ later: boolean }>(sql`select created_at > now() as later from provisioning_runs where id = ${runId}`);
      return rows[0]!.later;
    });
    expect(later).toBe(true);
  });

  it('a failing step fails the run and the server; what depends on it never starts', async () => {
    const serverId = await newServer();
    behaviour.create_server = async () => {
      throw new Error('no capacity');
    };
    const runId = await start(serverId, 'provision');
    await drive(runId);
    const s = await state(serverId, runId);
    expect([s.server, s.run, s.steps['create_server']]).toEqual(['failed', 'failed', { status: 'failed', attempt: 1 }]);
    expect(s.steps['wait_ssh']!.status).toBe('pending');
    expect(ran).not.toContain('wait_ssh');
  });

  it('a retryable failure is retried and the run goes on; past maxAttempts it fails', async () => {
    const serverId = await newServer();
    let calls = 0;
    behaviour.publish_dns = async () => {
      if (++calls < 3) throw new AppError({ code: 'busy', status: 503, title: 'Busy', retryable: true });
    };
    const runId = await start(serverId, 'provision');
    await drive(runId);
    expect((await state(serverId, runId)).steps['publish_dns']).toEqual({ status: 'succeeded', attempt: 3 });

    const other = await newServer();
    behaviour.publish_dns = async () => {
      throw new AppError({ code: 'busy', status: 503, title: 'Busy', retryable: true });
    };
    const failing = await start(other, 'provision');
    await drive(failing);
    const s = await state(other, failing);
    expect([s.server, s.run, s.steps['publish_dns']]).toEqual(['failed', 'failed', { status: 'failed', attempt: 3 }]);
  });

  it('a waiting step parks the server as waiting without spending attempts, and the run continues when it passes', async () => {
    const serverId = await newServer();
    let checks = 0;
    behaviour.activate_zone = async () => {
      if (++checks < 3) throw new WaitingError({ code: 'ns', party: 'customer', message: 'Waiting for nameservers.', action: 'Move them.', recheckMs: 60_000 });
    };
    const runId = await start(serverId, 'provision');
    await drive(runId);
    let s = await state(serverId, runId);
    expect([s.server, s.steps['activate_zone']!.status]).toEqual(['waiting', 'waiting']);
    // The person says they did it: checked now, twice (the second passes).
    for (let i = 0; i < 2; i++) {
      await engine.recheckWaiting(SYSTEM_ACTOR, serverId);
      // The job recheckWaiting queued, delivered.
      await engine.handleStepJob({ runId, step: 'activate_zone' }, { signal: new AbortController().signal });
      await drive(runId);
    }
    s = await state(serverId, runId);
    expect([s.server, s.run, s.steps['activate_zone']]).toEqual(['ready', 'succeeded', { status: 'succeeded', attempt: 1 }]);
  });

  it('a worker that died mid-step: the redelivered job runs the step again in the same attempt and the run finishes', async () => {
    const serverId = await newServer();
    const runId = await start(serverId, 'provision');
    // The first delivery claimed allocate_ips and its process died inside the step: the row is
    // left `running` in attempt 1, as the claim wrote it, and pg-boss delivers the job again.
    await h.database.db
      .update(provisioningSteps)
      .set({ status: 'running', attempt: 1 })
      .where(and(eq(provisioningSteps.runId, runId), eq(provisioningSteps.name, 'allocate_ips')));
    // A second job's first delivery (a re-check beside a scheduled one) leaves a running step to its attempt.
    ran.length = 0;
    await engine.handleStepJob({ runId, step: 'allocate_ips' }, { signal: new AbortController().signal });
    expect(ran).toEqual([]);
    await engine.handleStepJob({ runId, step: 'allocate_ips' }, { signal: new AbortController().signal, retryCount: 1 });
    await drive(runId);
    const s = await state(serverId, runId);
    expect([s.server, s.run, s.steps['allocate_ips']]).toEqual(['ready', 'succeeded', { status: 'succeeded', attempt: 1 }]);
    // A duplicate delivery of a finished step does nothing.
    ran.length = 0;
    await engine.handleStepJob({ runId, step: 'allocate_ips' }, { signal: new AbortController().signal, retryCount: 1 });
    expect(ran).toEqual([]);
  });

  it('a suspension made while a step re-runs on a live server survives the end of the run', async () => {
    const serverId = await newServer();
    const runId = await start(serverId, 'provision');
    await drive(runId);
    expect((await state(serverId, runId)).server).toBe('ready');
    // Support re-runs a step; the Stripe webhook suspends the server while it runs.
    behaviour.harden = async () => {
      expect(await suspendServer(h.ctx, h.database.db, { id: serverId, workspaceId }, SYSTEM_ACTOR, 'Payment failed')).toBe(true);
    };
    await engine.rerunStep(SYSTEM_ACTOR, serverId, 'harden');
    await drive(runId);
    const s = await state(serverId, runId);
    expect([s.server, s.run]).toEqual(['suspended', 'succeeded']);
  });

  it('a run that fails on a suspended server leaves it suspended, and neither a re-run nor a resume unsuspends it', async () => {
    const serverId = await newServer();
    const runId = await start(serverId, 'provision');
    await drive(runId);
    behaviour.harden = async () => {
      await suspendServer(h.ctx, h.database.db, { id: serverId, workspaceId }, SYSTEM_ACTOR, 'Payment failed');
      throw new Error('harden broke');
    };
    await engine.rerunStep(SYSTEM_ACTOR, serverId, 'harden');
    await drive(runId);
    expect(await state(serverId, runId)).toMatchObject({ server: 'suspended', run: 'failed' });
    // Support re-runs the failed step: the run reopens, the server stays suspended.
    await engine.rerunStep(SYSTEM_ACTOR, serverId, 'harden');
    expect(await state(serverId, runId)).toMatchObject({ server: 'suspended', run: 'running' });
    await drive(runId);
    expect(await state(serverId, runId)).toMatchObject({ server: 'suspended', run: 'failed' });
    behaviour = {};
    await engine.resumeRun(SYSTEM_ACTOR, serverId);
    await drive(runId);
    expect(await state(serverId, runId)).toMatchObject({ server: 'suspended', run: 'succeeded' });
  });

  it('a server whose instance reconciliation found gone stays failed when a rotation on it ends', async () => {
    const serverId = await newServer('ready');
    behaviour.attach_replacement_ip = async () => {
      await h.database.db.update(servers).set({ status: 'failed' }).where(eq(servers.id, serverId));
    };
    const runId = await start(serverId, 'rotate_ip');
    await drive(runId);
    expect(await state(serverId, runId)).toMatchObject({ server: 'failed', run: 'succeeded' });
  });
});
