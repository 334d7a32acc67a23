/**
 * `npm run bench:fleet`: a fleet of BENCH_FLEET_SERVERS (default 10,000) servers as rows, and one
 * simulated hour (BENCH_FLEET_MINUTES, default 60) of the product's periodic work on one worker
 * process in this process, against the sandbox emulators in a child process (DNS and DNSBL answers
 * at the realistic profile's latency, counted where they are answered). Writes bench/fleet.json and
 * bench/fleet.md. Measures and reports; nothing passes or fails on time.
 *
 * Knobs: BENCH_FLEET_SERVERS, BENCH_FLEET_MINUTES, BENCH_FLEET_TICK_CAP_SECONDS (a tick waits at
 * most this long for its work, default 300), BENCH_LOG=1 (the product's warnings on stderr).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { USAGE_INTERVAL_MINUTES } from '../src/mailboxes/usage.ts';
import { DEFAULT_DNSBL_ZONES } from '../src/providers/lookup/dnsbl-zones.ts';
import { startBenchDatabase } from './bench/database.ts';
import { countRows, jobFigures, readStatements, resetStatements, runsPerServer } from './bench/fleet-measure.ts';
import { renderFleet, summariseFleet, type FleetResults } from './bench/fleet-report.ts';
import { runFleetHour, type Schedule } from './bench/fleet-hour.ts';
import { seedFleet } from './bench/fleet-seed.ts';
import { intEnv } from './bench/knobs.ts';
import { currentLoad, describeMachine } from './bench/machine.ts';
import { startProduct } from './bench/product.ts';
import { REALISTIC, ZERO } from './bench/profile.ts';
import { SimulatedClock } from './bench/sim-clock.ts';
import { sleep } from './bench/stats.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Provider calls answer at once; DNS and the DNSBL zones as in the realistic profile (the fleet's work is mostly lookups). */
const FLEET_PROFILE = { ...ZERO, dnsMs: REALISTIC.dnsMs, dnsblZoneMs: REALISTIC.dnsblZoneMs };

/**
 * Left out of the simulated hour: reconciliation compares the provider's instances with the rows, and
 * row-only servers have none (it would mark all of them failed, as it should for a real fleet whose
 * instances vanished).
 */
const NOT_SIMULATED: Record<string, string> = { 'ops.reconcile': 'compares provider instances with the rows; row-only servers have none' };

async function main(): Promise<void> {
  const servers = intEnv('BENCH_FLEET_SERVERS', 10_000);
  const minutes = intEnv('BENCH_FLEET_MINUTES', 60);
  const tickCapMs = intEnv('BENCH_FLEET_TICK_CAP_SECONDS', 300) * 1000;
  const machine = describeMachine();
  const startedAt = Date.now();
  log(`bench:fleet: ${servers} servers, ${minutes} simulated minutes; ${machine.commit.slice(0, 12)}, ${machine.cpus} CPUs, load ${machine.loadAverage.start}`);
  const pg = await startBenchDatabase({ statements: true });
  try {
    const url = await pg.database('bench_fleet');
    // The hour starts at the next full hour, so hourly crons (cleanup at :17) fall inside it.
    const start = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
    const clock = new SimulatedClock(start);
    const product = await startProduct({ databaseUrl: url, profile: FLEET_PROFILE, clock });
    const bench = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const boss = product.ctx.queue.boss;
      const schedules: Schedule[] = [];
      const skipped: { name: string; cron: string; why: string }[] = [];
      for (const s of await boss.getSchedules()) {
        await boss.unschedule(s.name, s.key);
        if (NOT_SIMULATED[s.name]) skipped.push({ name: s.name, cron: s.cron, why: NOT_SIMULATED[s.name]! });
        else schedules.push({ name: s.name, cron: s.cron, data: s.data ?? {} });
      }
      const config = product.ctx.config;
      const intervals = {
        healthMinutes: config.health.intervalMinutes,
        monitorMinutes: config.ops.monitorIntervalMinutes,
        driftMinutes: config.fleet.driftIntervalMinutes,
        usageMinutes: USAGE_INTERVAL_MINUTES,
      };
      log(`seeding ${servers} servers (rows)…`);
      const seed = await seedFleet(bench, {
        servers,
        start: new Date(start),
        intervals,
        dnsblZones: config.dns.dnsblZones.length ? config.dns.dnsblZones : DEFAULT_DNSBL_ZONES,
      });
      log(`  seeded in ${seed.seconds.toFixed(1)} s`);
      // Whatever pg-boss's own timekeeper fired before its schedules were taken over runs out first.
      while ((await bench`select 1 from pgboss.job where state in ('created', 'retry', 'active') and start_after <= now() limit 1`).length > 0)
        await sleep(100);
      await product.sandbox.dnsQueries();
      const before = await countRows(bench);
      await resetStatements(bench);
      const hourStarted = new Date();
      const hour = await runFleetHour({
        sql: bench,
        queue: product.ctx.queue,
        clock,
        start,
        minutes,
        schedules,
        tickCapMs,
        log,
        dnsQueries: () => product.sandbox.dnsQueries(),
      });
      const statements = await readStatements(bench);
      const after = await countRows(bench);
      const runs = await runsPerServer(bench, hourStarted, [
        'health.check_server',
        'ops.check_server',
        'fleet.drift_check',
        'mailboxes.collect_usage',
        'backups.run',
      ]);
      const jobs = await jobFigures(bench, hourStarted);
      machine.loadAverage.end = currentLoad();
      const results: FleetResults = {
        machine,
        startedAt: new Date(startedAt).toISOString(),
        durationSeconds: Math.round((Date.now() - startedAt) / 1000),
        servers,
        minutes,
        intervals,
        schedules,
        skipped,
        seedSeconds: seed.seconds,
        ticks: hour.ticks,
        // Leaves out the benchmark's own statements (waits, due counts, and the reading of the figures).
        statements: { ...statements, total: statements.total - hour.ownStatements - 1 },
        rows: { before, after },
        runs,
        jobs: [...jobs],
        problems: product.problems.length,
        problemSamples: [...new Set(product.problems.map((p) => JSON.parse(p).msg as string))].slice(0, 10),
      };
      const dir = fileURLToPath(new URL('../bench/', import.meta.url));
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}fleet.json`, `${JSON.stringify(summariseFleet(results), null, 2)}\n`);
      await writeFile(`${dir}fleet.md`, renderFleet(results));
      log(`bench:fleet: done in ${results.durationSeconds} s → bench/fleet.md, bench/fleet.json`);
    } finally {
      await bench.end();
      await product.close();
    }
  } finally {
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fleet failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
