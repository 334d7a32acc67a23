/**
 * Custom images in the Scaleway emulator: Block Storage snapshots of a volume
 * and the Instance images made from them, per zone, with the rules the real
 * APIs have (terraform-provider-scaleway's image cassettes, 2026-07-30):
 * - `POST /block/v1/zones/{zone}/snapshots {volume_id}` answers `creating`;
 *   the snapshot turns `available` once the disk is copied (a volume in use
 *   may be snapshotted: crash-consistent, which is why a bake stops first).
 * - `POST /instance/v1/zones/{zone}/images {root_volume: <snapshot id>}`
 *   answers an image already `available` (sbs snapshots); the snapshot then
 *   carries an `instance_image` link reference and is `in_use`.
 * - Refused: a snapshot of another zone (not found there), a snapshot not yet
 *   available ("snapshot is not available", as packer-plugin-scaleway#39
 *   reports), deleting a snapshot an image still uses, a server from an image
 *   of another zone, a boot volume smaller than the image's snapshot.
 * Deleting an image leaves its snapshot (billed) until it is deleted itself.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, type EmuImage, type EmuSnapshot, type EmuVolume } from './model.ts';

/** What the store needs of the emulator's state (the volumes and whatever stands in for their disks). */
export interface Disks {
  blockVolume(zone: string, id: string): EmuVolume;
  copyDisk(serverId: string | null, snapshotId: string, done: (ok: boolean) => void): void;
  dropDisk(snapshotId: string): void;
}

export class ImageStore {
  readonly snapshots = new Map<string, EmuSnapshot>();
  readonly images = new Map<string, EmuImage>();
  private readonly state: Disks;

  constructor(state: Disks) {
    this.state = state;
  }

  snapshot(zone: string, id: string): EmuSnapshot {
    const s = this.snapshots.get(id);
    if (!s || s.zone !== zone) throw ApiError.notFound('snapshot', id);
    return s;
  }

  image(zone: string, id: string): EmuImage {
    const image = this.images.get(id);
    if (!image || image.zone !== zone) throw ApiError.notFound('instance_image', id);
    return image;
  }

  /** Images using a snapshot (its `references`). */
  usersOf(snapshotId: string): EmuImage[] {
    return [...this.images.values()].filter((i) => i.rootSnapshotId === snapshotId);
  }

  createSnapshot(zone: string, input: { volumeId: string; name: string; project: string; tags: string[] }): EmuSnapshot {
    const volume = this.state.blockVolume(zone, input.volumeId);
    const now = new Date().toISOString();
    const snapshot: EmuSnapshot = {
      id: randomUUID(),
      zone,
      name: input.name,
      project: input.project,
      tags: [...input.tags],
      size: volume.size,
      parentVolume: { id: volume.id, name: volume.name },
      status: 'creating',
      createdAt: now,
      updatedAt: now,
    };
    this.snapshots.set(snapshot.id, snapshot);
    // The copy itself: the real machine's disk in real-host mode, a timer otherwise.
    this.state.copyDisk(volume.serverId, snapshot.id, (ok) => {
      if (this.snapshots.get(snapshot.id) !== snapshot) return;
      snapshot.status = ok ? 'available' : 'error';
      snapshot.updatedAt = new Date().toISOString();
    });
    return snapshot;
  }

  deleteSnapshot(zone: string, id: string): void {
    const snapshot = this.snapshot(zone, id);
    const users = this.usersOf(id);
    if (users.length > 0) throw ApiError.preconditionFailed('resource_still_in_use', `snapshot is still used by image ${users[0]!.id}`);
    if (snapshot.status === 'creating') throw ApiError.preconditionFailed('resource_not_usable', 'snapshot is being created');
    this.snapshots.delete(id);
    this.state.dropDisk(id);
  }

  createImage(zone: string, input: { name: string; rootVolume: string; project: string; tags: string[]; arch: string }): EmuImage {
    const snapshot = this.snapshot(zone, input.rootVolume);
    if (snapshot.status !== 'available' && snapshot.status !== 'in_use') throw ApiError.invalid('snapshot is not available');
    const now = new Date().toISOString();
    const image: EmuImage = {
      id: randomUUID(),
      zone,
      name: input.name,
      project: input.project,
      tags: [...input.tags],
      arch: input.arch,
      rootSnapshotId: snapshot.id,
      state: 'available',
      createdAt: now,
      modifiedAt: now,
    };
    this.images.set(image.id, image);
    snapshot.status = 'in_use';
    snapshot.updatedAt = now;
    return image;
  }

  deleteImage(zone: string, id: string): void {
    const image = this.image(zone, id);
    this.images.delete(id);
    const snapshot = this.snapshots.get(image.rootSnapshotId);
    if (snapshot && this.usersOf(snapshot.id).length === 0) {
      snapshot.status = 'available';
      snapshot.updatedAt = new Date().toISOString();
    }
  }

  /**
   * The boot volume of a server created from `image` (an id or a public label): a custom image
   * must be of the server's zone and its snapshot fits in the volume asked for.
   */
  bootSource(zone: string, image: string, volumeBytes: number): { snapshotId: string | null; name: string } {
    if (!UUID.test(image)) return { snapshotId: null, name: image };
    const found = this.image(zone, image);
    const snapshot = this.snapshots.get(found.rootSnapshotId);
    if (!snapshot) throw ApiError.invalid(`image ${image} has lost its snapshot`);
    if (volumeBytes < snapshot.size) {
      throw ApiError.invalidArgument('volumes.0.size', `size must be at least ${snapshot.size} bytes (the image's snapshot)`);
    }
    return { snapshotId: snapshot.id, name: found.name };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
