/**
 * The sandbox wires Object Storage as the product uses it: its environment
 * names the S3 endpoints, the composition root builds the backup storage from
 * it, IAM answers at the Scaleway emulator's URL, and what was stored is
 * served again by the next sandbox on the same data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { createProviders } from '../../../src/provider-set.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';
import { s3With } from '../../support/object-storage.ts';

const SERVER = '0e000000-0000-4000-8000-00000000000e';
let dataDir = '';
const started: Sandbox[] = [];

afterAll(async () => {
  for (const s of started) await s.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function storageOn(sandbox: Sandbox) {
  const config = loadConfig({ ...sandbox.env(), MAILPLANE_DATA_DIR: dataDir });
  return (await createProviders(config, createLogger({ level: 'silent', pretty: false }), systemClock, { sandbox })).storage;
}

it('builds backup storage from the sandbox environment, and keeps its objects and keys across a restart', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mailplane-objstore-sandbox-'));
  const first = new Sandbox({ compute: true, dns: true, billing: true, dataDir, dnsblZones: [] });
  started.push(first);
  await first.start();
  const env = first.env();
  expect(env['SCW_S3_ENDPOINT']).toBe(first.objectStorage!.url);
  // Emulated hosts run nothing: servers and mailplane share the loopback endpoint.
  expect(env['SCW_S3_SERVER_ENDPOINT']).toBe(first.objectStorage!.url);
  const access = await (await storageOn(first)).ensureServerRepository({ serverId: SERVER, region: 'pl-waw', noncurrentRetentionDays: 2 });
  expect(access).toMatchObject({ region: 'pl-waw', bucket: `mp-backup-${SERVER}`, repository: `s3:${env['SCW_S3_ENDPOINT']}/mp-backup-${SERVER}` });
  await s3With(access).send(new PutObjectCommand({ Bucket: access.bucket, Key: 'keys/k1', Body: 'restic key file' }));
  await first.stop();

  const second = new Sandbox({ compute: true, dns: true, billing: true, dataDir, dnsblZones: [] });
  started.push(second);
  await second.start();
  const again = { ...access, endpoint: second.objectStorage!.url };
  const listed = await s3With(again).send(new ListObjectsV2Command({ Bucket: access.bucket }));
  expect(listed.Contents?.map((c) => c.Key)).toEqual(['keys/k1']);
  expect(await (await storageOn(second)).countObjectVersions({ serverId: SERVER, region: 'pl-waw' })).toBe(1);
});
