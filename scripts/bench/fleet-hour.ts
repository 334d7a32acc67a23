/**
 * One simulated hour of the product's periodic work on a fleet of rows: the product's worker runs
 * in this process, the benchmark owns its clock (sim-clock.ts) and its schedules. Each tick is one
 * simulated minute: the clock moves to it, the jobs whose cron fires in that minute are sent (as
 * pg-boss's timekeeper would), and the tick lasts until every job that is ready to run (queued by
 * the sweeps, by their jobs, …) has finished. A tick that takes longer than 60 s of real time is a
 * minute one worker process could not keep up with.
 *
 * The benchmark's own statements (the waits, the due counts) go through its own client and are
 * counted here, so the statement figure can leave them out.
 */
import type postgres from 'postgres';
import type { JobQueue } from '../../src/jobs/queue.ts';
import type { JobName } from '../../src/jobs/catalog.ts';
import { cronFires, type SimulatedClock } from './sim-clock.ts';
import { sleep } from './stats.ts';

export interface Schedule {
  name: string;
  cron: string;
  data: object;
}

export interface Tick {
  minute: number;
  realSeconds: number;
  /** CPU time of this process (the product's worker, and the benchmark's few statements) during the tick. */
  cpuSeconds: number;
  sent: string[];
  /** Jobs that finished during the tick (any state but created/retry/active), by queue. */
  finished: Record<string, number>;
  dns: { dnsbl: number; other: number };
  /** Work due at the tick's start, and of it what was due a minute or more earlier (should have started already). */
  due: Record<string, { due: number; late: number }>;
  /** The tick was cut short: work still pending after the cap. */
  cut: boolean;
}

export interface HourOptions {
  sql: postgres.Sql;
  queue: JobQueue;
  clock: SimulatedClock;
  start: number;
  minutes: number;
  schedules: Schedule[];
  dnsQueries(): Promise<{ dnsbl: number; other: number }>;
  /** A tick waits at most this long for its work (real ms). */
  tickCapMs: number;
  log: (line: string) => void;
}

export interface HourResult {
  ticks: Tick[];
  /** Statements the benchmark itself sent while the hour ran. */
  ownStatements: number;
}

export async function runFleetHour(o: HourOptions): Promise<HourResult> {
  let own = 0;
  const q = async <T extends object>(run: () => Promise<T[]>): Promise<T[]> => {
    own++;
    return run();
  };
  const ticks: Tick[] = [];
  for (let minute = 0; minute < o.minutes; minute++) {
    const at = o.start + minute * 60_000;
    o.clock.set(at);
    const iso = new Date(at).toISOString();
    const dueRows = await q(
      () => o.sql<{ kind: string; due: number; late: number }[]>`
      select kind, count(*)::int as due, count(*) filter (where next_at <= ${iso}::timestamptz - interval '1 minute')::int as late
      from server_schedules where next_at <= ${iso}::timestamptz group by kind
      union all
      select 'drift', count(*)::int, count(*) filter (where next_drift_check_at <= ${iso}::timestamptz - interval '1 minute')::int
      from server_stacks where next_drift_check_at <= ${iso}::timestamptz`,
    );
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const startedAt = new Date();
    const sent = o.schedules.filter((s) => cronFires(s.cron, new Date(at)));
    for (const s of sent) await o.queue.send(s.name as JobName, s.data as never);
    let cut = false;
    for (let n = 0; ; n++) {
      const [row] = await q(
        () => o.sql<{ pending: number }[]>`
        select count(*)::int as pending from pgboss.job
        where state in ('created', 'retry', 'active') and start_after <= now()`,
      );
      if (row!.pending === 0) break;
      if (performance.now() - t0 > o.tickCapMs) {
        cut = true;
        break;
      }
      await sleep(n < 20 ? 10 : 50);
    }
    const realSeconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const finished = await q(
      () => o.sql<{ name: string; n: number }[]>`
      select name, count(*)::int as n from pgboss.job where completed_on >= ${startedAt} group by name`,
    );
    const dns = await o.dnsQueries();
    const tick: Tick = {
      minute,
      realSeconds,
      cpuSeconds,
      sent: sent.map((s) => s.name),
      cut,
      dns,
      finished: Object.fromEntries(finished.map((r) => [r.name, r.n])),
      due: Object.fromEntries(dueRows.map((r) => [r.kind, { due: r.due, late: r.late }])),
    };
    ticks.push(tick);
    const jobs = finished.reduce((n, r) => n + r.n, 0);
    o.log(
      `  minute ${String(minute).padStart(2)}: ${realSeconds.toFixed(1)} s (CPU ${cpuSeconds.toFixed(1)} s), ${jobs} jobs, ${dns.other + dns.dnsbl} DNS queries${cut ? ' (cut: work still pending)' : ''}`,
    );
  }
  return { ticks, ownStatements: own };
}
