/** Which image create_server boots: the zone's current baked image, else the stock one. */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import { packageDigest } from '../../../src/mailstack/packages.ts';
import type { ComputeImage } from '../../../src/providers/compute/interface.ts';
import { IMAGE_TAG, bootImageFor, digestTag } from '../../../provisioning/image-choice.ts';

const image = (id: string, digest: string, createdAt: string, state: ComputeImage['state'] = 'available'): ComputeImage => ({
  id,
  zone: 'fr-par-1',
  name: `mailplane-mail-${digest}`,
  tags: [IMAGE_TAG, digestTag(digest)],
  state,
  snapshotId: `s-${id}`,
  createdAt,
});

/** The provider's tag filter: every tag asked for. */
const provider = (images: ComputeImage[]) => ({
  findImagesByTag: async (_zone: string, tags: string[]) => images.filter((i) => tags.every((t) => i.tags.includes(t))),
});
const settings = { image: 'debian_bookworm' };

describe('bootImageFor', () => {
  it('picks the newest available image holding the current package digest', async () => {
    const d = packageDigest();
    const chosen = await bootImageFor(
      {
        compute: provider([
          image('old', d, '2026-11-01T00:00:00Z'),
          image('new', d, '2026-12-01T00:00:00Z'),
          image('broken', d, '2026-12-05T00:00:00Z', 'error'),
        ]),
        settings,
      },
      'fr-par-1',
    );
    expect(chosen.image).toBe('new');
    expect(chosen.baked?.id).toBe('new');
  });

  it('boots the stock image when the zone only has images of another package set', async () => {
    const chosen = await bootImageFor({ compute: provider([image('stale', '000000000000', '2026-12-01T00:00:00Z')]), settings }, 'fr-par-1');
    expect(chosen).toMatchObject({ image: 'debian_bookworm', baked: null });
    expect(chosen.reason).toMatch(/no image with packages/);
  });

  it('boots the stock image when listing the images fails', async () => {
    const failing = {
      findImagesByTag: async () => {
        throw new ProviderError({ provider: 'scaleway', detail: 'HTTP 503', retryable: true });
      },
    };
    const chosen = await bootImageFor({ compute: failing, settings }, 'fr-par-1');
    expect(chosen).toMatchObject({ image: 'debian_bookworm', baked: null });
    expect(chosen.reason).toMatch(/listing images failed/);
  });
});
