/**
 * Scaleway Object Storage emulator: the S3 wire format real clients speak
 * (restic through minio-go, the AWS SDK), with SigV4, versioning, lifecycle,
 * bucket policies and the IAM keys they are evaluated for. One listener
 * serves every region: the region is the one the request is signed for, and
 * a bucket answers only in its own (as s3.<region>.scw.cloud does).
 *
 * Listens on 127.0.0.1 (HTTP); in real-host mode also on the sandbox uplink
 * with HTTPS from the sandbox CA, where the hosts' restic reaches it.
 * State lives under <dataDir>/sandbox-object-storage/: object bodies as files,
 * bucket indexes and IAM as JSON (bucket-store.ts, iam.ts).
 */
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { BucketStore } from './bucket-store.ts';
import { IamState, type AccountKey } from './iam.ts';
import { registerIamRoutes } from './iam-routes.ts';
import { sweepLifecycle } from './lifecycle.ts';
import { handleS3 } from './s3-handler.ts';

export interface ObjectStorageEmulatorOptions {
  dataDir: string;
  /** The sandbox account's key (SCW_ACCESS_KEY/SCW_SECRET_KEY) and project: full rights. */
  account: AccountKey;
  /** Injectable time: signatures' clock skew, lifecycle ages. */
  now?: () => number;
  /** How often the lifecycle rules are applied in the background; 0: only on sweepLifecycle(). Default one hour. */
  sweepEveryMs?: number;
  log?: (line: string) => void;
}

export const objectStorageDir = (dataDir: string) => join(dataDir, 'sandbox-object-storage');

export class ObjectStorageEmulator {
  readonly iam: IamState;
  readonly store: BucketStore;
  private readonly opts: ObjectStorageEmulatorOptions;
  private readonly now: () => number;
  private readonly servers: Server[] = [];
  private loopbackUrl: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly listener: ReturnType<typeof getRequestListener>;

  constructor(opts: ObjectStorageEmulatorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    const dir = objectStorageDir(opts.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.iam = new IamState(dir, opts.account, this.now());
    this.store = new BucketStore(dir);
    const deps = { store: this.store, iam: this.iam, projectId: opts.account.projectId, now: this.now };
    this.listener = getRequestListener((request, env) => handleS3(deps, request, ('incoming' in env ? env.incoming.url : undefined) ?? '/'));
  }

  /** IAM's routes, served by the Scaleway emulator (the SDK reaches IAM at the same API URL as Instance). */
  registerIamRoutes(app: Hono): void {
    registerIamRoutes(app, this.iam, this.now, this.opts.account.projectId);
  }

  async start(): Promise<void> {
    await this.store.load();
    const server = createHttpServer(this.listener);
    this.loopbackUrl = `http://127.0.0.1:${await listen(server, '127.0.0.1', 0)}`;
    this.servers.push(server);
    const every = this.opts.sweepEveryMs ?? 3_600_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.sweepLifecycle().catch((err: unknown) =>
          this.opts.log?.(`sandbox: object storage lifecycle sweep failed: ${err instanceof Error ? err.message : String(err)}`),
        );
      }, every);
      this.timer.unref();
    }
  }

  /** Also serves on host:port, over HTTPS when a certificate is given (real hosts, through the sandbox CA). */
  async listenAlso(host: string, port: number, tls?: { cert: Buffer; key: Buffer }): Promise<string> {
    const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, this.listener) : createHttpServer(this.listener);
    const bound = await listen(server, host, port);
    this.servers.push(server);
    return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  get url(): string {
    if (!this.loopbackUrl) throw new Error('object storage emulator not started');
    return this.loopbackUrl;
  }

  /** Applies the buckets' lifecycle rules now (as of the injected clock); returns what was removed. */
  sweepLifecycle(): Promise<number> {
    return sweepLifecycle(this.store, this.now());
  }

  /** Object versions and delete markers in a bucket (0 when it does not exist), for tests and the console. */
  countVersions(bucket: string): number {
    const b = this.store.buckets.get(bucket);
    return b ? Object.values(b.objects).reduce((n, versions) => n + versions.length, 0) : 0;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(
      this.servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
    this.loopbackUrl = null;
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
