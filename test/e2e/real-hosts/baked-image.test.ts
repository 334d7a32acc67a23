/**
 * Two servers from the pre-baked mail-server image on real Debian 12 hosts:
 * each booted the image's disk (its boot volume comes from the image's Block
 * snapshot, which is the bake machine's disk), install_mail_stack fetched no
 * package, and every per-instance secret the bake removed was made anew on
 * each: Roundcube's des_key, the snakeoil key, the machine id, the SSH host
 * key — none equal to the image's, none shared between the two servers.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisioningRuns, provisioningSteps } from '../../../src/db/schema/index.ts';
import type { Harness } from '../../support/provisioning.ts';
import type { BakedImage } from './support/baked-image.ts';
import { missingForRealHosts, startRealHostProduct } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);
const CACHE_DIR = process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane';

interface Secrets { desKey: string | null; snakeoil: string | null; machineId: string | null; hostKey: string | null }

/** The secrets as files on a disk (a machine's root, or the image's layer). */
async function secretsIn(root: string): Promise<Secrets> {
  const read = (path: string) => readFile(join(root, path), 'utf8').catch(() => null);
  const rc = await read('etc/roundcube/config.inc.php');
  const key = await read('etc/ssl/private/ssl-cert-snakeoil.key');
  return {
    desKey: rc === null ? null : (/^\$config\['des_key'\] = '([^']*)';/m.exec(rc)?.[1] ?? null),
    snakeoil: key === null ? null : createHash('sha256').update(key).digest('hex'),
    machineId: (await read('etc/machine-id'))?.trim() ?? null,
    hostKey: (await read('etc/ssh/ssh_host_ed25519_key.pub'))?.trim() ?? null,
  };
}

describe.skipIf(missing.length > 0 || process.env['MAILPLANE_E2E_STOCK_IMAGE'] === '1')('servers from the pre-baked image', () => {
  let h: Harness & { image: BakedImage | null };
  const servers: { serverId: string; providerId: string; secrets: Secrets; steps: (typeof provisioningSteps.$inferSelect)[]; readyMs: number }[] = [];

  beforeAll(async () => {
    h = await startRealHostProduct();
    const domains = ['image-one.test', 'image-two.test'];
    await Promise.all(domains.map(async (domain) => {
      const { token, workspaceId } = await h.customer(`owner@${domain}`);
      const { serverId } = await h.subscribe(token, workspaceId, domain);
      const row = await h.waitForServer(serverId, ['ready'], 15 * 60_000);
      const [run] = await h.database.db.select().from(provisioningRuns).where(and(eq(provisioningRuns.serverId, serverId), eq(provisioningRuns.kind, 'provision')));
      const steps = await h.database.db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run!.id));
      const secrets = await secretsIn(h.sandbox.realHosts!.lifecycle.rootOf(row.providerServerId!));
      servers.push({ serverId, providerId: row.providerServerId!, secrets, steps, readyMs: run!.finishedAt!.getTime() - row.createdAt.getTime() });
    }));
    // For the report (not asserted: no timed assertions): payment → ready and the install step.
    for (const s of servers) {
      const install = s.steps.find((st) => st.name === 'install_mail_stack')!;
      console.log(`baked-image e2e: ${s.serverId} ready ${(s.readyMs / 1000).toFixed(1)} s after payment, install_mail_stack ${((install.durationMs ?? 0) / 1000).toFixed(1)} s`);
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

  it("made each per-instance secret anew on each server: none is the image's, none is shared", async () => {
    const image = await secretsIn(join(CACHE_DIR, 'snapshots', h.image!.snapshotId, 'upper'));
    // The image holds none of them (the bake removed them).
    expect(image.desKey).toBe('');
    expect(image.snakeoil).toBeNull();
    expect(image.machineId ?? '').toBe('');
    expect(image.hostKey).toBeNull();
    const [a, b] = servers.map((s) => s.secrets);
    for (const key of ['desKey', 'snakeoil', 'machineId', 'hostKey'] as const) {
      expect(a![key], key).toBeTruthy();
      expect(b![key], key).toBeTruthy();
      expect(a![key], key).not.toBe(b![key]);
    }
    expect(a!.desKey).toMatch(/^[0-9a-f]{24}$/);
  });
});
