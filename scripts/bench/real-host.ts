/**
 * The real-host figure: one paid subscription provisioned on a real Debian 12
 * machine (SANDBOX_HOSTS=container), from the payment webhook to `ready`, with
 * each step's duration and its share of the wall time. Needs root and the
 * real-host packages; skipped with the reason otherwise (or with
 * BENCH_REAL_HOST=0). The host image and the package cache are reused, so this
 * measures a warm mirror: a first run on a new machine also downloads ~150 MB.
 */
import { existsSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import { provisioningRuns, provisioningSteps } from '../../src/db/schema/index.ts';
import { ZERO } from './profile.ts';
import { round } from './stats.ts';
import { startProduct } from './product.ts';

export interface RealHostStep {
  name: string;
  seconds: number;
  attempts: number;
  shareOfWall: number;
}
export type RealHostResult =
  | { skipped: string }
  | {
      paymentToReadySeconds: number;
      steps: RealHostStep[];
      installSeconds: number;
      installShare: number;
      nextLongest: { name: string; seconds: number };
      installVsNext: number;
    };

const NEEDS = ['/usr/sbin/debootstrap', '/usr/bin/systemd-nspawn', '/usr/sbin/apt-cacher-ng', '/usr/bin/pebble'];

/** Why a real-host figure cannot be measured here (`knob`=0 skips it on purpose), or null. */
export function realHostsMissing(knob: string): string | null {
  if (process.env[knob] === '0') return `${knob}=0`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, systemd-nspawn)';
  const missing = NEEDS.filter((p) => !existsSync(p));
  return missing.length > 0 ? `missing ${missing.join(', ')} (.ci/real-host-packages.txt)` : null;
}

export async function benchRealHost(databaseUrl: string, log: (line: string) => void): Promise<RealHostResult> {
  const missing = realHostsMissing('BENCH_REAL_HOST');
  if (missing) return { skipped: missing };

  const product = await startProduct({
    databaseUrl,
    profile: ZERO,
    realHosts: {
      cacheDir: process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane',
      mirror: process.env['SANDBOX_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian',
    },
    settings: { retry: { baseMs: 1_000, maxMs: 10_000, maxAttempts: 10 }, pollIntervalMs: 500, serverBootTimeoutMs: 180_000 },
  });
  try {
    const { token, workspaceId } = await product.customer('bench-real-host@real-host-bench-mailplane.eu');
    const sessionId = await product.checkout(token, workspaceId, 'real-host-bench-mailplane.eu');
    const paidAt = Date.now();
    const serverId = await product.pay(sessionId, 'real-host-bench-mailplane.eu');
    log('real host: provisioning one server on a Debian 12 container');
    const { settled, statuses } = await product.waitForServers([serverId], 30 * 60_000, 1_000);
    if (!settled || statuses.get(serverId) !== 'ready')
      return { skipped: `the server ended ${statuses.get(serverId)} (not ready): see the product's log with BENCH_LOG=1` };
    const db = product.ctx.database.db;
    const [run] = await db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
    const readyAt = (run!.finishedAt ?? new Date()).getTime();
    const rows = await db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run!.id)).orderBy(asc(provisioningSteps.startedAt));
    const wall = (readyAt - paidAt) / 1000;
    const steps = stepShares(rows, wall);
    const install = steps.find((s) => s.name === 'install_mail_stack')!;
    const next = steps.filter((s) => s.name !== 'install_mail_stack').sort((x, y) => y.seconds - x.seconds)[0]!;
    return {
      paymentToReadySeconds: round(wall, 1),
      steps,
      installSeconds: install.seconds,
      installShare: install.shareOfWall,
      nextLongest: { name: next.name, seconds: next.seconds },
      installVsNext: round(install.seconds / Math.max(next.seconds, 0.001), 1),
    };
  } finally {
    await product.close();
  }
}

/** Each step's time in its own code and its share of `wallSeconds` (steps overlap: shares add up to more than 1). */
export function stepShares(rows: readonly (typeof provisioningSteps.$inferSelect)[], wallSeconds: number): RealHostStep[] {
  return rows.map((r) => {
    const seconds = r.startedAt && r.finishedAt ? (r.finishedAt.getTime() - r.startedAt.getTime()) / 1000 : 0;
    return { name: r.name, seconds: round(seconds, 1), attempts: r.attempt, shareOfWall: round(seconds / wallSeconds, 3) };
  });
}

export function renderRealHost(r: RealHostResult): string {
  const out = ['## Real host: payment to ready on a Debian 12 machine', ''];
  if ('skipped' in r) {
    out.push(`Not measured in this run: ${r.skipped}.`, '');
    return out.join('\n');
  }
  out.push(
    `One subscription provisioned on a real Debian 12 container (SANDBOX_HOSTS=container: real cloud-init, OpenSSH, apt through the sandbox's warm package cache, certificates from pebble). **Payment to ready: ${r.paymentToReadySeconds} s.** ` +
      `install_mail_stack takes ${r.installSeconds} s, ${Math.round(r.installShare * 100)} % of the wall time and ${r.installVsNext}× the next longest step (${r.nextLongest.name}, ${r.nextLongest.seconds} s). Steps overlap, so shares add up to more than 100 %.`,
    '',
  );
  out.push('| step | seconds | attempts | share of wall time |', '| --- | --- | --- | --- |');
  for (const s of r.steps) out.push(`| ${s.name} | ${s.seconds} | ${s.attempts} | ${Math.round(s.shareOfWall * 100)} % |`);
  out.push('');
  return out.join('\n');
}
