/**
 * A baked mail-server image kept across sandboxes in the host cache dir: the
 * Block snapshot's disk (snapshots/<id>/, containers.ts) and a manifest per
 * zone and package digest naming it. A new sandbox's Scaleway emulator adopts
 * it (ScalewayEmulator.adoptImage) instead of baking again; the real-host tests
 * and the bench use it, and bake anew when the digest changed.
 *
 * Several digests are kept per zone (the newest KEEP_PER_ZONE): branches of the
 * code with different bake recipes share one machine's cache, and with a single
 * image per zone each one's run deleted the other's and baked again (5 minutes).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CachedImage {
  digest: string;
  zone: string;
  snapshotId: string;
  name: string;
  tags: string[];
  sizeBytes: number;
}

/** Images kept per zone (about 430 MB each). */
const KEEP_PER_ZONE = 3;

const imagesDir = (cacheDir: string) => join(cacheDir, 'images');
const manifestPath = (cacheDir: string, zone: string, digest: string) => join(imagesDir(cacheDir), `mail-${zone}-${digest}.json`);

/** The zone's cached image if it holds `digest` and its disk is still there; else null. */
export async function readCachedImage(cacheDir: string, zone: string, digest: string): Promise<CachedImage | null> {
  const path = manifestPath(cacheDir, zone, digest);
  if (!existsSync(path)) return null;
  const cached = JSON.parse(await readFile(path, 'utf8')) as CachedImage;
  if (cached.digest !== digest || !existsSync(join(cacheDir, 'snapshots', cached.snapshotId, 'upper'))) return null;
  return cached;
}

/** Records a freshly baked image; beyond the newest KEEP_PER_ZONE of the zone, older images and their disks go. */
export async function writeCachedImage(cacheDir: string, image: CachedImage): Promise<void> {
  const path = manifestPath(cacheDir, image.zone, image.digest);
  const previous = existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as CachedImage) : null;
  await mkdir(imagesDir(cacheDir), { recursive: true });
  await writeFile(path, `${JSON.stringify(image, null, 2)}\n`);
  // The same digest baked again (its disk was gone, or a forced rebake): the old disk goes.
  if (previous && previous.snapshotId !== image.snapshotId) await rm(join(cacheDir, 'snapshots', previous.snapshotId), { recursive: true, force: true });
  const prefix = `mail-${image.zone}-`;
  const zoneManifests = await Promise.all(
    (await readdir(imagesDir(cacheDir)))
      .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
      .map(async (f) => ({ file: join(imagesDir(cacheDir), f), mtimeMs: (await stat(join(imagesDir(cacheDir), f))).mtimeMs })),
  );
  for (const old of zoneManifests.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(KEEP_PER_ZONE)) {
    const manifest = JSON.parse(await readFile(old.file, 'utf8')) as CachedImage;
    await rm(join(cacheDir, 'snapshots', manifest.snapshotId), { recursive: true, force: true });
    await rm(old.file, { force: true });
  }
}
