/**
 * The pre-baked mail-server image for the real-host suite: baked once through
 * the product (as ops would: POST /v1/admin/images/bake) on a real Debian
 * machine, its Block snapshot (a copy of the machine's disk) kept in the host
 * cache dir (src/sandbox/hosts/image-cache.ts), and adopted by every later
 * test file's fresh Scaleway emulator, so every file's servers boot from it.
 * Baked again only when the package digest changes (or the cached disk is gone).
 * MAILPLANE_E2E_STOCK_IMAGE=1 skips it: servers then boot the stock image.
 */
import { eq } from 'drizzle-orm';
import { mailImages } from '../../../../src/db/schema/index.ts';
import { packageDigest } from '../../../../src/mailstack/packages.ts';
import { readCachedImage, writeCachedImage } from '../../../../src/sandbox/hosts/image-cache.ts';
import type { Harness } from '../../../support/provisioning.ts';
import { until } from '../../../support/until.ts';

export interface BakedImage {
  zone: string;
  imageId: string;
  snapshotId: string;
  /** Baked by this file (false: adopted from the cache). */
  bakedHere: boolean;
}

export const useStockImage = () => process.env['MAILPLANE_E2E_STOCK_IMAGE'] === '1';

export async function ensureBakedImage(h: Harness, cacheDir: string, zone = 'fr-par-1'): Promise<BakedImage | null> {
  if (useStockImage()) return null;
  const scw = h.sandbox.scaleway!;
  const digest = packageDigest();
  const cached = await readCachedImage(cacheDir, zone, digest);
  if (cached) {
    const { id } = scw.adoptImage(cached);
    return { zone, imageId: id, snapshotId: cached.snapshotId, bakedHere: false };
  }
  const ops = await h.staff(`image-bake-${zone}@example.org`, 'ops');
  const res = await h.call('POST', '/v1/admin/images/bake', { token: ops, body: { zone } });
  if (res.status !== 202) throw new Error(`bake: ${res.status} ${JSON.stringify(res.body)}`);
  const bakeId = res.body.image.id as string;
  const row = await until(
    'the image bake',
    async () => {
      const [r] = await h.database.db.select().from(mailImages).where(eq(mailImages.id, bakeId));
      if (r?.status === 'failed') throw new Error(`bake failed: ${r.error}\n${r.log}`);
      return r?.status === 'available' ? r : null;
    },
    20 * 60_000,
    500,
  );
  const image = scw.listImages().find((i) => i.id === row.imageId)!;
  const snapshot = scw.listSnapshots().find((s) => s.id === image.snapshotId)!;
  await writeCachedImage(cacheDir, { digest, zone, snapshotId: snapshot.id, name: image.name, tags: image.tags, sizeBytes: snapshot.sizeBytes });
  return { zone, imageId: image.id, snapshotId: snapshot.id, bakedHere: true };
}
