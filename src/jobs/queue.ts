/**
 * pg-boss behind a small typed facade. `send` can join the caller's drizzle
 * transaction (pg-boss's `fromDrizzle` adapter executes through it), so a
 * state change and the job that acts on it commit together or not at all.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import { type Db as JobDb, fromDrizzle, type Job, PgBoss, type Queue } from 'pg-boss';
import type postgres from 'postgres';
import type { Tx } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { JOB_CATALOG, type JobData, type JobName, type RetryPolicy } from './catalog.ts';
import { failureMessage, GiveUp, type FailedJob } from './give-up.ts';
import { carryOn } from './hand-off.ts';
import { announceJobs, listenForJobs } from './wake-up.ts';

/**
 * The transaction a job is enqueued in: domain code's drizzle transaction (`db.transaction`), or the
 * postgres.js transaction of the provisioning engine's step path, which runs prepared statements of
 * its own on it (provisioning/engine-transaction.ts). Nothing else hands the queue a raw handle.
 */
export type JobTx = Tx | postgres.TransactionSql;

export interface SendOptions {
  /** The transaction to enqueue in: the job exists only if it commits. */
  tx?: JobTx;
  startAfterSeconds?: number;
  singletonKey?: string;
}

/** `retryCount`: pg-boss's count of earlier attempts of this job (0 on the first); the attempt is retryCount + 1. */
export type JobHandler<N extends JobName> = (data: JobData<N>, job: { id: string; retryCount: number; signal: AbortSignal }) => Promise<void>;
/** A dead letter queue's handler: the payload of a job that failed for good, and how it failed. */
export type FailureHandler<N extends JobName> = (data: JobData<N>, failed: FailedJob) => Promise<void>;

export interface QueueOptions {
  url: string;
  log: Logger;
  /** Workers run maintenance (supervision, schedules); API-only processes do not. */
  worker: boolean;
  schema?: string;
  /** How often dead workers' jobs are detected (seconds); tests lower it. */
  superviseIntervalSeconds?: number;
  /**
   * Fetch interval while idle. NOTIFY wakes workers for new jobs at once, but not
   * for delayed ones (retries after backoff): those wait for the next fetch.
   */
  pollSeconds?: number;
  /**
   * The product's pool: hand-off queues announce their jobs on it (wake-up.ts) and this process
   * listens there for them. Without it those queues are found by polling alone.
   */
  sql?: postgres.Sql;
  /** Settings that replace a queue's catalog retry policy (the alert delivery's ALERT_RETRY_*). */
  policies?: Partial<Record<JobName, RetryPolicy>>;
}

const FINISHED_JOB_RETENTION_SECONDS = 86_400;

/** A hand-off slot (JobQueue.work): its queue, its budget, and the job its handler took to carry next. */
interface Slot {
  name: JobName;
  startedAt: number;
  budgetMs: number;
  next: Job<object> | null;
}

/**
 * A job fetched inside the transaction that enqueued it (JobQueue.sendManyAndTake), for the current
 * hand-off slot to run next once that transaction has committed (JobQueue.carry). Opaque to callers.
 */
export interface TakenJob {
  readonly queue: JobName;
  readonly job: Job<object>;
}

/**
 * pg-boss executing on a postgres.js handle. Prepared: pg-boss's statements for a queue are the
 * same text every time, so after the first use on a connection each is one round trip, not two.
 */
const onPostgres = (handle: postgres.Sql | postgres.TransactionSql): JobDb => ({
  executeSql: async (text: string, values?: unknown[]) => ({ rows: await handle.unsafe(text, (values ?? []) as never[], { prepare: true }) }),
});

/**
 * pg-boss executing on the caller's transaction. A postgres.js handle is a function (a tagged
 * template), a drizzle transaction an object: the engine's hot path keeps its prepared statements,
 * and domain code's drizzle transaction goes through pg-boss's own adapter.
 */
const onTransaction = (tx: JobTx): JobDb => (typeof tx === 'function' ? onPostgres(tx) : fromDrizzle(tx, sql));

export class JobQueue {
  readonly boss: PgBoss;
  private readonly log: Logger;

  private readonly pollSeconds: number;
  private readonly sql: postgres.Sql | undefined;
  private stopping = false;
  private listening: { close(): Promise<void> } | null = null;
  /** The hand-off slot the current code runs in (see announce and sendManyAndTake). */
  private readonly slot = new AsyncLocalStorage<Slot>();

  private constructor(boss: PgBoss, log: Logger, pollSeconds: number, sql: postgres.Sql | undefined) {
    this.boss = boss;
    this.log = log;
    this.pollSeconds = pollSeconds;
    this.sql = sql;
  }

  static async start(opts: QueueOptions): Promise<JobQueue> {
    const boss = new PgBoss({
      connectionString: opts.url,
      schema: opts.schema ?? 'pgboss',
      application_name: 'mailplane-jobs',
      max: 10,
      supervise: opts.worker,
      schedule: opts.worker,
      useListenNotify: true,
      ...(opts.superviseIntervalSeconds
        ? { superviseIntervalSeconds: opts.superviseIntervalSeconds, monitorIntervalSeconds: opts.superviseIntervalSeconds }
        : {}),
    });
    boss.on('error', (err) => opts.log.error({ err }, 'job queue error'));
    await boss.start();
    // Dead letter queues first: a queue can name only an existing queue as its dead letter.
    const entries = Object.entries(JOB_CATALOG).sort(([, a], [, b]) => Number('deadLetter' in a.queue) - Number('deadLetter' in b.queue));
    for (const [name, entry] of entries) {
      // A finished job's row is kept a day, not pg-boss's default week: what happened is in the
      // domain tables (steps, backup runs, checks), and at fleet scale a week of rows is millions.
      const def: Omit<Queue, 'name'> = { deleteAfterSeconds: FINISHED_JOB_RETENTION_SECONDS, ...entry.queue, ...opts.policies?.[name as JobName] };
      const existing = await boss.getQueue(name);
      if (existing) {
        // A queue's policy and partitioning are fixed at creation; the rest follows the catalog,
        // including what it no longer sets (null clears a dead letter queue, a delay cap, a heartbeat).
        const { policy: _policy, partition: _partition, ...updatable } = def;
        await boss.updateQueue(name, {
          ...updatable,
          deadLetter: def.deadLetter ?? null,
          retryDelayMax: def.retryDelayMax ?? null,
          heartbeatSeconds: def.heartbeatSeconds ?? null,
        });
      } else await boss.createQueue(name, def);
    }
    const queue = new JobQueue(boss, opts.log, opts.pollSeconds ?? 1, opts.sql);
    if (opts.sql && opts.worker) queue.listening = await listenForJobs(opts.sql, boss);
    return queue;
  }

  async send<N extends JobName>(name: N, data: JobData<N>, opts: SendOptions = {}): Promise<string | null> {
    const parsed = JOB_CATALOG[name].schema.parse(data);
    const tx = opts.tx;
    if (this.announces(name) && !opts.startAfterSeconds) {
      const id = await this.boss.send(name, parsed as object, {
        ...(opts.singletonKey ? { singletonKey: opts.singletonKey } : {}),
        ...(tx ? { db: onTransaction(tx) } : {}),
      });
      if (id) await this.announce(tx, name, 1);
      return id;
    }
    return this.boss.send(name, parsed as object, {
      ...(opts.startAfterSeconds ? { startAfter: opts.startAfterSeconds } : {}),
      ...(opts.singletonKey ? { singletonKey: opts.singletonKey } : {}),
      ...(tx ? { db: onTransaction(tx) } : {}),
    });
  }

  /** Several jobs of one queue in one statement (pg-boss `insert`), each validated like `send`'s. */
  async sendMany<N extends JobName>(name: N, jobs: { data: JobData<N>; singletonKey?: string }[], opts: { tx?: JobTx } = {}): Promise<void> {
    if (jobs.length === 0) return;
    await this.insertAndAnnounce(name, jobs, opts.tx, opts.tx ? onTransaction(opts.tx) : undefined);
  }

  private async insertAndAnnounce<N extends JobName>(
    name: N,
    jobs: { data: JobData<N>; singletonKey?: string }[],
    tx: JobTx | undefined,
    db: JobDb | undefined,
  ): Promise<void> {
    const schema = JOB_CATALOG[name].schema;
    const inserting = this.boss.insert(
      name,
      jobs.map((j) => ({ data: schema.parse(j.data) as object, ...(j.singletonKey ? { singletonKey: j.singletonKey } : {}) })),
      db ? { db } : {},
    );
    // Sent together (pipelined on the transaction's connection); heard only if the insert commits.
    await Promise.all([inserting, this.announces(name) ? this.announce(tx, name, jobs.length) : null]);
  }

  /**
   * sendMany, and in the same transaction (pipelined behind the insert: one round trip for both)
   * pg-boss's own fetch of the queue's next ready job, which sees the jobs just inserted, for the
   * current hand-off slot to run next: pass it to `carry` once the transaction has committed. The
   * slot then starts it without a fetch of its own after the commit. Only in a hand-off slot of the
   * same queue, within its budget and while not stopping; null otherwise or when none is ready.
   * Rolled back, the fetch is undone with the insert: nothing to carry.
   */
  async sendManyAndTake<N extends JobName>(name: N, jobs: { data: JobData<N>; singletonKey?: string }[], tx: JobTx): Promise<TakenJob | null> {
    const slot = this.slot.getStore();
    const takes = slot?.name === name && !this.stopping && performance.now() - slot.startedAt < slot.budgetMs;
    if (jobs.length === 0 || !takes) {
      await this.sendMany(name, jobs, { tx });
      return null;
    }
    const db = onTransaction(tx);
    // The fetch is issued once the insert is (postgres.js runs a transaction's statements in the
    // order they are issued), so it sees the new jobs without waiting for the insert's answer.
    let issued!: () => void;
    const insertIssued = new Promise<void>((resolve) => {
      issued = resolve;
    });
    const tracked: JobDb = {
      executeSql: (text, values) => {
        const result = db.executeSql(text, values);
        issued();
        return result;
      },
    };
    const fetching = insertIssued.then(() => this.boss.fetch(name, { batchSize: 1, db }) as Promise<Job<object>[]>);
    const [[job]] = await Promise.all([fetching, this.insertAndAnnounce(name, jobs, tx, tracked)]);
    return job ? { queue: name, job } : null;
  }

  /** The job sendManyAndTake took, to run next in this slot: call it after the transaction committed. */
  carry(taken: TakenJob | null): void {
    const slot = this.slot.getStore();
    if (!taken) return;
    if (slot?.name !== taken.queue || slot.next) throw new Error(`no free hand-off slot of ${taken.queue} to carry job ${taken.job.id}`);
    slot.next = taken.job;
  }

  /**
   * Announces `count` new jobs, less the one the sending slot will carry itself when it is a slot
   * of the same hand-off queue (JobQueue.work): a chain of steps wakes nobody. Should it not carry
   * it after all (stopping, out of budget), polling finds the job.
   */
  private announce(tx: JobTx | undefined, name: JobName, count: number): Promise<void> {
    const carried = this.slot.getStore()?.name === name ? 1 : 0;
    return announceJobs(tx ? onTransaction(tx) : onPostgres(this.sql!), name, count - carried);
  }

  /** Hand-off queues announce their jobs themselves (wake-up.ts), when there is a pool to do it on. */
  private announces(name: JobName): boolean {
    const def = JOB_CATALOG[name];
    return this.sql !== undefined && 'handOff' in def && def.handOff === true;
  }

  private parse<N extends JobName>(name: N, job: { id: string; data: unknown }): JobData<N> {
    const parsed = JOB_CATALOG[name].schema.safeParse(job.data);
    if (parsed.success) return parsed.data as JobData<N>;
    this.log.error({ job: job.id, queue: name, issues: parsed.error.issues }, 'invalid job payload');
    // No attempt can make a malformed payload valid.
    throw new GiveUp(`invalid payload for ${name}`);
  }

  /**
   * Runs `handler` for the queue's jobs. It returns: the job is done. It throws: the attempt
   * failed, and pg-boss retries it as the queue's policy says (src/jobs/catalog.ts), then moves it
   * to the queue's dead letter queue (see workFailures). It throws GiveUp: the job goes there at
   * once (pg-boss's `deadletter` result).
   */
  async work<N extends JobName>(name: N, handler: JobHandler<N>): Promise<void> {
    const def = JOB_CATALOG[name];
    const run = async (job: { id: string; retryCount: number; data: unknown; signal: AbortSignal }) => {
      await handler(this.parse(name, job), { id: job.id, retryCount: job.retryCount, signal: job.signal });
    };
    const polling = {
      localConcurrency: def.concurrency,
      batchSize: 1,
      pollingIntervalSeconds: this.pollSeconds,
      notifyPollingIntervalSeconds: this.pollSeconds,
    };
    if (!('handOff' in def && def.handOff)) {
      // One pg-boss worker per slot, so each handler knows its worker: a slot that has just run a job
      // asks for the next one at once (notifyWorker skips the poll delay) and polls again only after
      // a fetch found nothing. pg-boss's own burst modes do not serve here: burstWhenBatchFull is
      // ignored at batchSize 1, and burstWhenReadyExceeds reads queue stats cached for a minute. Without
      // it, a slot ran one job per poll: 8 slots took 84 s over the 670 mailbox collections a
      // minute's sweep queues at 10,000 servers (bench/fleet.md), whatever each job cost.
      for (let slot = 0; slot < def.concurrency; slot++) {
        let workerId: string | undefined;
        workerId = await this.boss.work(name, { ...polling, localConcurrency: 1, perJobResults: true }, async ([job]) => {
          if (!job) return [];
          try {
            await run(job);
            return [{ id: job.id, status: 'completed' as const }];
          } catch (err) {
            if (!(err instanceof GiveUp)) throw err;
            this.log.warn({ job: job.id, queue: name, err }, 'job failed for good; not retried');
            return [{ id: job.id, status: 'deadletter' as const, output: { message: err.message } }];
          } finally {
            // Undefined only for a job fetched before work() returned: that slot polls once as before.
            if (workerId) this.boss.notifyWorker(workerId);
          }
        });
      }
      return;
    }
    // A hand-off queue's handler never gives up (a provisioning step's retries are the engine's): GiveUp there is an ordinary failure.
    await this.boss.work(name, polling, async ([job]) => {
      if (!job) return;
      // The slot's own job stays active (and heartbeating) while the slot carries on, so carried
      // jobs start only within the first quarter of its expiry: it never expires under them.
      // A budget of elapsed time, not a date: the monotonic clock, which no wall-clock step moves.
      const slot: Slot = { name, startedAt: performance.now(), budgetMs: (job.expireInSeconds * 1000) / 4, next: null };
      // A job the handler took to carry (sendManyAndTake) is active in pg-boss: should the handler
      // fail after taking it, it is still run here, then the slot's own job fails.
      const failure = await this.slot
        .run(slot, () => run(job))
        .then(
          () => null,
          (err: unknown) => ({ err }),
        );
      // Its own job's outcome is settled: nothing the carrying does may change it (a fetch that errs just ends it).
      // After a failure only the job already taken is run; nothing more is fetched.
      if (failure) slot.budgetMs = 0;
      await this.slot
        .run(slot, () =>
          carryOn({
            boss: this.boss,
            name,
            slotSignal: job.signal,
            startedAt: slot.startedAt,
            budgetMs: slot.budgetMs,
            stopping: () => this.stopping,
            taken: () => {
              const next = slot.next;
              slot.next = null;
              return next;
            },
            run,
            onError: (err, carried) => this.log.warn({ err, job: carried.id, queue: name }, 'settling a carried job failed'),
          }),
        )
        .catch((err: unknown) => this.log.warn({ err, queue: name }, 'fetching a job to carry failed'));
      if (failure) throw failure.err;
    });
  }

  /**
   * Runs `handler` once for every job of the queue that `name` is the dead letter queue of, after
   * that job failed for good: its retries spent, it gave up (GiveUp), or pg-boss failed its last
   * attempt (expired, heartbeat lost). pg-boss moves the job here in the same transaction as it
   * fails it, so no final failure goes unrecorded. The payload is the failed job's.
   */
  async workFailures<N extends JobName>(name: N, handler: FailureHandler<N>): Promise<void> {
    const def = JOB_CATALOG[name];
    await this.boss.work(
      name,
      {
        localConcurrency: def.concurrency,
        batchSize: 1,
        includeMetadata: true,
        pollingIntervalSeconds: this.pollSeconds,
        notifyPollingIntervalSeconds: this.pollSeconds,
      },
      async ([job]) => {
        if (!job) return;
        await handler(this.parse(name, job), {
          id: job.sourceId ?? job.id,
          error: failureMessage(job.sourceOutput),
          attempts: (job.sourceRetryCount ?? 0) + 1,
        });
      },
    );
  }

  async schedule<N extends JobName>(name: N, cron: string, data: JobData<N>): Promise<void> {
    await this.boss.schedule(name, cron, data as object);
  }

  async ping(): Promise<boolean> {
    return (await this.boss.getQueue('maintenance.cleanup')) !== null;
  }

  /** Graceful: handlers in flight get `timeoutMs` to finish; then (or at once, not graceful) pg-boss fails them back to the queue. */
  async stop(opts: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.stopping = true;
    await this.listening?.close();
    await this.boss.stop({ graceful: opts.graceful ?? true, timeout: opts.timeoutMs ?? 10_000 });
  }
}
