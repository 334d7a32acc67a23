/**
 * `npm run bench:backups`: only the backup figures on a real host (root and the
 * real-host packages), written to bench/backups.md and bench/backups.json.
 * `npm run bench` runs the same part after its own (BENCH_BACKUPS=0 skips it there).
 * Knobs: BENCH_BACKUP_MB (the first backup's mail, default 200), BENCH_REBUILD_MB
 * (the mail of the rebuilt server, default 1024).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { benchBackups, renderBackups, type BackupBenchResult } from './bench/backup-real-host.ts';
import { startBenchDatabase } from './bench/database.ts';
import { intEnv } from './bench/knobs.ts';
import { describeMachine } from './bench/machine.ts';

export async function runBackupBench(log: (line: string) => void, databaseUrl: string): Promise<BackupBenchResult> {
  const machine = describeMachine();
  const result = await benchBackups(databaseUrl, log, { firstMb: intEnv('BENCH_BACKUP_MB', 200), rebuildMb: intEnv('BENCH_REBUILD_MB', 1024) });
  const dir = fileURLToPath(new URL('../bench/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const header = `# Backup benchmarks\n\nProduced by \`npm run bench:backups\` (scripts/bench-backups.ts) on ${new Date().toISOString()}, commit \`${machine.commit}\`${machine.commitDirty ? ' (working tree had uncommitted changes)' : ''}, ${machine.cpus} CPUs, load average ${machine.loadAverage.start} at start.\n\n`;
  if (!('skipped' in result)) {
    await writeFile(`${dir}backups.json`, `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(`${dir}backups.md`, `${header}${renderBackups(result)}`);
  }
  return result;
}

if (import.meta.main) {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const postgres = await startBenchDatabase();
  try {
    const result = await runBackupBench(log, await postgres.database('bench_backups'));
    log('skipped' in result ? `bench:backups: skipped (${result.skipped})` : 'bench:backups: done → bench/backups.md');
  } catch (err) {
    log(`bench:backups failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  } finally {
    await postgres.stop();
  }
}
