/**
 * The pre-baked mail-server image on the sandbox: ops start a bake (API), the
 * durable job makes the instance, stops it, snapshots and images its volume
 * and deletes it; a server provisioned afterwards in that zone boots from the
 * image, one in a zone without an image from the stock Debian image. The
 * refresh rebakes a zone whose image holds another package set or is a week
 * old. Emulated hosts here; the real-host suite boots the baked rootfs.
 */
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailImages, provisioningRuns, provisioningSteps } from '../../../src/db/schema/index.ts';
import { packageDigest } from '../../../src/mailstack/packages.ts';
import { systemClock } from '../../../src/clock.ts';
import { IMAGE_TAG, digestTag } from '../../../provisioning/image-choice.ts';
import { refreshImages } from '../../../provisioning/image-refresh.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let ops: string;
beforeAll(async () => {
  h = await startHarness();
  ops = await h.staff('image-ops@example.org', 'ops');
});
afterAll(async () => {
  await h?.close();
});

const bakeRow = async (id: string) => (await h.database.db.select().from(mailImages).where(eq(mailImages.id, id)))[0]!;
const createServerOutput = async (serverId: string) => {
  const [run] = await h.database.db
    .select()
    .from(provisioningRuns)
    .where(eq(provisioningRuns.serverId, serverId))
    .orderBy(desc(provisioningRuns.createdAt))
    .limit(1);
  const [step] = await h.database.db
    .select()
    .from(provisioningSteps)
    .where(and(eq(provisioningSteps.runId, run!.id), eq(provisioningSteps.name, 'create_server')));
  return step!;
};

describe('pre-baked mail-server image', () => {
  let imageId: string;

  it('bakes a zone image on request: an image tagged with the package digest, and nothing of the bake left behind', async () => {
    const started = await h.call('POST', '/v1/admin/images/bake', { token: ops, body: { zone: 'fr-par-1' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ started: true, image: { zone: 'fr-par-1', status: 'baking', packageDigest: packageDigest(), reason: 'manual' } });
    // Asking again while it bakes answers the same bake.
    const again = await h.call('POST', '/v1/admin/images/bake', { token: ops, body: { zone: 'fr-par-1' } });
    expect(again.body).toMatchObject({ started: false, image: { id: started.body.image.id } });

    const done = await until('the bake to finish', async () => {
      const row = await bakeRow(started.body.image.id);
      return row.status === 'baking' ? null : row;
    });
    expect(done).toMatchObject({ status: 'available', phase: 'done', error: null });
    imageId = done.imageId!;
    const scw = h.sandbox.scaleway!;
    const image = scw.listImages().find((i) => i.id === imageId)!;
    expect(image).toMatchObject({ zone: 'fr-par-1', state: 'available' });
    expect(image.tags).toEqual(expect.arrayContaining([IMAGE_TAG, digestTag(packageDigest())]));
    expect(scw.listSnapshots().find((s) => s.id === image.snapshotId)).toMatchObject({ status: 'in_use', sizeBytes: 10_000_000_000 });
    // The bake's instance, its boot volume and its address are gone.
    expect(scw.listServers()).toEqual([]);
    expect(scw.listIps()).toEqual([]);
    expect(scw.listVolumes()).toEqual([]);
    expect(done.log).toMatch(/removed per-instance secrets/);
    const [entry] = await h.database.db.select().from(auditLog).where(eq(auditLog.action, 'images.bake'));
    expect(entry).toMatchObject({ target: 'fr-par-1' });

    const listed = await h.call('GET', '/v1/admin/images', { token: ops });
    expect(listed.body.packageDigest).toBe(packageDigest());
    expect(listed.body.images[0]).toMatchObject({ id: done.id, status: 'available', imageId });
  });

  it('boots a new server in that zone from the image, and one in a zone without an image from the stock image', async () => {
    const { token, workspaceId } = await h.customer('image-customer@example.org');
    const { serverId } = await h.readyServer(token, workspaceId, 'baked-mail.eu');
    const baked = await createServerOutput(serverId);
    expect(baked.output['image']).toBe(imageId);
    expect(baked.log).toMatch(/image: baked image mailplane-mail-/);
    expect(h.sandbox.scaleway!.imageOf(String(baked.output['providerServerId']))).toBe(imageId);

    const { serverId: other } = await h.subscribe(token, workspaceId, 'stock-mail.eu', 'nl-ams-1');
    await h.waitForServer(other, ['ready'], 120_000);
    const stock = await createServerOutput(other);
    expect(stock.output['image']).toBe('debian_bookworm');
    expect(stock.log).toMatch(/no image with packages \w+ in nl-ams-1: stock debian_bookworm/);
  });

  it('refuses a bake in an unknown zone with a problem, and changes nothing', async () => {
    const before = await h.database.db.select().from(mailImages);
    const res = await h.call('POST', '/v1/admin/images/bake', { token: ops, body: { zone: 'mars-1' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await h.database.db.select().from(mailImages)).toEqual(before);
  });

  it('rebakes a zone whose image holds another package set, and one whose image is a week old', async () => {
    const db = h.database.db;
    await db
      .insert(mailImages)
      .values({ zone: 'pl-waw-1', packageDigest: '000000000000', status: 'available', phase: 'done', reason: 'manual', finishedAt: new Date() });
    await db.insert(mailImages).values({
      zone: 'nl-ams-2',
      packageDigest: packageDigest(),
      status: 'available',
      phase: 'done',
      reason: 'manual',
      finishedAt: new Date(Date.now() - 8 * 24 * 3600_000),
    });
    const started = await refreshImages({ database: h.database, queue: h.ctx.queue, clock: systemClock, imageZones: [] });
    expect(started).toEqual(
      expect.arrayContaining([
        { zone: 'pl-waw-1', reason: 'package_change' },
        { zone: 'nl-ams-2', reason: 'weekly' },
      ]),
    );
    // fr-par-1's image is current and fresh: no bake there.
    expect(started.find((s) => s.zone === 'fr-par-1')).toBeUndefined();
    const rows = await until('both rebakes to finish', async () => {
      const all = await db.select().from(mailImages);
      const fresh = all.filter((r) => ['pl-waw-1', 'nl-ams-2'].includes(r.zone) && r.reason !== 'manual');
      return fresh.length === 2 && fresh.every((r) => r.status === 'available') ? all : null;
    });
    // The image each replaced is retired.
    expect(
      rows
        .filter((r) => r.zone === 'pl-waw-1')
        .map((r) => r.status)
        .sort(),
    ).toEqual(['available', 'retired']);
    expect(await refreshImages({ database: h.database, queue: h.ctx.queue, clock: systemClock, imageZones: [] })).toEqual([]);
  });
});
