/**
 * The part of Scaleway IAM that Object Storage keys come from: applications,
 * their policies (permission sets in a project) and their API keys. The
 * object storage emulator asks it who an access key is and what IAM lets
 * that bearer do. The sandbox account's own key (SCW_ACCESS_KEY) belongs to
 * an application with full access, as an operator's production key should
 * (an application key, not a person's), so the control plane's own access to
 * a bucket goes through the bucket policy like any other principal's.
 *
 * State: <dir>/iam.json, rewritten after every change.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PERMISSION_SETS, type Principal } from './policy.ts';

export const SANDBOX_ORGANIZATION = '00000000-0000-4000-8000-000000000002';
export const SANDBOX_ACCOUNT_APPLICATION = '00000000-0000-4000-8000-000000000003';

export interface IamApplication {
  id: string;
  name: string;
  description: string;
  organizationId: string;
  tags: string[];
  createdAt: number;
}
export interface IamRule {
  permissionSetNames: string[];
  projectIds: string[] | null;
  organizationId: string | null;
}
export interface IamPolicy {
  id: string;
  name: string;
  description: string;
  organizationId: string;
  applicationId: string | null;
  userId: string | null;
  rules: IamRule[];
  tags: string[];
  createdAt: number;
}
export interface IamApiKey {
  accessKey: string;
  secretKey: string;
  applicationId: string | null;
  userId: string | null;
  description: string;
  defaultProjectId: string;
  createdAt: number;
  expiresAt: number | null;
}

interface IamSnapshot {
  applications: IamApplication[];
  policies: IamPolicy[];
  apiKeys: IamApiKey[];
}

export interface AccountKey {
  accessKey: string;
  secretKey: string;
  projectId: string;
}

export class IamState {
  readonly applications = new Map<string, IamApplication>();
  readonly policies = new Map<string, IamPolicy>();
  readonly apiKeys = new Map<string, IamApiKey>();
  private readonly file: string;

  constructor(dir: string, account: AccountKey, now: number) {
    this.file = join(dir, 'iam.json');
    if (existsSync(this.file)) {
      const snap = JSON.parse(readFileSync(this.file, 'utf8')) as IamSnapshot;
      for (const a of snap.applications) this.applications.set(a.id, a);
      for (const p of snap.policies) this.policies.set(p.id, p);
      for (const k of snap.apiKeys) this.apiKeys.set(k.accessKey, k);
    }
    this.seedAccount(account, now);
  }

  /** The sandbox account's key: an application with every permission in the organization. */
  private seedAccount(account: AccountKey, now: number): void {
    this.applications.set(SANDBOX_ACCOUNT_APPLICATION, {
      id: SANDBOX_ACCOUNT_APPLICATION,
      name: 'mailplane-sandbox-account',
      description: 'the sandbox account key (SCW_ACCESS_KEY)',
      organizationId: SANDBOX_ORGANIZATION,
      tags: [],
      createdAt: now,
    });
    this.policies.set('00000000-0000-4000-8000-000000000004', {
      id: '00000000-0000-4000-8000-000000000004',
      name: 'mailplane-sandbox-account',
      description: '',
      organizationId: SANDBOX_ORGANIZATION,
      applicationId: SANDBOX_ACCOUNT_APPLICATION,
      userId: null,
      rules: [{ permissionSetNames: ['AllProductsFullAccess'], projectIds: null, organizationId: SANDBOX_ORGANIZATION }],
      tags: [],
      createdAt: now,
    });
    this.apiKeys.set(account.accessKey, {
      accessKey: account.accessKey,
      secretKey: account.secretKey,
      applicationId: SANDBOX_ACCOUNT_APPLICATION,
      userId: null,
      description: 'sandbox account key',
      defaultProjectId: account.projectId,
      createdAt: now,
      expiresAt: null,
    });
  }

  save(): void {
    const snap: IamSnapshot = { applications: [...this.applications.values()], policies: [...this.policies.values()], apiKeys: [...this.apiKeys.values()] };
    writeFileSync(`${this.file}.tmp`, JSON.stringify(snap), { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }

  /** `SCW` + 17 characters, as Scaleway's access keys look. */
  newAccessKey(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return `SCW${[...randomBytes(17)].map((b) => alphabet[b % alphabet.length]).join('')}`;
  }

  newId(): string {
    return randomUUID();
  }

  /** The key's secret and its bearer as S3 authorisation needs them; null when no such (live) key exists. */
  principalOf(accessKey: string, projectId: string, now: number): { secret: string; principal: Principal } | null {
    const key = this.apiKeys.get(accessKey);
    if (!key || (key.expiresAt !== null && key.expiresAt <= now)) return null;
    const bearer = key.applicationId ? { applicationId: key.applicationId } : { userId: key.userId };
    const policies = [...this.policies.values()].filter(
      (p) => (bearer.applicationId !== undefined && p.applicationId === bearer.applicationId) || (bearer.userId !== undefined && p.userId === bearer.userId),
    );
    const iamActions = policies
      .flatMap((p) => p.rules)
      .filter((r) => r.organizationId !== null || (r.projectIds ?? []).includes(projectId))
      .flatMap((r) => r.permissionSetNames.flatMap((name) => PERMISSION_SETS[name] ?? []));
    const id = key.applicationId ? `application_id:${key.applicationId}` : `user_id:${key.userId}`;
    return { secret: key.secretKey, principal: { id, iamActions } };
  }

  /** The bearer of an X-Auth-Token (a secret key), as the IAM API authenticates it; null when unknown. */
  principalBySecret(secret: string, projectId: string, now: number): Principal | null {
    const key = [...this.apiKeys.values()].find((k) => k.secretKey === secret);
    return key ? (this.principalOf(key.accessKey, projectId, now)?.principal ?? null) : null;
  }

  deleteApplication(id: string): boolean {
    if (!this.applications.delete(id)) return false;
    // Scaleway deletes an application's API keys with it; its policies lose their principal.
    for (const [k, key] of this.apiKeys) if (key.applicationId === id) this.apiKeys.delete(k);
    for (const [k, policy] of this.policies) if (policy.applicationId === id) this.policies.delete(k);
    this.save();
    return true;
  }
}
