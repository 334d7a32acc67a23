/**
 * The workflow engine: runs are DAGs of steps, each step one pg-boss job.
 *
 * Durability: every state change and the jobs it implies are written in one
 * transaction (the run row is locked, so two steps finishing at once cannot
 * both miss or both enqueue a dependent). A worker killed mid-step loses its
 * heartbeat; pg-boss hands the job to another worker, which finds the step
 * still `running` and runs it again — steps are idempotent by contract.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../src/audit.ts';
import { audit, SYSTEM_ACTOR } from '../src/audit.ts';
import type { Db, Tx } from '../src/db/client.ts';
import { provisioningRuns, provisioningSteps, servers } from '../src/db/schema/index.ts';
import { inPipelinedTransaction, inTransaction, type RawTx } from './engine-transaction.ts';
import { AppError, ConflictError, NotFoundError } from '../src/errors.ts';
import type { JobQueue, JobTx } from '../src/jobs/queue.ts';
import { backoffMs } from './backoff.ts';
import type { ProvisioningDeps, RunRow, StepDefinition } from './context.ts';
import { EVENTS_CHANNEL, publishEvent } from './events.ts';
import { liveRerunRefusal } from './live-reruns.ts';
import { LIVE_SERVER_RUNS, PLANS, type RunKind, type StepName } from './plan.ts';
import { WaitingError } from './waiting.ts';
import { moveRuns, moveServer } from '../src/servers/status.ts';
import type { StepWait } from '../src/db/schema/servers.ts';

export const LOG_LIMIT = 64 * 1024;

/** The claim statement's row (snake_case: postgres.js, not drizzle; timestamps as text, see drizzle's postgres-js driver). */
interface ClaimRow {
  id: string;
  server_id: string;
  kind: RunRow['kind'];
  status: RunRow['status'];
  error: string | null;
  params: Record<string, unknown>;
  created_at: string;
  finished_at: string | null;
  step_id: string | null;
  attempt: number | null;
  log: string | null;
  waiting_for: StepWait | null;
}

type Steps = Record<StepName, StepDefinition>;

/** One job per step attempt (and per re-check of a waiting step) even if two code paths race to enqueue it. */
const stepJobKey = (runId: string, step: string, attempt: number, check?: number | string) =>
  `${runId}:${step}:${attempt}${check === undefined ? '' : `:check${check}`}`;

async function enqueueStep(queue: JobQueue, tx: JobTx, runId: string, step: string, attempt: number, delayMs = 0, check?: number | string): Promise<void> {
  await queue.send(
    'provisioning.step',
    { runId, step },
    {
      tx,
      singletonKey: stepJobKey(runId, step, attempt, check),
      ...(delayMs > 0 ? { startAfterSeconds: delayMs / 1000 } : {}),
    },
  );
}

/** Creates a run with all its steps and enqueues the roots, inside the caller's transaction. */
export async function startRun(queue: JobQueue, tx: Tx, input: { serverId: string; kind: RunKind; params?: Record<string, unknown> }): Promise<string> {
  const plan = PLANS[input.kind];
  if (input.kind === 'deprovision') {
    // Whatever was still being built stops here; the deprovision steps wait for in-flight steps (see deprovision.ts).
    await moveRuns(tx, { serverId: input.serverId }, 'cancel', { error: 'superseded by deprovisioning', now: new Date() });
  }
  const [run] = await tx
    .insert(provisioningRuns)
    // Created when inserted (clock_timestamp), not when the caller's transaction began (now(), the column's
    // default): a run started by the Stripe webhook would otherwise be dated before the webhook's own checks,
    // and its first steps' wait would count work that is not the engine's.
    .values({ serverId: input.serverId, kind: input.kind, params: input.params ?? {}, createdAt: sql`clock_timestamp()` })
    .returning({ id: provisioningRuns.id });
  const runId = run!.id;
  const names = Object.keys(plan);
  await tx.insert(provisioningSteps).values(
    names.map((name) => ({
      runId,
      name,
      dependsOn: [...plan[name]!],
      status: plan[name]!.length === 0 ? ('queued' as const) : ('pending' as const),
    })),
  );
  // One insert and one announcement for all the roots: announced one by one, their NOTIFYs would carry
  // the same payload and PostgreSQL folds identical notifications of a transaction into one, so only
  // one slot woke and the other roots waited for a poll or for that slot to finish (wake-up.ts).
  const roots = names.filter((name) => plan[name]!.length === 0);
  await queue.sendMany(
    'provisioning.step',
    roots.map((name) => ({ data: { runId, step: name }, singletonKey: stepJobKey(runId, name, 1) })),
    { tx },
  );
  await publishEvent(tx, { serverId: input.serverId, runId, type: 'run.started' });
  return runId;
}

class LogBuffer {
  private text: string;
  constructor(initial: string) {
    this.text = initial;
  }
  add(line: string): void {
    this.text += `${new Date().toISOString()} ${line.replace(/\s+$/, '')}\n`;
    if (this.text.length > LOG_LIMIT) this.text = `…\n${this.text.slice(this.text.length - LOG_LIMIT + 2)}`;
  }
  toString(): string {
    return this.text;
  }
}

export interface Engine {
  /**
   * `retryCount` > 0: pg-boss delivers the job again (its worker died, or it expired), so a step
   * found `running` is that dead attempt, taken over. A first delivery that finds the step running
   * (a second job for it: a scheduled re-check and a "check now") leaves it to the live attempt.
   */
  handleStepJob(data: { runId: string; step: string }, job: { signal: AbortSignal; retryCount?: number }): Promise<void>;
  rerunStep(actor: Actor, serverId: string, step: string): Promise<{ runId: string }>;
  resumeRun(actor: Actor, serverId: string): Promise<{ runId: string; requeued: string[] }>;
  /**
   * A person says they did what a waiting step waits for (moved the nameservers, got SMTP opened):
   * every waiting step of the latest run is checked now instead of at its next scheduled check.
   */
  recheckWaiting(actor: Actor, serverId: string): Promise<{ runId: string; steps: string[] }>;
}

export function createEngine(deps: ProvisioningDeps, steps: Steps): Engine {
  const { database, queue, clock } = deps;
  const db = database.db;

  /**
   * Marks the step running and reads its server: one statement (prepared, autocommitted) that
   * locks the run, claims the step if the run is running and publishes step.started (pg_notify in
   * its RETURNING), sent beside the server's SELECT, so the claim costs one round trip of latency.
   * A run that is not running (a cancelled run's job coming back) takes the slow path below.
   */
  // Prepared once: one round trip per claim instead of two.
  const serverOfRun = db
    .select()
    .from(servers)
    .where(eq(servers.id, sql`(select server_id from provisioning_runs where id = ${sql.placeholder('runId')})`))
    .prepare('engine_server_of_run');

  async function claim(runId: string, step: string, takeOver: boolean) {
    const at = new Date().toISOString();
    const [rows, [server]] = await Promise.all([
      database.sql<ClaimRow[]>`
        with run as (
          select id, server_id, kind, status, error, params, created_at, finished_at
          from provisioning_runs where id = ${runId} for update
        ), claimed as (
          update provisioning_steps s
          set status = 'running', attempt = case when s.status = 'running' then s.attempt else s.attempt + 1 end,
              started_at = ${new Date(clock.now()).toISOString()}::timestamptz, next_attempt_at = null
          from run
          where s.run_id = run.id and run.status = 'running' and s.name = ${step}
            and (s.status in ('queued', 'retrying', 'waiting') or (s.status = 'running' and ${takeOver}::boolean))
          returning s.id, s.attempt, s.log, s.waiting_for, pg_notify(${EVENTS_CHANNEL}, json_build_object(
            'serverId', run.server_id, 'runId', run.id, 'type', 'step.started', 'step', s.name, 'attempt', s.attempt, 'at', ${at}::text)::text) as published
        )
        select run.id, run.server_id, run.kind, run.status, run.error, run.params, run.created_at, run.finished_at,
          claimed.id as step_id, claimed.attempt, claimed.log, claimed.waiting_for
        from run left join claimed on true`,
      serverOfRun.execute({ runId }),
    ]);
    const found = rows[0];
    if (!found) return null;
    if (found.status !== 'running') {
      await settleStepOfStoppedRun(runId, step);
      return null;
    }
    // Already finished (a duplicate delivery), or not yet due (pending): nothing was claimed.
    if (!found.step_id) return null;
    const run: RunRow = {
      id: found.id,
      serverId: found.server_id,
      kind: found.kind,
      status: found.status,
      error: found.error,
      params: found.params,
      createdAt: new Date(found.created_at),
      finishedAt: found.finished_at ? new Date(found.finished_at) : null,
    };
    return { run, step: { id: found.step_id, name: step, attempt: found.attempt!, log: found.log!, waitingFor: found.waiting_for }, server: server ?? null };
  }

  /** A cancelled run's step whose job comes back (a retry, or a dead worker's job) settles as cancelled. */
  async function settleStepOfStoppedRun(runId: string, step: string) {
    await inTransaction(database, async (tx) => {
      const [run] = await tx.select().from(provisioningRuns).where(eq(provisioningRuns.id, runId)).for('update');
      if (run?.status !== 'cancelled') return;
      const [row] = await tx
        .select()
        .from(provisioningSteps)
        .where(and(eq(provisioningSteps.runId, runId), eq(provisioningSteps.name, step)));
      if (row && ['queued', 'running', 'retrying', 'waiting'].includes(row.status)) {
        await tx
          .update(provisioningSteps)
          .set({ status: 'failed', error: 'run cancelled', finishedAt: new Date(clock.now()) })
          .where(eq(provisioningSteps.id, row.id));
        // Nobody needs to act for a server that is going away.
        if (row.waitingFor?.alertKey) await deps.alerts.resolve(tx, row.waitingFor.alertKey);
      }
    });
  }

  /**
   * The step succeeded. One transaction: BEGIN and four prepared statements sent together (one round
   * trip of latency; PostgreSQL runs them in order, so the run is locked before anything else): the run
   * locked, the step marked succeeded (step.succeeded published in the same statement), every
   * pending step whose dependencies have all succeeded marked queued, whatever their number, and
   * what is left of the run; then one insert for the dependents' jobs.
   */
  async function succeed(
    run: RunRow,
    step: { id: string; name: string; waitingFor: StepWait | null },
    log: string,
    output: Record<string, unknown>,
    durationMs: number,
  ) {
    const runId = run.id;
    const taken = await inPipelinedTransaction(database, async (tx, raw) => {
      const at = new Date().toISOString();
      const [[locked], , ready, [left]] = await Promise.all([
        raw<
          { status: string; kind: string; params: Record<string, unknown> }[]
        >`select status, kind, params from provisioning_runs where id = ${runId} for update`,
        raw`update provisioning_steps set status = 'succeeded', finished_at = ${new Date(clock.now()).toISOString()}::timestamptz, log = ${log},
              output = ${JSON.stringify(output)}::jsonb, error = null, retryable = null, duration_ms = ${durationMs}, waiting_for = null
            where id = ${step.id}
            returning pg_notify(${EVENTS_CHANNEL}, json_build_object('serverId', ${run.serverId}::text, 'runId', ${runId}::text, 'type', 'step.succeeded', 'step', ${step.name}::text, 'at', ${at}::text)::text)`,
        raw<{ name: string; attempt: number }[]>`update provisioning_steps d set status = 'queued'
            where d.run_id = ${runId} and d.status = 'pending'
              and exists (select 1 from provisioning_runs r where r.id = ${runId} and r.status = 'running')
              -- every dependency succeeded: none is missing from the run's succeeded steps
              and not exists (select 1 from unnest(d.depends_on) as dep(name)
                where dep.name not in (select done.name from provisioning_steps done where done.run_id = ${runId} and done.status = 'succeeded'))
            returning d.name, d.attempt`,
        raw<{ remaining: number; waiting: number }[]>`select count(*) filter (where status <> 'succeeded')::int as remaining,
            count(*) filter (where status = 'waiting')::int as waiting from provisioning_steps where run_id = ${runId}`,
      ]);
      if (step.waitingFor) await endWait(tx, run.serverId, runId, step.name, step.waitingFor, (left?.waiting ?? 0) > 0);
      if (locked?.status !== 'running') return null;
      // The next ready step is taken for this handler slot in the same round trip (and committed
      // with the rest): the slot runs it right after this commit, with no fetch of its own.
      const next = await queue.sendManyAndTake(
        'provisioning.step',
        ready.map((d) => ({ data: { runId, step: d.name }, singletonKey: stepJobKey(runId, d.name, d.attempt + 1) })),
        raw,
      );
      if (left?.remaining === 0) {
        await moveRuns(tx, { runId }, 'succeed', { now: new Date(clock.now()) });
        // A suspension or a reconciliation's verdict made meanwhile is not written over (the
        // transition's `from` does not include them); a server that stayed ready (a rotation, a
        // step re-run on a live server) stays ready and gets its health run all the same.
        const became = await moveServer(tx, run.serverId, locked.kind === 'deprovision' ? 'delete' : 'become_ready', { now: new Date(clock.now()) });
        // The first health run comes with `ready` (committed together), not a sweep later.
        if (became && locked.kind !== 'deprovision')
          await queue.send('health.check_server', { serverId: run.serverId }, { tx: raw, singletonKey: run.serverId });
        await publishEvent(tx, { serverId: run.serverId, runId, type: 'run.succeeded' });
        await tellRollout(queue, raw, locked);
      }
      return next;
    });
    queue.carry(taken);
  }

  async function fail(runId: string, stepRow: { id: string; name: string; attempt: number }, err: unknown, log: string, maxAttempts: number) {
    const appErr = err instanceof AppError ? err : null;
    const message = err instanceof Error ? err.message : String(err);
    const retry = (appErr?.retryable ?? false) && stepRow.attempt < maxAttempts;
    await inTransaction(database, async (tx, raw) => {
      const [run] = await tx.select().from(provisioningRuns).where(eq(provisioningRuns.id, runId)).for('update');
      if (retry) {
        // The one retry mailplane still schedules by hand (every queue's other retries are pg-boss's,
        // src/jobs/catalog.ts): the attempt count is the step row's (reruns and resumes start it
        // afresh, waits give theirs back), support sees the next attempt, and a provider's 429 can
        // ask (Retry-After) for longer than any backoff: pg-boss's retry delay cannot be told that.
        const delay = backoffMs(stepRow.attempt, {
          ...deps.settings.retry,
          retryAfterMs: appErr?.retryAfterMs,
          ...(deps.random ? { random: deps.random } : {}),
        });
        await tx
          .update(provisioningSteps)
          .set({ status: 'retrying', error: message, retryable: true, log, nextAttemptAt: new Date(clock.now() + delay) })
          .where(eq(provisioningSteps.id, stepRow.id));
        await enqueueStep(queue, raw, runId, stepRow.name, stepRow.attempt + 1, delay);
        await publishEvent(tx, { serverId: run!.serverId, runId, type: 'step.retrying', step: stepRow.name, attempt: stepRow.attempt, error: message });
        return;
      }
      await tx
        .update(provisioningSteps)
        .set({ status: 'failed', finishedAt: new Date(clock.now()), error: message, retryable: appErr?.retryable ?? false, log })
        .where(eq(provisioningSteps.id, stepRow.id));
      const reason = `${stepRow.name} failed after ${stepRow.attempt} attempt(s): ${message}`;
      if (run!.status === 'running') {
        await moveRuns(tx, { runId }, 'fail', { error: reason, now: new Date(clock.now()) });
        if (run!.kind === 'rotate_ip') {
          // The server still serves on its old address: it stays ready (and monitored); ops are told instead.
          await deps.alerts.open(tx, {
            kind: 'ip_rotation_failed',
            severity: 'warning',
            serverId: run!.serverId,
            dedupeKey: `rotation:${runId}`,
            message: `IP rotation of server ${run!.serverId} failed: ${reason}`,
            details: { runId, step: stepRow.name },
          });
        } else if (run!.kind === 'rotate_dkim' || run!.kind === 'roll_tls_key') {
          // The server still signs / serves with its current key: it stays ready; ops are told.
          const what =
            run!.kind === 'rotate_dkim' ? { kind: 'dkim_rotation_failed', name: 'DKIM rotation' } : { kind: 'tls_rollover_failed', name: 'TLS key rollover' };
          await deps.alerts.open(tx, {
            kind: what.kind,
            severity: 'warning',
            serverId: run!.serverId,
            dedupeKey: `${run!.kind}:${runId}`,
            message: `${what.name} of server ${run!.serverId} failed: ${reason}`,
            details: { runId, step: stepRow.name },
          });
        } else if (!LIVE_SERVER_RUNS.has(run!.kind as RunKind)) {
          // (A failed upgrade is put back on its previous version by its rollout.)
          await moveServer(tx, run!.serverId, 'fail_run', { reason, now: new Date(clock.now()) });
        }
        await tellRollout(queue, raw, run!);
      }
      await publishEvent(tx, { serverId: run!.serverId, runId, type: 'step.failed', step: stepRow.name, attempt: stepRow.attempt, error: message });
      await publishEvent(tx, { serverId: run!.serverId, runId, type: 'run.failed', error: reason });
    });
  }

  /** The step waits on a person: parked, re-checked later, the attempt given back. */
  async function park(runId: string, stepRow: { id: string; name: string; attempt: number; waitingFor: StepWait | null }, err: WaitingError, log: string) {
    const now = clock.now();
    const previous = stepRow.waitingFor?.code === err.wait.code ? stepRow.waitingFor : null;
    const checks = (stepRow.waitingFor?.checks ?? 0) + 1;
    const waitingFor: StepWait = {
      code: err.wait.code,
      party: err.wait.party,
      message: err.wait.message,
      action: err.wait.action,
      since: previous?.since ?? new Date(now).toISOString(),
      checkedAt: new Date(now).toISOString(),
      nextCheckAt: new Date(now + err.wait.recheckMs).toISOString(),
      checks,
      ...(err.wait.alert ? { alertKey: err.wait.alert.dedupeKey } : {}),
      ...(err.wait.details ? { details: err.wait.details } : {}),
    };
    await inTransaction(database, async (tx, raw) => {
      const [run] = await tx.select().from(provisioningRuns).where(eq(provisioningRuns.id, runId)).for('update');
      if (run?.status !== 'running') return;
      // attempt - 1: the claim counted this check as an attempt; a wait is not one.
      await tx
        .update(provisioningSteps)
        .set({
          status: 'waiting',
          attempt: Math.max(0, stepRow.attempt - 1),
          error: err.wait.message,
          retryable: true,
          log,
          nextAttemptAt: new Date(now + err.wait.recheckMs),
          waitingFor,
        })
        .where(eq(provisioningSteps.id, stepRow.id));
      await enqueueStep(queue, raw, runId, stepRow.name, stepRow.attempt, err.wait.recheckMs, checks);
      if (!LIVE_SERVER_RUNS.has(run.kind as RunKind)) {
        await moveServer(tx, run.serverId, 'wait', { reason: `${err.wait.message} ${err.wait.action}`, now: new Date(now) });
      }
      if (err.wait.alert) await deps.alerts.open(tx, { ...err.wait.alert, serverId: run.serverId });
      if (!previous) {
        await audit(tx, SYSTEM_ACTOR, {
          action: 'provisioning.waiting',
          target: run.serverId,
          details: { runId, step: stepRow.name, code: err.wait.code, party: err.wait.party },
        });
      }
      await publishEvent(tx, { serverId: run.serverId, runId, type: 'step.waiting', step: stepRow.name, error: err.wait.message });
    });
  }

  /** A wait is over: its alert resolved, the customer told (event + audit), the server back to provisioning when nothing else waits. */
  async function endWait(tx: Db, serverId: string, runId: string, step: string, wait: StepWait, othersWaiting: boolean) {
    if (wait.alertKey) await deps.alerts.resolve(tx, wait.alertKey);
    await audit(tx, SYSTEM_ACTOR, {
      action: 'provisioning.wait_over',
      target: serverId,
      details: { runId, step, code: wait.code, since: wait.since },
    });
    await publishEvent(tx, { serverId, runId, type: 'step.wait_over', step, error: wait.code });
    if (!othersWaiting) {
      await moveServer(tx, serverId, 'wait_over', { now: new Date(clock.now()) });
    }
  }

  async function latestRun(serverId: string) {
    const [run] = await db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId)).orderBy(desc(provisioningRuns.createdAt)).limit(1);
    return run ?? null;
  }

  return {
    async handleStepJob({ runId, step }, job) {
      const claimed = await claim(runId, step, (job.retryCount ?? 0) > 0);
      if (!claimed) return;
      const definition = steps[step as StepName];
      const log = new LogBuffer(claimed.step.log);
      log.add(`attempt ${claimed.step.attempt} started`);
      const started = clock.now();
      const maxAttempts = definition?.maxAttempts ?? deps.settings.retry.maxAttempts;
      try {
        if (!definition) throw new Error(`unknown step "${step}"`);
        const server = claimed.server;
        if (!server) throw new Error('server row is gone');
        const output =
          (await definition.run({
            deps,
            run: claimed.run,
            server,
            attempt: claimed.step.attempt,
            signal: job.signal,
            log: (line) => log.add(line),
            reloadServer: async () => (await db.select().from(servers).where(eq(servers.id, server.id)))[0]!,
          })) ?? {};
        log.add('succeeded');
        await succeed(claimed.run, claimed.step, log.toString(), output, clock.now() - started);
      } catch (err) {
        if (err instanceof WaitingError) {
          log.add(`waiting (${err.wait.party}): ${err.wait.message}`);
          await park(runId, claimed.step, err, log.toString());
          return;
        }
        log.add(`failed: ${err instanceof Error ? err.message : String(err)}`);
        deps.log.warn({ runId, step, attempt: claimed.step.attempt, err }, 'provisioning step failed');
        await fail(runId, claimed.step, err, log.toString(), maxAttempts);
      }
    },

    async rerunStep(actor, serverId, step) {
      const run = await latestRun(serverId);
      if (!run) throw new NotFoundError('Provisioning run');
      if (!Object.hasOwn(PLANS[run.kind as RunKind], step)) throw new NotFoundError(`Step ${step}`);
      return inTransaction(database, async (tx, raw) => {
        const [locked] = await tx.select().from(provisioningRuns).where(eq(provisioningRuns.id, run.id)).for('update');
        const [row] = await tx
          .select()
          .from(provisioningSteps)
          .where(and(eq(provisioningSteps.runId, run.id), eq(provisioningSteps.name, step)));
        if (!row) throw new NotFoundError(`Step ${step}`);
        if (row.status === 'running' || row.status === 'queued' || row.status === 'retrying')
          throw new ConflictError(`Step ${step} is already ${row.status}`, 'step_busy');
        // Some steps are only safe while the run builds the server (live-reruns.ts).
        const [srv] = await tx.select({ status: servers.status }).from(servers).where(eq(servers.id, serverId));
        const refusal = liveRerunRefusal(srv?.status ?? '', locked!.status, step);
        if (refusal) throw new ConflictError(refusal, 'step_unsafe_on_live_server');
        // A waiting step re-run by support is simply checked again now.
        const done = await tx
          .select({ name: provisioningSteps.name, status: provisioningSteps.status })
          .from(provisioningSteps)
          .where(eq(provisioningSteps.runId, run.id));
        const succeeded = new Set(done.filter((s) => s.status === 'succeeded').map((s) => s.name));
        const missing = row.dependsOn.filter((d) => !succeeded.has(d));
        if (missing.length > 0) throw new ConflictError(`Step ${step} waits for ${missing.join(', ')}`, 'step_not_ready');
        await tx.update(provisioningSteps).set({ status: 'queued', error: null, finishedAt: null }).where(eq(provisioningSteps.id, row.id));
        if (locked!.status !== 'running') {
          await moveRuns(tx, { runId: run.id }, 'reopen', { now: new Date(clock.now()) });
          if (locked!.status === 'failed' && !LIVE_SERVER_RUNS.has(run.kind as RunKind))
            await moveServer(tx, serverId, activeTransitionOf(run.kind), { now: new Date(clock.now()) });
        }
        await enqueueStep(queue, raw, run.id, step, row.attempt + 1);
        await audit(tx, actor, { action: 'provisioning.rerun_step', target: serverId, details: { runId: run.id, step } });
        return { runId: run.id };
      });
    },

    async recheckWaiting(actor, serverId) {
      const run = await latestRun(serverId);
      const nothing = () => new ConflictError('Nothing is waiting on this server: there is nothing to check now', 'nothing_waiting');
      if (run?.status !== 'running') throw nothing();
      return inTransaction(database, async (tx, raw) => {
        const [locked] = await tx.select({ status: provisioningRuns.status }).from(provisioningRuns).where(eq(provisioningRuns.id, run.id)).for('update');
        if (locked?.status !== 'running') throw nothing();
        const waiting = await tx
          .select({ name: provisioningSteps.name, attempt: provisioningSteps.attempt, waitingFor: provisioningSteps.waitingFor })
          .from(provisioningSteps)
          .where(and(eq(provisioningSteps.runId, run.id), eq(provisioningSteps.status, 'waiting')));
        if (waiting.length === 0) throw nothing();
        // The scheduled check stays queued (it finds the step done, or checks once more); this one runs now.
        // Its key names the check it brings forward, so asking twice before it runs queues it once.
        // One insert and one announcement (announced one by one, identical NOTIFYs would fold into one: see startRun).
        await queue.sendMany(
          'provisioning.step',
          waiting.map((s) => ({
            data: { runId: run.id, step: s.name },
            singletonKey: stepJobKey(run.id, s.name, s.attempt + 1, `${(s.waitingFor?.checks ?? 0) + 1}:now`),
          })),
          { tx: raw },
        );
        await audit(tx, actor, { action: 'provisioning.recheck_now', target: serverId, details: { runId: run.id, steps: waiting.map((s) => s.name) } });
        return { runId: run.id, steps: waiting.map((s) => s.name) };
      });
    },

    async resumeRun(actor, serverId) {
      const run = await latestRun(serverId);
      if (!run) throw new NotFoundError('Provisioning run');
      return inTransaction(database, async (tx, raw) => {
        const [locked] = await tx.select().from(provisioningRuns).where(eq(provisioningRuns.id, run.id)).for('update');
        if (locked!.status !== 'failed') throw new ConflictError(`The run is ${locked!.status}; only a failed run can be resumed`, 'run_not_failed');
        const failed = await tx
          .select()
          .from(provisioningSteps)
          .where(and(eq(provisioningSteps.runId, run.id), inArray(provisioningSteps.status, ['failed'])));
        for (const s of failed) {
          await tx.update(provisioningSteps).set({ status: 'queued', error: null, finishedAt: null }).where(eq(provisioningSteps.id, s.id));
        }
        await queue.sendMany(
          'provisioning.step',
          failed.map((s) => ({ data: { runId: run.id, step: s.name }, singletonKey: stepJobKey(run.id, s.name, s.attempt + 1) })),
          { tx: raw },
        );
        await moveRuns(tx, { runId: run.id }, 'reopen', { now: new Date(clock.now()) });
        if (!LIVE_SERVER_RUNS.has(run.kind as RunKind)) await moveServer(tx, serverId, activeTransitionOf(run.kind), { now: new Date(clock.now()) });
        await audit(tx, actor, { action: 'provisioning.resume', target: serverId, details: { runId: run.id, steps: failed.map((s) => s.name) } });
        return { runId: run.id, requeued: failed.map((s) => s.name) };
      });
    },
  };
}

/** A rollout's server run has ended: the rollout moves on (a job in the same transaction as the run's end). */
async function tellRollout(queue: JobQueue, raw: RawTx, run: { params: Record<string, unknown> }): Promise<void> {
  const rolloutId = run.params['rolloutId'];
  if (typeof rolloutId === 'string') await queue.send('rollouts.advance', { rolloutId }, { tx: raw, singletonKey: rolloutId });
}

/** The server's transition when a run of this kind is taken up again (a rotation leaves a ready server ready). */
function activeTransitionOf(kind: string): 'deprovision' | 'build' {
  return kind === 'deprovision' ? 'deprovision' : 'build';
}
