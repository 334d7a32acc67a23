/**
 * The real-host figures: paid subscriptions provisioned on real Debian 12
 * machines (SANDBOX_HOSTS=container), from the payment webhook to `ready`,
 * with each step's duration and its share of the wall time, twice: from the
 * stock Debian image (a zone with no baked image: every package installed by
 * install_mail_stack) and from the zone's pre-baked mail-server image (baked
 * through the product first, or adopted from the host cache dir when one with
 * the current package digest is there). Needs root and the real-host packages;
 * skipped with the reason otherwise (or with BENCH_REAL_HOST=0). The package
 * cache is warm, so the stock figure is a warm mirror's.
 */
import { existsSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import { systemClock } from '../../src/clock.ts';
import { mailImages, provisioningRuns, provisioningSteps } from '../../src/db/schema/index.ts';
import { packageDigest } from '../../src/mailstack/packages.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import { readCachedImage, writeCachedImage } from '../../src/sandbox/hosts/image-cache.ts';
import { startBake } from '../../provisioning/image-refresh.ts';
import { ZERO } from './profile.ts';
import { round } from './stats.ts';
import { startProduct, type Product } from './product.ts';
import { formatTimeline, stepTimeline, type TimelineStep } from './step-timeline.ts';

export interface RealHostStep {
  name: string;
  seconds: number;
  attempts: number;
  shareOfWall: number;
}
export interface RealHostRun {
  paymentToReadySeconds: number;
  steps: RealHostStep[];
  installSeconds: number;
  installShare: number;
  nextLongest: { name: string; seconds: number };
  installVsNext: number;
  /** Each step's start after the payment, its duration and the gap before it (step-timeline.ts). */
  timeline: TimelineStep[];
}
export type RealHostResult =
  | { skipped: string }
  | { stock: RealHostRun | { skipped: string }; image: (RealHostRun & { bakeSeconds: number | null }) | { skipped: string } };

const NEEDS = ['/usr/sbin/debootstrap', '/usr/bin/systemd-nspawn', '/usr/sbin/apt-cacher-ng', '/usr/bin/pebble'];
const IMAGE_ZONE: Zone = 'fr-par-1';
/** A zone the bench never bakes: its server boots the stock image. */
const STOCK_ZONE: Zone = 'nl-ams-1';

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

  const cacheDir = process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane';
  const product = await startProduct({
    databaseUrl,
    profile: ZERO,
    realHosts: { cacheDir, mirror: process.env['SANDBOX_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian' },
    settings: { retry: { baseMs: 1_000, maxMs: 10_000, maxAttempts: 10 }, pollIntervalMs: 500, serverBootTimeoutMs: 180_000 },
  });
  try {
    log(`real host: one server from the stock image (${STOCK_ZONE})`);
    const stock = await provisionOne(product, 'stock', STOCK_ZONE, log).catch((err: unknown) => ({ skipped: String(err) }));
    const bakeSeconds = await ensureImage(product, cacheDir, log);
    log(`real host: one server from the baked image (${IMAGE_ZONE})`);
    const image = await provisionOne(product, 'image', IMAGE_ZONE, log).then(
      (r) => ({ ...r, bakeSeconds }),
      (err: unknown) => ({ skipped: String(err) }),
    );
    return { stock, image };
  } finally {
    await product.close();
  }
}

/** The zone's image: adopted from the cache dir, or baked now through the product (→ its duration). */
async function ensureImage(product: Product, cacheDir: string, log: (line: string) => void): Promise<number | null> {
  const digest = packageDigest();
  const cached = await readCachedImage(cacheDir, IMAGE_ZONE, digest);
  const emulator = product.sandbox.env['SCW_API_URL']!;
  if (cached) {
    const res = await fetch(`${emulator}/__sandbox/images/adopt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(cached),
    });
    if (res.status !== 201) throw new Error(`adopting the cached image: ${res.status}`);
    log(`real host: image with packages ${digest} adopted from ${cacheDir}`);
    return null;
  }
  log(`real host: baking the ${IMAGE_ZONE} image (packages ${digest})`);
  const started = Date.now();
  const { ctx } = product;
  const { bake } = await startBake({ database: ctx.database, queue: ctx.queue, clock: systemClock, imageZones: [] }, IMAGE_ZONE, 'manual');
  for (;;) {
    const [row] = await ctx.database.db.select().from(mailImages).where(eq(mailImages.id, bake.id));
    if (row?.status === 'failed') throw new Error(`bake failed: ${row.error}`);
    if (row?.status === 'available') {
      const compute = ctx.provisioning.compute;
      const image = (await compute.getImage(IMAGE_ZONE, row.imageId!))!;
      const snapshot = (await compute.getSnapshot(IMAGE_ZONE, row.snapshotId!))!;
      await writeCachedImage(cacheDir, {
        digest,
        zone: IMAGE_ZONE,
        snapshotId: snapshot.id,
        name: image.name,
        tags: image.tags,
        sizeBytes: snapshot.sizeBytes,
      });
      return round((Date.now() - started) / 1000);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function provisionOne(product: Product, label: string, zone: Zone, log: (line: string) => void): Promise<RealHostRun> {
  // Registrable and short: the production-mode bench product refuses .test, and nginx as configured
  // fails on long names (server_names_hash_bucket_size 64: "real-host-image-bench-mailplane.eu" failed).
  const domain = `rh-${label}-mailplane.eu`;
  const { token, workspaceId } = await product.customer(`bench-${label}@real-host-bench-mailplane.eu`);
  const sessionId = await product.checkout(token, workspaceId, domain, zone);
  const paidAt = Date.now();
  const serverId = await product.pay(sessionId, domain);
  const { settled, statuses } = await product.waitForServers([serverId], 30 * 60_000, 250);
  const db = product.ctx.database.db;
  const [run] = await db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
  if (!settled || statuses.get(serverId) !== 'ready') {
    // Say which step stopped it and why: a skipped figure must be actionable from the report alone.
    const failed = run ? await db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run.id)) : [];
    const why = failed
      .filter((st) => st.status === 'failed')
      .map((st) => `${st.name}: ${String(st.error ?? '').slice(0, 300)}`)
      .join('; ');
    throw new Error(`the server ended ${statuses.get(serverId)} (not ready)${why ? ` at ${why}` : ''}; the product's log: BENCH_LOG=1`);
  }
  const readyAt = (run!.finishedAt ?? new Date()).getTime();
  const rows = await db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run!.id)).orderBy(asc(provisioningSteps.startedAt));
  const wall = (readyAt - paidAt) / 1000;
  const steps = stepShares(rows, wall);
  const timeline = stepTimeline(rows, paidAt);
  log(`real host (${label}): ready ${round(wall, 1)} s after payment\n${formatTimeline(timeline)}`);
  const install = steps.find((s) => s.name === 'install_mail_stack')!;
  const next = steps.filter((s) => s.name !== 'install_mail_stack').sort((x, y) => y.seconds - x.seconds)[0]!;
  return {
    paymentToReadySeconds: round(wall, 1),
    steps,
    installSeconds: install.seconds,
    installShare: install.shareOfWall,
    nextLongest: { name: next.name, seconds: next.seconds },
    installVsNext: round(install.seconds / Math.max(next.seconds, 0.001), 1),
    timeline,
  };
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
    "One subscription at a time provisioned on a real Debian 12 container (SANDBOX_HOSTS=container: real cloud-init, OpenSSH, apt through the sandbox's warm package cache, certificates from pebble). Steps overlap, so shares add up to more than 100 %.",
    '',
  );
  const section = (title: string, run: RealHostRun | { skipped: string }, extra = '') => {
    out.push(`### ${title}`, '');
    if ('skipped' in run) {
      out.push(`Not measured: ${run.skipped}.`, '');
      return;
    }
    out.push(
      `**Payment to ready: ${run.paymentToReadySeconds} s.** install_mail_stack takes ${run.installSeconds} s (${Math.round(run.installShare * 100)} % of the wall time); ${run.installVsNext}× the next longest step, ${run.nextLongest.name} (${run.nextLongest.seconds} s).${extra}`,
      '',
    );
    out.push(
      'Each step: when it started after the payment, its own time, the gap between its last dependency finishing and its start, and whether it is on the critical path (the chain that ended at `ready`).',
      '',
    );
    out.push('| step | started at | seconds | gap before | attempts | share of wall time | critical path |', '| --- | --- | --- | --- | --- | --- | --- |');
    const shares = new Map(run.steps.map((s) => [s.name, s]));
    for (const t of run.timeline) {
      const s = shares.get(t.name);
      out.push(
        `| ${t.name} | +${t.start} s | ${t.seconds} | ${t.gap} s | ${s?.attempts ?? ''} | ${Math.round((s?.shareOfWall ?? 0) * 100)} % | ${t.onCriticalPath ? 'yes' : ''} |`,
      );
    }
    out.push('');
  };
  const bake = 'bakeSeconds' in r.image ? r.image.bakeSeconds : null;
  section(
    'From the pre-baked mail-server image (target ≤ 15 s)',
    r.image,
    bake === null ? ' The image (current package digest) was adopted from the host cache dir.' : ` The image was baked first, in ${bake} s (not counted).`,
  );
  section('From the stock Debian image (target ≤ 3 minutes)', r.stock);
  return out.join('\n');
}
