/**
 * The IAM half of backup storage, on the official Scaleway SDK: one IAM
 * application per server (named for it, so a crashed call finds it again),
 * a policy giving it the Object Storage object permission sets in the
 * project — the bucket policy then narrows that to its own bucket — and API
 * keys for it. Also finds out who the control plane's own key is, because
 * the bucket policy must name that principal or the control plane locks
 * itself out of the bucket.
 */
import { createAdvancedClient, withHTTPClient, withProfile, withUserAgentSuffix } from '@scaleway/sdk-client';
import type { Iamv1alpha1 } from '@scaleway/sdk-iam';
import { scalewayHttpClient, toProviderError, isNotFound } from '../compute/scaleway-errors.ts';

export interface ScalewayIamOptions {
  accessKey: string;
  secretKey: string;
  projectId: string;
  apiUrl?: string;
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
}

/** What a server's key needs from IAM; the bucket policy decides which bucket. */
const SERVER_PERMISSION_SETS = ['ObjectStorageObjectsRead', 'ObjectStorageObjectsWrite', 'ObjectStorageObjectsDelete'];

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toProviderError(err);
  }
}

export class ScalewayBackupIam {
  private readonly opts: ScalewayIamOptions;
  private self: Promise<{ principal: string; organizationId: string }> | null = null;
  private loaded: Promise<Iamv1alpha1.API> | null = null;

  constructor(opts: ScalewayIamOptions) {
    this.opts = opts;
  }

  /** The IAM API, its SDK loaded on first use (most processes never mint a key). */
  private get api(): Promise<Iamv1alpha1.API> {
    this.loaded ??= import('@scaleway/sdk-iam').then(
      ({ Iamv1alpha1: iam }) =>
        new iam.API(
          createAdvancedClient(
            withProfile({
              accessKey: this.opts.accessKey,
              secretKey: this.opts.secretKey,
              defaultProjectId: this.opts.projectId,
              ...(this.opts.apiUrl ? { apiURL: this.opts.apiUrl.replace(/\/+$/, '') } : {}),
            }),
            withHTTPClient(scalewayHttpClient(this.opts.fetch, this.opts.requestTimeoutMs ?? 30_000)),
            withUserAgentSuffix('mailplane'),
          ),
        ),
    );
    return this.loaded;
  }

  /** The control plane's principal as bucket policies name it, and its Organization. */
  whoAmI(): Promise<{ principal: string; organizationId: string }> {
    this.self ??= (async () => {
      const key = await call(async () => (await this.api).getAPIKey({ accessKey: this.opts.accessKey }));
      if (key.applicationId) {
        const app = await call(async () => (await this.api).getApplication({ applicationId: key.applicationId! }));
        return { principal: `application_id:${app.id}`, organizationId: app.organizationId };
      }
      const user = await call(async () => (await this.api).getUser({ userId: key.userId! }));
      return { principal: `user_id:${user.id}`, organizationId: user.organizationId };
    })();
    // A failed lookup is asked again next time, not remembered.
    this.self.catch(() => {
      this.self = null;
    });
    return this.self;
  }

  private async findApplication(name: string, organizationId: string): Promise<Iamv1alpha1.Application | null> {
    const apps = await call(async () => (await this.api).listApplications({ name, organizationId }).all());
    return apps.find((a) => a.name === name) ?? null;
  }

  /** The server's application with its policy, created if missing; returns its id. */
  async ensureServerApplication(name: string): Promise<string> {
    const { organizationId } = await this.whoAmI();
    const app =
      (await this.findApplication(name, organizationId)) ??
      (await call(async () =>
        (
          await this.api
        ).createApplication({ name, organizationId, description: "mailplane: one server's backup key (its own bucket only)", tags: ['mailplane-backup'] }),
      ));
    const policies = await call(async () => (await this.api).listPolicies({ applicationIds: [app.id], organizationId }).all());
    if (!policies.some((p) => p.name === name)) {
      await call(async () =>
        (await this.api).createPolicy({
          name,
          organizationId,
          applicationId: app.id,
          description: 'Object Storage objects in the backups project; the bucket policy narrows it to one bucket',
          rules: [{ permissionSetNames: SERVER_PERMISSION_SETS, projectIds: [this.opts.projectId], condition: '' }],
          tags: ['mailplane-backup'],
        }),
      );
    }
    return app.id;
  }

  async createKey(applicationId: string, description: string): Promise<{ accessKey: string; secretKey: string }> {
    const key = await call(async () => (await this.api).createAPIKey({ applicationId, description, defaultProjectId: this.opts.projectId }));
    if (!key.secretKey) throw toProviderError(new Error('IAM returned an API key without its secret'));
    return { accessKey: key.accessKey, secretKey: key.secretKey };
  }

  /** Deletes the application's keys, its policies and the application; nothing there is fine. */
  async deleteServerApplication(name: string): Promise<void> {
    const { organizationId } = await this.whoAmI();
    const app = await this.findApplication(name, organizationId);
    if (!app) return;
    const ignoreGone = async (fn: () => Promise<unknown>) => {
      try {
        await call(fn);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    for (const key of await call(async () => (await this.api).listAPIKeys({ bearerId: app.id }).all()))
      await ignoreGone(async () => (await this.api).deleteAPIKey({ accessKey: key.accessKey }));
    for (const policy of await call(async () => (await this.api).listPolicies({ applicationIds: [app.id], organizationId }).all()))
      await ignoreGone(async () => (await this.api).deletePolicy({ policyId: policy.id }));
    await ignoreGone(async () => (await this.api).deleteApplication({ applicationId: app.id }));
  }
}
