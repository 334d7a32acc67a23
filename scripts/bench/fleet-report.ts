/** bench/fleet.json (the figures) and bench/fleet.md (the same, explained) for `npm run bench:fleet`. */
import type { Tick, Schedule } from './fleet-hour.ts';
import type { StatementFigures } from './fleet-measure.ts';
import type { MachineInfo } from './machine.ts';
import { median, round } from './stats.ts';

export interface FleetResults {
  machine: MachineInfo;
  startedAt: string;
  durationSeconds: number;
  servers: number;
  minutes: number;
  intervals: { healthMinutes: number; monitorMinutes: number; driftMinutes: number; usageMinutes: number };
  schedules: Schedule[];
  skipped: { name: string; cron: string; why: string }[];
  seedSeconds: number;
  ticks: Tick[];
  statements: StatementFigures;
  rows: { before: Record<string, number>; after: Record<string, number> };
  runs: Record<string, Record<number, number>>;
  jobs: { name: string; state: string; jobs: number; waitP50: number | null; waitMax: number | null; runP50: number | null }[];
  /** Why jobs failed for good, per queue and error message. */
  failures: { name: string; state: string; message: string; jobs: number }[];
  problems: number;
  problemSamples: string[];
}

/**
 * Runs each server should have had in the simulated time, per queue, and the counts allowed: ± 1 (a
 * server due at the window's last minute runs in the next). The health run also follows every drift
 * check, unless one is already queued for the server (the queue's `stately` policy merges them), so
 * its lower bound leaves the drift checks' runs out.
 */
function expectedRuns(r: FleetResults): Record<string, { expected: number; low: number; high: number }> {
  const { healthMinutes, monitorMinutes, driftMinutes } = r.intervals;
  const around = (n: number) => ({ expected: n, low: n - 1, high: n + 1 });
  const scheduled = r.minutes / healthMinutes;
  const afterDrift = r.minutes / driftMinutes;
  return {
    'health.check_server': { expected: scheduled + afterDrift, low: scheduled - 1, high: scheduled + afterDrift + 1 },
    'ops.check_server': around(r.minutes / monitorMinutes),
    'fleet.drift_check': around(r.minutes / driftMinutes),
    'mailboxes.collect_usage': around(r.minutes / r.intervals.usageMinutes),
  };
}

function onTime(r: FleetResults) {
  const late = r.ticks.reduce((n, t) => n + Object.values(t.due).reduce((m, d) => m + d.late, 0), 0);
  const perQueue = Object.entries(expectedRuns(r)).map(([queue, { expected, low, high }]) => {
    const counts = r.runs[queue] ?? {};
    const seen = Object.values(counts).reduce((n, c) => n + c, 0);
    const byRuns: Record<number, number> = { ...counts };
    if (r.servers > seen) byRuns[0] = r.servers - seen;
    const off = Object.entries(byRuns)
      .filter(([runs]) => Number(runs) < low || Number(runs) > high)
      .reduce((n, [, c]) => n + c, 0);
    return { queue, expected: round(expected, 2), allowed: `${Math.max(0, Math.ceil(low))}–${Math.floor(high)}`, byRuns, serversOutside: off };
  });
  const cut = r.ticks.filter((t) => t.cut).length;
  return { ok: late === 0 && cut === 0 && perQueue.every((q) => q.serversOutside === 0), lateStarts: late, cutTicks: cut, perQueue };
}

export function summariseFleet(r: FleetResults) {
  const seconds = r.ticks.reduce((n, t) => n + t.realSeconds, 0);
  const jobs = r.ticks.reduce((n, t) => n + Object.values(t.finished).reduce((m, c) => m + c, 0), 0);
  const dns = r.ticks.reduce((n, t) => ({ dnsbl: n.dnsbl + t.dns.dnsbl, other: n.other + t.dns.other }), { dnsbl: 0, other: 0 });
  const perDay = 1440 / r.minutes;
  const growth = Object.fromEntries(Object.keys(r.rows.after).map((k) => [k, Math.round((r.rows.after[k]! - r.rows.before[k]!) * perDay)]));
  const perMinute = r.ticks.map((t) => t.realSeconds);
  const cpuPerMinute = r.ticks.map((t) => t.cpuSeconds);
  const sandboxCpuPerMinute = r.ticks.map((t) => t.sandboxCpuSeconds);
  return {
    servers: r.servers,
    simulatedMinutes: r.minutes,
    realSecondsPerSimulatedMinute: { median: round(median(perMinute), 2), max: round(Math.max(...perMinute), 2) },
    keepsUp: Math.max(...perMinute) <= 60,
    /** The worker process's own CPU per simulated minute: on a shared machine, what it would need of a core it had to itself. */
    cpuSecondsPerSimulatedMinute: { median: round(median(cpuPerMinute), 2), max: round(Math.max(...cpuPerMinute), 2) },
    /** The sandbox process's (the emulators') CPU per simulated minute: work a real fleet's hosts and resolvers would do, not the product. */
    sandboxCpuSecondsPerSimulatedMinute: { median: round(median(sandboxCpuPerMinute), 2), max: round(Math.max(...sandboxCpuPerMinute), 2) },
    jobsPerSecond: round(jobs / seconds, 1),
    jobs,
    statementsPerSecond: round(r.statements.total / seconds, 1),
    statements: r.statements.total,
    dnsQueriesPerSecond: round((dns.dnsbl + dns.other) / seconds, 1),
    dnsQueries: dns,
    dnsblQueriesPerDay: Math.round(dns.dnsbl * perDay),
    tableGrowthPerDay: growth,
    onTime: onTime(r),
    commit: r.machine.commit,
    machine: { cpus: r.machine.cpus, cpuModel: r.machine.cpuModel, loadAverage: r.machine.loadAverage, commitDirty: r.machine.commitDirty },
    startedAt: r.startedAt,
    durationSeconds: r.durationSeconds,
    details: {
      intervals: r.intervals,
      schedules: r.schedules,
      skipped: r.skipped,
      seedSeconds: round(r.seedSeconds, 1),
      ticks: r.ticks,
      topStatements: r.statements.top,
      jobs: r.jobs,
      failures: r.failures,
      rows: r.rows,
      problems: r.problems,
      problemSamples: r.problemSamples,
    },
  };
}

const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

export function renderFleet(r: FleetResults): string {
  const s = summariseFleet(r);
  const m = r.machine;
  const t = s.onTime;
  const out: string[] = [];
  out.push('# Fleet benchmark', '');
  out.push(
    `Produced by \`npm run bench:fleet\` (scripts/bench-fleet.ts) on ${r.startedAt}, in ${r.durationSeconds} s; commit \`${m.commit}\`${m.commitDirty ? ' (uncommitted changes)' : ''}, ${m.cpus} × ${m.cpuModel}, load average ${m.loadAverage.start} at start and ${m.loadAverage.end ?? '–'} at end (the machine is shared).`,
    '',
  );
  out.push(
    `${r.servers} servers as rows (workspaces, servers in \`ready\`, their two addresses, the DNS records publish_dns writes, an active DKIM key, and each server's health, blacklist and drift schedules spread over their intervals as a running fleet has them; seeded in ${s.details.seedSeconds} s) and ${r.minutes} simulated minutes of the periodic work, on one worker process (the product's workers in the benchmark process, with the catalog's handler concurrency). Each tick is one simulated minute: the product's clock moves to it, the scheduled jobs whose cron fires in it are sent (${r.schedules.map((x) => `\`${x.name}\` ${x.cron}`).join(', ')}), and the tick lasts until every ready job (the sweeps and all they queued) has finished. Intervals: health run every ${r.intervals.healthMinutes} min, blacklist check every ${r.intervals.monitorMinutes} min, mailbox usage every ${r.intervals.usageMinutes} min, drift check every ${r.intervals.driftMinutes} min.${r.skipped.length ? ` Not simulated: ${r.skipped.map((x) => `\`${x.name}\` (${x.why})`).join('; ')}.` : ''}`,
    '',
  );
  out.push('## Summary', '');
  out.push(
    table(
      ['measure', 'figure'],
      [
        [
          'real seconds per simulated minute, median (max)',
          `${s.realSecondsPerSimulatedMinute.median} s (${s.realSecondsPerSimulatedMinute.max} s)${s.keepsUp ? '' : ' — **above 60 s: one worker process falls behind**'}`,
        ],
        [
          'CPU seconds of the worker process per simulated minute, median (max)',
          `${s.cpuSecondsPerSimulatedMinute.median} s (${s.cpuSecondsPerSimulatedMinute.max} s): real time above this is waiting (PostgreSQL, DNS, the sandbox, other processes on the machine)`,
        ],
        [
          'CPU seconds of the sandbox process (the emulators, not the product) per simulated minute, median (max)',
          `${s.sandboxCpuSecondsPerSimulatedMinute.median} s (${s.sandboxCpuSecondsPerSimulatedMinute.max} s)`,
        ],
        ['jobs per second (while ticks ran)', `${s.jobsPerSecond} (${s.jobs} jobs)`],
        ['SQL statements per second (pg_stat_statements, every client)', `${s.statementsPerSecond} (${s.statements} statements)`],
        ['DNS queries per second (at the sandbox DNS server)', `${s.dnsQueriesPerSecond} (${s.dnsQueries.other} lookups, ${s.dnsQueries.dnsbl} DNSBL)`],
        ['DNSBL queries per day (the hour × 24)', String(s.dnsblQueriesPerDay)],
        [
          'every due check done on time',
          t.ok
            ? 'yes'
            : `**no**: ${t.lateStarts} due (server, kind) found a minute or more late, ${t.cutTicks} ticks cut, ${t.perQueue.reduce((n, q) => n + q.serversOutside, 0)} server counts outside what is allowed`,
        ],
      ],
    ),
    '',
  );
  out.push('## Runs per server', '');
  out.push(
    `For each server and kind, the runs in the ${r.minutes} simulated minutes against what the interval asks (± 1 allowed: a server due at the hour's last minute runs in the next). The health run also follows every drift check, unless one is already queued for the server (the queue's stately policy merges the two), so fewer health runs than that are allowed, down to the scheduled ones less one. "Late" counts, at each tick, the (server, kind) pairs that were due a minute or more before it and had not been queued.`,
    '',
  );
  out.push(
    table(
      ['queue', 'expected per server', 'allowed', 'servers by number of runs', 'outside'],
      t.perQueue.map((q) => [
        q.queue,
        q.expected,
        q.allowed,
        Object.entries(q.byRuns)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
        q.serversOutside,
      ]),
    ),
    '',
  );
  out.push('## Table growth', '');
  out.push(
    table(
      ['table', 'rows before', 'rows after', 'per day (× 24)'],
      Object.keys(r.rows.after).map((k) => [k, r.rows.before[k]!, r.rows.after[k]!, s.tableGrowthPerDay[k]!]),
    ),
    '',
  );
  out.push(
    '`server_checks` holds one row per server and check (upserted), so it stops growing once every server has run; `blacklist_checks` is pruned after MONITOR_HISTORY_DAYS by `maintenance.cleanup`; pg-boss deletes finished jobs after a day, so `pgboss.job` holds about one day of jobs.',
    '',
  );
  out.push('## Jobs', '');
  out.push(
    table(
      ['queue', 'state', 'jobs', 'wait for a slot p50 / max (s)', 'run p50 (s)'],
      r.jobs.map((j) => [j.name, j.state, j.jobs, `${round(j.waitP50 ?? NaN, 2)} / ${round(j.waitMax ?? NaN, 2)}`, round(j.runP50 ?? NaN, 3)]),
    ),
    '',
  );
  if (r.failures.length > 0) {
    out.push("Jobs that failed (for good, or waiting for a retry), by the last attempt's error:", '');
    out.push(
      table(
        ['queue', 'state', 'error', 'jobs'],
        r.failures.map((f) => [f.name, f.state, f.message.replace(/\|/g, '\\|').slice(0, 200), f.jobs]),
      ),
      '',
    );
  }
  out.push('## Slowest statements (total time)', '');
  out.push(
    table(
      ['statement', 'calls', 'total ms', 'mean ms', 'rows per call'],
      r.statements.top.map((x) => [`\`${x.query.replace(/\|/g, '\\|')}\``, x.calls, x.totalMs, x.meanMs, x.rowsPerCall]),
    ),
    '',
  );
  out.push('## Per minute', '');
  out.push(
    table(
      ['minute', 'real s', 'CPU s', 'sandbox CPU s', 'sent', 'jobs', 'DNS (DNSBL)', 'due (late)'],
      r.ticks.map((x) => [
        x.minute,
        round(x.realSeconds, 1),
        round(x.cpuSeconds, 1),
        round(x.sandboxCpuSeconds, 1),
        x.sent.join(' '),
        Object.values(x.finished).reduce((n, c) => n + c, 0),
        `${x.dns.other + x.dns.dnsbl} (${x.dns.dnsbl})`,
        Object.entries(x.due)
          .map(([k, d]) => `${k} ${d.due} (${d.late})`)
          .join(', '),
      ]),
    ),
    '',
  );
  out.push('## What the hosts do not do here', '');
  out.push(
    `The servers are rows: no emulated host answers at their addresses. The health run's SSH parts (the disk probe, and the look at the host a server never had) and the drift check, the mailbox usage collection and the backups ask the sandbox for an SSH endpoint and are told at once that nothing runs there: a quick "could not check", never a wait. So these figures leave out SSH connection set-up and the hosts' answers; the DNS checks ask the sandbox DNS, which answers NXDOMAIN for these domains (no Cloudflare zone holds them), so they fail the same way every run and nothing is mailed. The blacklists health check reads the verdicts seeded as the monitor's last check (each server's, one interval before its next) and the ones the monitor stores during the run. The product logged ${r.problems} warnings or errors${r.problemSamples.length ? `: ${r.problemSamples.map((p) => `"${p}"`).join(', ')}` : ''}.`,
    '',
  );
  out.push('## Reproduce', '');
  out.push(
    '```sh\nnpm run bench:fleet                                              # 10,000 servers, one simulated hour\nBENCH_FLEET_SERVERS=1000 BENCH_FLEET_MINUTES=20 npm run bench:fleet  # smaller\n```',
    '',
  );
  return out.join('\n');
}
