/**
 * `npm run bench:real-host`: only the real-host figures of `npm run bench`
 * (payment → ready from the pre-baked image and from the stock image), written
 * into the real-host section of bench/report.md and `realHost` of
 * bench/report.json, the other figures left as the last full run wrote them.
 * Real hosts share one sandbox network: run it as the real-host suite is run
 * (root, under the same lock as `npm run test:e2e` where several run at once).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startBenchDatabase } from './bench/database.ts';
import { benchRealHost, renderRealHost } from './bench/real-host.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const postgres = await startBenchDatabase();
  try {
    const realHost = await benchRealHost(await postgres.database('bench_real_host'), log);
    const dir = fileURLToPath(new URL('../bench/', import.meta.url));
    const md = await readFile(`${dir}report.md`, 'utf8');
    const cut = md.indexOf('## Real host');
    await writeFile(`${dir}report.md`, `${cut >= 0 ? md.slice(0, cut) : `${md}\n`}${renderRealHost(realHost)}`);
    const json = JSON.parse(await readFile(`${dir}report.json`, 'utf8')) as Record<string, unknown>;
    await writeFile(`${dir}report.json`, `${JSON.stringify({ ...json, realHost }, null, 2)}\n`);
    log(
      `bench: real host → ${JSON.stringify('skipped' in realHost ? realHost : { image: 'skipped' in realHost.image ? realHost.image : realHost.image.paymentToReadySeconds, stock: 'skipped' in realHost.stock ? realHost.stock : realHost.stock.paymentToReadySeconds })}`,
    );
  } finally {
    await postgres.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
