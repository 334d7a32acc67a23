/**
 * `npm run bench`: the control plane's benchmarks on the sandbox, with an
 * embedded PostgreSQL, written to bench/report.json and bench/report.md.
 * Benchmarks measure and report; nothing here passes or fails on time.
 *
 * Knobs (environment): BENCH_PROVISIONS (concurrent provisions, default 1,000; paid 50 webhooks at a time),
 * BENCH_API_SECONDS (per load round, default 5), BENCH_LOG=1 (the product's
 * warnings on stderr), BENCH_REAL_HOST=0 (skip the real-host figure), BENCH_BACKUPS=0 (skip
 * the backup figures, scripts/bench-backups.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { benchApi, benchRoutes } from './bench/api.ts';
import { benchCriticalPath } from './bench/critical-path.ts';
import { startBenchDatabase } from './bench/database.ts';
import { benchDnsbl } from './bench/dnsbl.ts';
import { currentLoad, describeMachine } from './bench/machine.ts';
import { benchOverhead } from './bench/overhead.ts';
import { benchQueuePickup } from './bench/queue-pickup.ts';
import { benchRealHost, renderRealHost } from './bench/real-host.ts';
import { runBackupBench } from './bench-backups.ts';
import { intEnv } from './bench/knobs.ts';
import { PROVISION_STEPS } from '../provisioning/plan.ts';
import { renderMarkdown, summarise, type BenchResults } from './bench/report.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  log(
    `bench: ${machine.commit.slice(0, 12)}${machine.commitDirty ? ' (dirty)' : ''}, node ${machine.node}, ${machine.cpus} CPUs, load ${machine.loadAverage.start}`,
  );
  const postgres = await startBenchDatabase();
  try {
    log('dnsbl: 2 IPs × every default zone, per-zone latency');
    const dnsbl = await benchDnsbl(10);

    log('queue: pg-boss pick-up latency');
    const queuePickup = await benchQueuePickup(await postgres.database('bench_queue'), 40);

    log('critical path: 3 provisions under the realistic latency profile');
    const criticalPath = await benchCriticalPath(await postgres.database('bench_critical_path'), 3, log);

    const provisions = intEnv('BENCH_PROVISIONS', 1000);
    const apiSeconds = intEnv('BENCH_API_SECONDS', 5);
    log(`overhead: 10 provisions one by one, then ${provisions} at once, zero latency; then the API under load`);
    const overhead = await benchOverhead(
      await postgres.database('bench_overhead'),
      {
        sequential: 10,
        concurrent: provisions,
        // Sized for the count: every step of every provision at 10 steps/s (half the rate measured
        // at 200, 21.7 steps/s), never under 5 minutes; 1,000 provisions get 23 minutes.
        concurrentTimeoutMs: Math.max(5 * 60_000, Math.ceil((provisions * PROVISION_STEPS.length) / 10) * 1000),
        routes: (ctx) => benchRoutes(ctx.database.sql),
        after: async (product, customer) => {
          log(`api: autocannon, 10 connections × ${apiSeconds} s, 2 rounds per route`);
          return benchApi(
            { baseUrl: product.baseUrl, sql: product.ctx.database.sql, readCache: product.ctx.readCache, ...customer },
            { connections: 10, durationSeconds: apiSeconds, rounds: 2 },
          );
        },
      },
      log,
    );

    log(
      'real host: provisioning on Debian 12 containers, from the baked image and from the stock image (root and the real-host packages; BENCH_REAL_HOST=0 skips)',
    );
    const realHost = await benchRealHost(await postgres.database('bench_real_host'), log);

    log('backups: a real host backed up and rebuilt (bench/backups.md; BENCH_BACKUPS=0 skips)');
    const backups = await runBackupBench(log, await postgres.database('bench_backups'));

    machine.loadAverage.end = currentLoad();
    const results: BenchResults = {
      machine,
      startedAt: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      criticalPath,
      overhead,
      queuePickup,
      dnsbl,
      api: overhead.after!,
    };
    const dir = fileURLToPath(new URL('../bench/', import.meta.url));
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}report.json`, `${JSON.stringify({ ...summarise(results), realHost }, null, 2)}\n`);
    const backupsNote =
      'skipped' in backups
        ? `Not measured in this run: ${backups.skipped}; bench/backups.md keeps the last figures.`
        : 'Measured in this run: see bench/backups.md.';
    await writeFile(`${dir}report.md`, `${renderMarkdown(results)}\n${renderRealHost(realHost)}\n## Real host: backups and rebuild\n\n${backupsNote}\n`);
    log(`bench: done in ${results.durationSeconds} s → bench/report.md, bench/report.json`);
  } finally {
    await postgres.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
