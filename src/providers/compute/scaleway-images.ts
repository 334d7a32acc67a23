/**
 * Custom images on the official SDK: a Block Storage snapshot of a boot volume
 * (Block v1) and the Instance v1 image over it. Images are per zone; an image
 * from an sbs snapshot is `available` at once (recorded), while the snapshot
 * is `creating` until its copy is done. Reads answer null for 404 and deletes
 * treat 404 as done, like the rest of the adapter.
 */
import type { Blockv1 } from '@scaleway/sdk-block';
import type { Instancev1 } from '@scaleway/sdk-instance';
import { ProviderError } from '../../errors.ts';
import type { ComputeImage, ComputeProvider, ComputeSnapshot, Zone } from './interface.ts';
import { PROVIDER } from './scaleway-errors.ts';

type ImageOps = Pick<ComputeProvider, 'snapshotVolume' | 'getSnapshot' | 'deleteSnapshot' | 'createImage' | 'getImage' | 'findImagesByTag' | 'deleteImage'>;

export interface ImageOpsOptions {
  instance: Instancev1.API;
  block: Blockv1.API;
  projectId: string;
  call<T>(fn: () => Promise<T>): Promise<T>;
  orNull<T>(fn: () => Promise<T>): Promise<T | null>;
}

const SNAPSHOT_STATES = new Set(['creating', 'available', 'in_use', 'error']);
const IMAGE_STATES = new Set(['available', 'creating', 'error']);

function toSnapshot(s: Blockv1.Snapshot, zone: Zone): ComputeSnapshot {
  return { id: s.id, zone, status: (SNAPSHOT_STATES.has(s.status) ? s.status : 'other') as ComputeSnapshot['status'], sizeBytes: s.size, tags: s.tags ?? [] };
}

function toImage(i: Instancev1.Image, zone: Zone): ComputeImage {
  return {
    id: i.id,
    zone,
    name: i.name,
    tags: i.tags ?? [],
    state: (IMAGE_STATES.has(i.state) ? i.state : 'other') as ComputeImage['state'],
    snapshotId: i.rootVolume?.id ?? null,
    createdAt: i.creationDate ? i.creationDate.toISOString() : null,
  };
}

export function createImageOps(o: ImageOpsOptions): ImageOps {
  const { instance, block, call, orNull } = o;
  return {
    async snapshotVolume(zone, volumeId, input) {
      const s = await call(() => block.createSnapshot({ zone, volumeId, name: input.name, tags: input.tags, projectId: o.projectId }));
      return toSnapshot(s, zone);
    },
    async getSnapshot(zone, snapshotId) {
      const s = await orNull(() => block.getSnapshot({ zone, snapshotId }));
      return s ? toSnapshot(s, zone) : null;
    },
    async deleteSnapshot(zone, snapshotId) {
      await orNull(() => block.deleteSnapshot({ zone, snapshotId }));
    },
    async createImage(zone, input) {
      const res = await call(() =>
        instance.createImage({ zone, name: input.name, rootVolume: input.snapshotId, tags: input.tags, arch: 'x86_64', project: o.projectId, public: false }),
      );
      if (!res.image) throw new ProviderError({ provider: PROVIDER, detail: 'createImage answered without an image', retryable: true });
      return toImage(res.image, zone);
    },
    async getImage(zone, imageId) {
      const res = await orNull(() => instance.getImage({ zone, imageId }));
      return res?.image ? toImage(res.image, zone) : null;
    },
    async findImagesByTag(zone, tags) {
      const images = await call(() => instance.listImages({ zone, tags: tags.join(','), project: o.projectId, public: false }).all());
      return images.filter((i) => tags.every((t) => (i.tags ?? []).includes(t))).map((i) => toImage(i, zone));
    },
    async deleteImage(zone, imageId) {
      await orNull(() => instance.deleteImage({ zone, imageId }));
    },
  };
}
