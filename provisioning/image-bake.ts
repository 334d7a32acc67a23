/**
 * One bake of a zone's mail-server image, as one pg-boss job (`images.bake`)
 * that pg-boss retries with backoff. A fresh instance from the stock image
 * gets the packages (bake-image.sh), is stopped, its boot volume snapshotted
 * and imaged, and the instance deleted. Each phase stores what it made before
 * moving on, so a retry resumes: from the snapshot on, nothing is redone.
 * The instance phase is one piece (its SSH keys live only in memory for the
 * attempt): a retry deletes the half-built instance and starts it again.
 */
import { and, eq, lt, ne } from 'drizzle-orm';
import { generateEd25519KeyPair } from '../src/crypto/ssh-keys.ts';
import { mailImages, type BakePhase } from '../src/db/schema/index.ts';
import { renderBakeFiles } from '../src/mailstack/bake-files.ts';
import { renderCloudInit } from '../src/mailstack/cloud-init.ts';
import type { Zone } from '../src/providers/compute/interface.ts';
import type { ProvisioningDeps } from './context.ts';
import { IMAGE_TAG, bakeTag, digestTag } from './image-choice.ts';
import { createDeployUser } from './deploy-user.ts';
import { BOOTSTRAP_USER, runScript } from './remote.ts';

export type BakeDeps = Pick<ProvisioningDeps, 'database' | 'compute' | 'remote' | 'clock' | 'log' | 'settings'>;
type BakeRow = typeof mailImages.$inferSelect;

const LOG_LIMIT = 16 * 1024;
const SNAPSHOT_TIMEOUT_MS = 60 * 60_000;

export async function runBake(deps: BakeDeps, bakeId: string, job: { retryCount: number; retryLimit: number; signal?: AbortSignal }): Promise<void> {
  const db = deps.database.db;
  const [row] = await db.select().from(mailImages).where(eq(mailImages.id, bakeId));
  if (row?.status !== 'baking') return;
  let log = row.log;
  // Kept in memory and written with each phase's result (a script prints thousands of lines).
  const note = async (line: string) => {
    log = `${log}${new Date(deps.clock.now()).toISOString()} ${line}\n`.slice(-LOG_LIMIT);
  };
  const save = (patch: Partial<BakeRow>) =>
    db
      .update(mailImages)
      .set({ ...patch, log })
      .where(eq(mailImages.id, bakeId));
  await save({ attempts: row.attempts + 1 });
  const zone = row.zone as Zone;
  let current: BakeRow = row;
  try {
    while (current.phase !== 'done') {
      const next = await PHASES[current.phase](deps, current, note, job.signal);
      await save({ ...next.patch, phase: next.phase });
      current = { ...current, ...next.patch, phase: next.phase };
    }
    await note(`image ${current.imageId} available in ${zone}`);
    await retireOlder(deps, current, note);
    await save({ status: 'available', finishedAt: new Date(deps.clock.now()), error: null });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await note(`attempt ${row.attempts + 1} failed: ${message}`);
    if (job.retryCount < job.retryLimit) {
      await save({ error: message });
      throw err;
    }
    // The last attempt: nothing of this bake may stay billed.
    await removeLeftovers(deps, current, { keepImage: false }).catch((e: unknown) => deps.log.warn({ err: e, bakeId }, 'image bake: cleanup failed'));
    await save({ status: 'failed', error: message, finishedAt: new Date(deps.clock.now()) });
  }
}

type Note = (line: string) => Promise<void>;
type Phase = (deps: BakeDeps, row: BakeRow, note: Note, signal?: AbortSignal) => Promise<{ phase: BakePhase; patch: Partial<BakeRow> }>;

const PHASES: Record<Exclude<BakePhase, 'done'>, Phase> = {
  async instance(deps, row, note, signal) {
    const zone = row.zone as Zone;
    await removeLeftovers(deps, row, { keepImage: false });
    const tags = [IMAGE_TAG, bakeTag(row.id)];
    const ip = await deps.compute.createIp(zone, 'ipv4', tags);
    const hostname = `bake-${row.id.slice(0, 8)}.mailplane.invalid`;
    const host = generateEd25519KeyPair(`root@${hostname}`);
    const deploy = generateEd25519KeyPair(`mailplane-bake@${row.id}`);
    const server = await deps.compute.createServer({
      zone,
      name: hostname,
      commercialType: await deps.settings.imageBakeTypeFor(zone),
      image: deps.settings.image,
      tags,
      ipIds: [ip.id],
      cloudInit: renderCloudInit({
        hostname,
        hostKeys: { ed25519Private: host.privateKeyOpenSsh, ed25519Public: host.publicKeyOpenSsh },
        deployPublicKey: deploy.publicKeyOpenSsh,
        // Root, as on a server's new instance: the bake moves it to the deploy user as a first session does.
        deployUser: BOOTSTRAP_USER,
      }),
    });
    await note(`instance ${server.id} from ${deps.settings.image} with ${ip.address}`);
    await deps.database.db.update(mailImages).set({ providerServerId: server.id }).where(eq(mailImages.id, row.id));
    await deps.compute.powerOn(zone, server.id);
    await deps.compute.waitForState(zone, server.id, 'running', {
      timeoutMs: deps.settings.serverBootTimeoutMs,
      intervalMs: deps.settings.pollIntervalMs,
      ...(signal ? { signal } : {}),
    });
    const endpoint = await deps.settings.sshEndpoint({ id: server.id, ipv4: ip.address });
    const session = await connectWhenUp(deps, {
      ...endpoint,
      username: BOOTSTRAP_USER,
      privateKey: deploy.privateKeyOpenSsh,
      hostKeyFingerprint: host.fingerprintSha256,
      readyTimeoutMs: 15_000,
    });
    try {
      // The deploy user, its sudo rule and SFTP under sudo are in the image (so a server's first
      // session only writes its key); bake-image.sh then removes the bake's key from every account.
      await createDeployUser(session, { hostname, deployPublicKey: deploy.publicKeyOpenSsh });
      await session.upload(renderBakeFiles(hostname).map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
      await runScript(session, 'bake-image.sh', (line) => void note(line));
    } finally {
      await session.close().catch(() => {});
    }
    return { phase: 'stopping', patch: { providerServerId: server.id } };
  },

  async stopping(deps, row, note, signal) {
    const zone = row.zone as Zone;
    await deps.compute.powerOff(zone, row.providerServerId!);
    await deps.compute.waitForState(zone, row.providerServerId!, 'stopped', {
      timeoutMs: deps.settings.serverBootTimeoutMs,
      intervalMs: deps.settings.pollIntervalMs,
      ...(signal ? { signal } : {}),
    });
    await note('instance stopped');
    return { phase: 'snapshotting', patch: {} };
  },

  async snapshotting(deps, row, note) {
    const zone = row.zone as Zone;
    let snapshotId = row.snapshotId;
    if (!snapshotId || !(await deps.compute.getSnapshot(zone, snapshotId))) {
      const server = await deps.compute.getServer(zone, row.providerServerId!);
      const volumeId = server?.volumeIds[0];
      if (!volumeId) throw new Error(`bake instance ${row.providerServerId} has no boot volume`);
      const snapshot = await deps.compute.snapshotVolume(zone, volumeId, { name: `mailplane-mail-${row.packageDigest}`, tags: [IMAGE_TAG, bakeTag(row.id)] });
      snapshotId = snapshot.id;
      await deps.database.db.update(mailImages).set({ snapshotId }).where(eq(mailImages.id, row.id));
      await note(`snapshot ${snapshotId} of volume ${volumeId}`);
    }
    const deadline = deps.clock.now() + SNAPSHOT_TIMEOUT_MS;
    for (;;) {
      const s = await deps.compute.getSnapshot(zone, snapshotId);
      if (s?.status === 'available' || s?.status === 'in_use') break;
      if (!s || s.status === 'error') throw new Error(`snapshot ${snapshotId} is ${s?.status ?? 'gone'}`);
      if (deps.clock.now() > deadline) throw new Error(`snapshot ${snapshotId} still ${s.status} after an hour`);
      await deps.clock.sleep(deps.settings.pollIntervalMs);
    }
    return { phase: 'imaging', patch: { snapshotId } };
  },

  async imaging(deps, row, note) {
    const zone = row.zone as Zone;
    const [existing] = await deps.compute.findImagesByTag(zone, [IMAGE_TAG, bakeTag(row.id)]);
    const day = new Date(deps.clock.now()).toISOString().slice(0, 10).replace(/-/g, '');
    const image =
      existing ??
      (await deps.compute.createImage(zone, {
        name: `mailplane-mail-${row.packageDigest}-${day}`,
        snapshotId: row.snapshotId!,
        tags: [IMAGE_TAG, digestTag(row.packageDigest), bakeTag(row.id)],
      }));
    await note(`image ${image.id} (${image.name})`);
    return { phase: 'cleanup', patch: { imageId: image.id } };
  },

  async cleanup(deps, row, note) {
    await removeLeftovers(deps, row, { keepImage: true });
    await note('bake instance and its address deleted');
    return { phase: 'done', patch: {} };
  },
};

/** SSH comes up a little after `running`: try until the boot timeout. */
async function connectWhenUp(deps: BakeDeps, target: Parameters<BakeDeps['remote']['connect']>[0]) {
  const deadline = deps.clock.now() + deps.settings.serverBootTimeoutMs;
  for (;;) {
    try {
      return await deps.remote.connect(target);
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable === true;
      if (!retryable || deps.clock.now() > deadline) throw err;
      await deps.clock.sleep(Math.max(deps.settings.pollIntervalMs, 500));
    }
  }
}

/** The bake's instance, address and (unless kept) image and snapshot, found by its tag. */
async function removeLeftovers(deps: BakeDeps, row: BakeRow, opts: { keepImage: boolean }): Promise<void> {
  const zone = row.zone as Zone;
  const tag = bakeTag(row.id);
  for (const server of await deps.compute.findServersByTag(zone, tag)) await deps.compute.deleteServer(zone, server.id);
  for (const ip of await deps.compute.findIpsByTag(zone, tag)) await deps.compute.deleteIp(zone, ip.id);
  if (opts.keepImage) return;
  for (const image of await deps.compute.findImagesByTag(zone, [IMAGE_TAG, tag])) await deps.compute.deleteImage(zone, image.id);
  if (row.snapshotId) await deps.compute.deleteSnapshot(zone, row.snapshotId);
}

/** Older images of the zone go once a new one is available (a server keeps nothing of its image but a copy). */
async function retireOlder(deps: BakeDeps, row: BakeRow, note: Note): Promise<void> {
  const zone = row.zone as Zone;
  const older = await deps.database.db
    .select()
    .from(mailImages)
    .where(and(eq(mailImages.zone, zone), eq(mailImages.status, 'available'), ne(mailImages.id, row.id), lt(mailImages.createdAt, row.createdAt)));
  for (const old of older) {
    if (old.imageId) await deps.compute.deleteImage(zone, old.imageId);
    if (old.snapshotId) await deps.compute.deleteSnapshot(zone, old.snapshotId);
    await deps.database.db.update(mailImages).set({ status: 'retired' }).where(eq(mailImages.id, old.id));
    await note(`retired image ${old.imageId} (packages ${old.packageDigest})`);
  }
}
