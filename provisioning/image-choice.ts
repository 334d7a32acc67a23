/**
 * Which image a new server boots: the zone's pre-baked mail-server image when
 * one holds the current package set (its digest tag), else the stock Debian
 * image. Both end in the same server: install_mail_stack installs whatever is
 * missing (nothing, on the baked image) and makes the per-instance secrets the
 * bake removed. The provider's listing decides, not a row: an image deleted
 * at the provider is never chosen.
 */
import { packageDigest } from '../src/mailstack/packages.ts';
import type { ComputeImage, ComputeProvider, Zone } from '../src/providers/compute/interface.ts';

/** On every baked image and the bake's resources (not MAILPLANE_TAG: they belong to no server). */
export const IMAGE_TAG = 'mailplane-image';
export const digestTag = (digest: string) => `mailstack-packages=${digest}`;
export const bakeTag = (bakeId: string) => `mailplane-bake=${bakeId}`;

/** The newest available image of the zone holding `digest`, or null. */
export async function currentImage(compute: Pick<ComputeProvider, 'findImagesByTag'>, zone: Zone, digest = packageDigest()): Promise<ComputeImage | null> {
  const images = (await compute.findImagesByTag(zone, [IMAGE_TAG, digestTag(digest)])).filter((i) => i.state === 'available');
  images.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  return images[0] ?? null;
}

export interface BootImage {
  image: string;
  /** The baked image chosen, or null: the stock image (why, in `reason`). */
  baked: ComputeImage | null;
  reason: string;
}

export async function bootImageFor(deps: { compute: Pick<ComputeProvider, 'findImagesByTag'>; settings: { image: string } }, zone: Zone): Promise<BootImage> {
  const digest = packageDigest();
  try {
    const baked = await currentImage(deps.compute, zone, digest);
    if (baked) return { image: baked.id, baked, reason: `baked image ${baked.name} (packages ${digest})` };
    return { image: deps.settings.image, baked: null, reason: `no image with packages ${digest} in ${zone}: stock ${deps.settings.image}` };
  } catch (err) {
    // The stock image always works, only slower: a failed listing does not hold the server back.
    return {
      image: deps.settings.image,
      baked: null,
      reason: `listing images failed (${err instanceof Error ? err.message : String(err)}): stock ${deps.settings.image}`,
    };
  }
}
