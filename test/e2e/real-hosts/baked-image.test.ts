/**
 * Two servers from the pre-baked mail-server image on real Debian 12 hosts:
 * each booted the image's disk (its boot volume comes from the image's Block
 * snapshot, which is the bake machine's disk), install_mail_stack fetched no
 * package, and every per-instance secret was made anew on each: the ones the
 * bake removed (Roundcube's des_key, the snakeoil key, postsrsd's SRS key, the
 * machine id, the SSH host key, unbound's control keys where there are any) and
 * the ones install makes (DKIM keys, the webmail master credentials) — none in
 * the image, none shared between the two servers.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisioningRuns, provisioningSteps } from '../../../src/db/schema/index.ts';
import { DKIM_KEY_DIR } from '../../../src/mailstack/render.ts';
import { formatTimeline, stepTimeline } from '../../../scripts/bench/step-timeline.ts';
import type { Harness } from '../../support/provisioning.ts';
import type { BakedImage } from './support/baked-image.ts';
import { missingForRealHosts, startRealHostProduct } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);
const CACHE_DIR = process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane';

const SECRETS = ['desKey', 'snakeoil', 'postsrsd', 'machineId', 'hostKey', 'dkim', 'webmailMaster', 'unboundControl'] as const;
type Secrets = Record<(typeof SECRETS)[number], string | null>;

/** The secrets as files on a disk (a machine's root, or the image's layer); keys as digests. */
async function secretsIn(root: string): Promise<Secrets> {
  const read = (path: string) => readFile(join(root, path), 'utf8').catch(() => null);
  const digest = (text: string | null) => (text ? createHash('sha256').update(text).digest('hex') : null);
  const rc = await read('etc/roundcube/config.inc.php');
  const dkimFiles = (await readdir(join(root, DKIM_KEY_DIR)).catch(() => [] as string[])).filter((f) => f.endsWith('.key')).sort();
  const dkim = (await Promise.all(dkimFiles.map((f) => read(`${DKIM_KEY_DIR.slice(1)}/${f}`)))).join('');
  return {
    desKey: rc === null ? null : (/^\$config\['des_key'\] = '([^']*)';/m.exec(rc)?.[1] ?? null),
    snakeoil: digest(await read('etc/ssl/private/ssl-cert-snakeoil.key')),
    postsrsd: digest(await read('etc/postsrsd.secret')),
    machineId: (await read('etc/machine-id'))?.trim() ?? null,
    hostKey: (await read('etc/ssh/ssh_host_ed25519_key.pub'))?.trim() ?? null,
    dkim: digest(dkim),
    webmailMaster: digest(await read('etc/dovecot/master-users')),
    unboundControl: digest(await read('etc/unbound/unbound_control.key')),
  };
}

describe.skipIf(missing.length > 0 || process.env['MAILPLANE_E2E_STOCK_IMAGE'] === '1')('servers from the pre-baked image', () => {
  let h: Harness & { image: BakedImage | null };
  const servers: {
    serverId: string;
    providerId: string;
    secrets: Secrets;
    steps: (typeof provisioningSteps.$inferSelect)[];
    readyMs: number;
    paidAtMs: number;
  }[] = [];

  beforeAll(async () => {
    h = await startRealHostProduct();
    const domains = ['image-one.test', 'image-two.test'];
    await Promise.all(
      domains.map(async (domain) => {
        const { token, workspaceId } = await h.customer(`owner@${domain}`);
        const { serverId } = await h.subscribe(token, workspaceId, domain);
        const row = await h.waitForServer(serverId, ['ready'], 15 * 60_000);
        const [run] = await h.database.db
          .select()
          .from(provisioningRuns)
          .where(and(eq(provisioningRuns.serverId, serverId), eq(provisioningRuns.kind, 'provision')));
        const steps = await h.database.db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run!.id));
        const secrets = await secretsIn(h.sandbox.realHosts!.lifecycle.rootOf(row.providerServerId!));
        servers.push({
          serverId,
          providerId: row.providerServerId!,
          secrets,
          steps,
          readyMs: run!.finishedAt!.getTime() - row.createdAt.getTime(),
          paidAtMs: row.createdAt.getTime(),
        });
      }),
    );
    // For the report (not asserted: no timed assertions): payment → ready and where the time went.
    for (const s of servers) {
      // The scripts' own lines carry their time since the script started (+s): where a step's time went.
      const scriptLines = s.steps
        .filter((st) => ['install_mail_stack', 'harden', 'verify'].includes(st.name))
        .flatMap((st) =>
          String(st.log ?? '')
            .split('\n')
            // Each line of a step's log starts with the time the control plane received it.
            .map((l) => l.replace(/^\S+ /, ''))
            .filter((l) => /^(install-mail-stack|harden): .*\(\+[\d.]+ s\)$/.test(l)),
        );
      console.log(
        `baked-image e2e: ${s.serverId} ready ${(s.readyMs / 1000).toFixed(1)} s after payment (the server row)\n${formatTimeline(stepTimeline(s.steps, s.paidAtMs))}\n${scriptLines.join('\n')}`,
      );
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  it('boots both servers from the zone image, and installs no package on them', () => {
    expect(h.image).not.toBeNull();
    for (const s of servers) {
      const create = s.steps.find((st) => st.name === 'create_server')!;
      expect(create.output['image']).toBe(h.image!.imageId);
      expect(h.sandbox.scaleway!.imageOf(s.providerId)).toBe(h.image!.imageId);
      const install = s.steps.find((st) => st.name === 'install_mail_stack')!;
      expect(install.log).toMatch(/install-mail-stack: mail stack installed/);
      expect(install.log).not.toMatch(/install-mail-stack: installing /);
      expect(install.log).not.toMatch(/Setting up [a-z0-9.+-]+ \(/);
    }
  });

  it('started Rspamd on the rule caches the bake compiled, instead of compiling them again', async () => {
    for (const s of servers) {
      const rspamdLog = await readFile(join(h.sandbox.realHosts!.lifecycle.rootOf(s.providerId), 'var/log/rspamd/rspamd.log'), 'utf8');
      // Without the image's caches: "hyperscan database has NOT been loaded", then hs_helper compiles them all.
      expect(rspamdLog).toMatch(/full hyperscan database of \d+ regexps has been loaded/);
      expect(rspamdLog).not.toMatch(/hyperscan database has NOT been loaded/);
      expect(rspamdLog).not.toMatch(/compiled [1-9]\d* regular expressions to the hyperscan tree/);
    }
  });

  it("made each per-instance secret anew on each server: none is the image's, none is shared", async () => {
    const layer = join(CACHE_DIR, 'snapshots', h.image!.snapshotId, 'upper');
    const image = await secretsIn(layer);
    // The image holds none of them: the bake removed what its packages made, install makes the rest.
    expect(image.desKey).toBe('');
    expect(image.machineId ?? '').toBe('');
    for (const key of SECRETS.filter((k) => k !== 'desKey' && k !== 'machineId')) expect(image[key], key).toBeNull();
    for (const path of ['var/lib/systemd/random-seed', 'var/lib/systemd/credential.secret', 'root/.ssh/authorized_keys', 'var/lib/cloud/instance']) {
      expect(
        await readFile(join(layer, path)).then(
          () => path,
          () => null,
        ),
        path,
      ).toBeNull();
    }
    const [a, b] = servers.map((s) => s.secrets);
    // Debian 12's unbound controls over a Unix socket and makes no control keys: absent on both
    // servers as in the image, or else made anew and different on each.
    const made = SECRETS.filter((k) => k !== 'unboundControl' || a!.unboundControl !== null || b!.unboundControl !== null);
    for (const key of made) {
      expect(a![key], key).toBeTruthy();
      expect(b![key], key).toBeTruthy();
      expect(a![key], key).not.toBe(b![key]);
    }
    expect(a!.desKey).toMatch(/^[0-9a-f]{24}$/);
  });
});
