/**
 * A baked mail-server image kept across sandboxes in the host cache dir: the
 * Block snapshot's disk (snapshots/<id>/, containers.ts) and a manifest per
 * zone naming it and the package digest it holds. A new sandbox's Scaleway
 * emulator adopts it (ScalewayEmulator.adoptImage) instead of baking again;
 * the real-host tests and the bench use it, and bake anew when the digest changed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CachedImage {
  digest: string;
  zone: string;
  snapshotId: string;
  name: string;
  tags: string[];
  sizeBytes: number;
}

const manifestPath = (cacheDir: string, zone: string) => join(cacheDir, 'images', `mail-${zone}.json`);

/** The zone's cached image if it holds `digest` and its disk is still there; else null. */
export async function readCachedImage(cacheDir: string, zone: string, digest: string): Promise<CachedImage | null> {
  const path = manifestPath(cacheDir, zone);
  if (!existsSync(path)) return null;
  const cached = JSON.parse(await readFile(path, 'utf8')) as CachedImage;
  if (cached.digest !== digest || !existsSync(join(cacheDir, 'snapshots', cached.snapshotId, 'upper'))) return null;
  return cached;
}

/** Records a freshly baked image; the disk of the one it replaces (another package set) goes. */
export async function writeCachedImage(cacheDir: string, image: CachedImage): Promise<void> {
  const path = manifestPath(cacheDir, image.zone);
  const previous = existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as CachedImage) : null;
  await mkdir(join(cacheDir, 'images'), { recursive: true });
  await writeFile(path, `${JSON.stringify(image, null, 2)}\n`);
  if (previous && previous.snapshotId !== image.snapshotId) await rm(join(cacheDir, 'snapshots', previous.snapshotId), { recursive: true, force: true });
}
