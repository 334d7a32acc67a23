/**
 * Custom images through the Scaleway adapter (official SDK, over HTTP) against
 * the emulator: a Block snapshot of a boot volume, the Instance image over it,
 * a server booted from it, and the real API's refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.ts';
import { ProviderError } from '../../../src/errors.ts';
import type { ComputeProvider, Zone } from '../../../src/providers/compute/interface.ts';
import { createScalewayCompute } from '../../../src/providers/compute/scaleway.ts';
import { ScalewayEmulator } from '../../../src/sandbox/scaleway/emulator.ts';

const ZONE: Zone = 'fr-par-1';
const PROJECT = '00000000-0000-4000-8000-000000000001';
const CREDENTIALS = { accessKey: 'SCWSANDBOX0000000000', secretKey: '00000000-0000-4000-8000-000000000000', projectId: PROJECT };

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
let emulator: ScalewayEmulator;
let compute: ComputeProvider;

beforeAll(async () => {
  // A snapshot is `creating` for a while, as on Scaleway (1–35 s recorded).
  emulator = new ScalewayEmulator({ snapshotDelayMs: 300 });
  await emulator.start();
  compute = createScalewayCompute({ ...CREDENTIALS, apiUrl: emulator.url, clock });
});

afterAll(async () => {
  await emulator.stop();
});

async function bootVolumeOf(name: string, zone: Zone = ZONE, image = 'debian_bookworm') {
  const server = await compute.createServer({
    zone,
    name,
    commercialType: zone === 'fr-par-3' ? 'PRO2-XXS' : 'DEV1-S',
    image,
    cloudInit: '#cloud-config\n',
    tags: [`t:${name}`],
    ipIds: [],
  });
  return { server, volumeId: server.volumeIds[0]! };
}

/** Polls the snapshot until it leaves `creating` (the emulator copies on the next tick). */
async function available(zone: Zone, snapshotId: string) {
  for (;;) {
    const s = await compute.getSnapshot(zone, snapshotId);
    if (s && s.status !== 'creating') return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function refusal(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('scaleway custom images', () => {
  it('snapshots a boot volume, images it, and boots a server from the image whose volume comes from the snapshot', async () => {
    const { volumeId } = await bootVolumeOf('bake-1');
    const snapshot = await compute.snapshotVolume(ZONE, volumeId, { name: 'mail-bake', tags: ['mailplane-image'] });
    expect(snapshot.status).toBe('creating');
    expect((await available(ZONE, snapshot.id)).status).toBe('available');

    const image = await compute.createImage(ZONE, { name: 'mailplane-mail-abc', snapshotId: snapshot.id, tags: ['mailplane-image', 'packages=abc'] });
    expect(image).toMatchObject({ zone: ZONE, state: 'available', snapshotId: snapshot.id });
    // The image now holds its snapshot (an instance_image link).
    expect((await compute.getSnapshot(ZONE, snapshot.id))!.status).toBe('in_use');
    expect((await compute.findImagesByTag(ZONE, ['mailplane-image', 'packages=abc'])).map((i) => i.id)).toEqual([image.id]);
    expect(await compute.findImagesByTag(ZONE, ['mailplane-image', 'packages=other'])).toEqual([]);

    const { server } = await bootVolumeOf('from-image', ZONE, image.id);
    expect(server.imageId).toBe(image.id);
    const res = await fetch(`${emulator.url}/block/v1/zones/${ZONE}/volumes/${server.volumeIds[0]}`, { headers: { 'X-Auth-Token': 'x' } });
    expect(((await res.json()) as { parent_snapshot_id: string }).parent_snapshot_id).toBe(snapshot.id);
  });

  it('is per zone: the image is not found from another zone, for an image or a server', async () => {
    const { volumeId } = await bootVolumeOf('bake-2');
    const snapshot = await compute.snapshotVolume(ZONE, volumeId, { name: 's2', tags: [] });
    await available(ZONE, snapshot.id);
    const image = await compute.createImage(ZONE, { name: 'i2', snapshotId: snapshot.id, tags: [] });
    expect(await compute.getImage('nl-ams-1', image.id)).toBeNull();
    expect((await refusal(compute.createImage('nl-ams-1', { name: 'x', snapshotId: snapshot.id, tags: [] }))).providerStatus).toBe(404);
    expect((await refusal(bootVolumeOf('elsewhere', 'nl-ams-1', image.id))).providerStatus).toBe(404);
  });

  it('refuses an image from a snapshot that is still being created', async () => {
    const { volumeId } = await bootVolumeOf('bake-3');
    const snapshot = await compute.snapshotVolume(ZONE, volumeId, { name: 's3', tags: [] });
    const err = await refusal(compute.createImage(ZONE, { name: 'too-early', snapshotId: snapshot.id, tags: [] }));
    expect(err.providerStatus).toBe(400);
    expect(err.detail).toMatch(/snapshot is not available/);
    await available(ZONE, snapshot.id);
  });

  it('keeps a snapshot an image uses; deleting the image frees it, and deletes are idempotent', async () => {
    const { volumeId } = await bootVolumeOf('bake-4');
    const snapshot = await compute.snapshotVolume(ZONE, volumeId, { name: 's4', tags: [] });
    await available(ZONE, snapshot.id);
    const image = await compute.createImage(ZONE, { name: 'i4', snapshotId: snapshot.id, tags: [] });
    expect((await refusal(compute.deleteSnapshot(ZONE, snapshot.id))).providerStatus).toBe(412);
    await compute.deleteImage(ZONE, image.id);
    await compute.deleteImage(ZONE, image.id);
    expect(await compute.getImage(ZONE, image.id)).toBeNull();
    expect((await compute.getSnapshot(ZONE, snapshot.id))!.status).toBe('available');
    await compute.deleteSnapshot(ZONE, snapshot.id);
    await compute.deleteSnapshot(ZONE, snapshot.id);
    expect(await compute.getSnapshot(ZONE, snapshot.id)).toBeNull();
  });

  it('refuses a boot volume smaller than the image snapshot', async () => {
    const { server, volumeId } = await bootVolumeOf('bake-5');
    await compute.powerOn(ZONE, server.id);
    const big = await compute.createServer({
      zone: ZONE,
      name: 'big',
      commercialType: 'DEV1-S',
      image: 'debian_bookworm',
      cloudInit: '#cloud-config\n',
      tags: [],
      ipIds: [],
      rootVolumeBytes: 20_000_000_000,
    });
    const snapshot = await compute.snapshotVolume(ZONE, big.volumeIds[0]!, { name: 's5', tags: [] });
    await available(ZONE, snapshot.id);
    const image = await compute.createImage(ZONE, { name: 'i5', snapshotId: snapshot.id, tags: [] });
    const err = await refusal(
      compute.createServer({ zone: ZONE, name: 'small', commercialType: 'DEV1-S', image: image.id, cloudInit: '#cloud-config\n', tags: [], ipIds: [] }),
    );
    expect(err.providerStatus).toBe(400);
    expect(volumeId).toBeTruthy();
  });

  it('powers a server off (stopped, disk kept), and again without error', async () => {
    const { server } = await bootVolumeOf('stop-me');
    await compute.powerOn(ZONE, server.id);
    await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 5_000, intervalMs: 5 });
    await compute.powerOff(ZONE, server.id);
    const stopped = await compute.waitForState(ZONE, server.id, 'stopped', { timeoutMs: 5_000, intervalMs: 5 });
    expect(stopped.volumeIds).toHaveLength(1);
    await compute.powerOff(ZONE, server.id);
  });
});
