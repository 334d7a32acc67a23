/**
 * Scaleway IAM v1alpha1 on the Scaleway emulator's base URL (the SDK reaches
 * IAM at the same apiURL as Instance): applications, policies, API keys, in
 * the real wire format (snake_case, RFC 3339 dates, `{ items, total_count }`
 * pages). Secrets are shown once, at API key creation, as Scaleway does.
 */
import type { Context, Hono } from 'hono';
import type { IamApiKey, IamApplication, IamPolicy, IamRule, IamState } from './iam.ts';
import { iamAllows } from './policy.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const applicationJson = (a: IamApplication, iam: IamState) => ({
  id: a.id,
  name: a.name,
  description: a.description,
  organization_id: a.organizationId,
  tags: a.tags,
  editable: true,
  deletable: true,
  managed: false,
  nb_api_keys: [...iam.apiKeys.values()].filter((k) => k.applicationId === a.id).length,
  created_at: iso(a.createdAt),
  updated_at: iso(a.createdAt),
});
const policyJson = (p: IamPolicy) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  organization_id: p.organizationId,
  application_id: p.applicationId ?? undefined,
  user_id: p.userId ?? undefined,
  tags: p.tags,
  editable: true,
  deletable: true,
  managed: false,
  nb_rules: p.rules.length,
  nb_scopes: p.rules.length,
  nb_permission_sets: p.rules.reduce((n, r) => n + r.permissionSetNames.length, 0),
  created_at: iso(p.createdAt),
  updated_at: iso(p.createdAt),
});
const apiKeyJson = (k: IamApiKey, withSecret: boolean) => ({
  access_key: k.accessKey,
  secret_key: withSecret ? k.secretKey : null,
  application_id: k.applicationId ?? undefined,
  user_id: k.userId ?? undefined,
  description: k.description,
  default_project_id: k.defaultProjectId,
  editable: true,
  deletable: true,
  managed: false,
  creation_ip: '127.0.0.1',
  created_at: iso(k.createdAt),
  updated_at: iso(k.createdAt),
  expires_at: iso(k.expiresAt),
});

/** Scaleway's 404 names the resource as recorded (an API key is an `access_key`, terraform-provider-scaleway cassettes). */
const notFound = (c: Context, resource: string, id: string) => c.json({ message: 'resource is not found', type: 'not_found', resource, resource_id: id }, 404);
const invalid = (c: Context, argument: string, help: string) =>
  c.json({ message: 'invalid argument(s)', type: 'invalid_arguments', details: [{ argument_name: argument, reason: 'constraint', help_message: help }] }, 400);

function paged<T>(c: Context, key: string, items: T[]) {
  const page = Number(c.req.query('page') ?? '1');
  const size = Number(c.req.query('page_size') ?? '20');
  if (!Number.isInteger(page) || page < 1) return invalid(c, 'page', 'must be a positive integer');
  if (!Number.isInteger(size) || size < 1 || size > 100) return invalid(c, 'page_size', 'must be between 1 and 100');
  return c.json({ [key]: items.slice((page - 1) * size, page * size), total_count: items.length });
}

async function body(c: Context): Promise<Record<string, unknown>> {
  try {
    return (await c.req.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function registerIamRoutes(app: Hono, iam: IamState, now: () => number, projectId: string): void {
  const base = '/iam/v1alpha1';
  // IAM checks the secret key itself and what its bearer may do: a server's Object Storage key mints nothing.
  app.use(`${base}/*`, async (c, next) => {
    const principal = iam.principalBySecret(c.req.header('X-Auth-Token') ?? '', projectId, now());
    if (!principal) return c.json({ message: 'authentication is denied', method: 'api_key', reason: 'not_found', type: 'denied_authentication' }, 401);
    if (!iamAllows(principal, c.req.method === 'GET' ? 'iam:read' : 'iam:write')) {
      return c.json(
        { message: 'insufficient permissions', type: 'permissions_denied', details: [{ resource: 'iam', action: c.req.method === 'GET' ? 'read' : 'write' }] },
        403,
      );
    }
    return next();
  });
  app.post(`${base}/applications`, async (c) => {
    const b = await body(c);
    const name = str(b['name']);
    const organizationId = str(b['organization_id']);
    if (!name || !/^[\w .:-]{1,64}$/.test(name)) return invalid(c, 'name', 'must be 1 to 64 characters');
    if (!organizationId) return invalid(c, 'organization_id', 'required');
    const a: IamApplication = {
      id: iam.newId(),
      name,
      description: str(b['description']) ?? '',
      organizationId,
      tags: Array.isArray(b['tags']) ? (b['tags'] as string[]) : [],
      createdAt: now(),
    };
    iam.applications.set(a.id, a);
    iam.save();
    return c.json(applicationJson(a, iam));
  });
  app.get(`${base}/applications`, (c) => {
    const name = c.req.query('name');
    const org = c.req.query('organization_id');
    return paged(
      c,
      'applications',
      [...iam.applications.values()].filter((a) => (!name || a.name.includes(name)) && (!org || a.organizationId === org)).map((a) => applicationJson(a, iam)),
    );
  });
  app.get(`${base}/applications/:id`, (c) => {
    const a = iam.applications.get(c.req.param('id'));
    return a ? c.json(applicationJson(a, iam)) : notFound(c, 'application', c.req.param('id'));
  });
  app.delete(`${base}/applications/:id`, (c) => (iam.deleteApplication(c.req.param('id')) ? c.body(null, 204) : notFound(c, 'application', c.req.param('id'))));

  app.post(`${base}/policies`, async (c) => {
    const b = await body(c);
    const applicationId = str(b['application_id']) ?? null;
    if (applicationId && !iam.applications.has(applicationId)) return notFound(c, 'application', applicationId);
    const rules: IamRule[] = (Array.isArray(b['rules']) ? (b['rules'] as Record<string, unknown>[]) : []).map((r) => ({
      permissionSetNames: Array.isArray(r['permission_set_names']) ? (r['permission_set_names'] as string[]) : [],
      projectIds: Array.isArray(r['project_ids']) ? (r['project_ids'] as string[]) : null,
      organizationId: str(r['organization_id']) ?? null,
    }));
    if (rules.some((r) => r.permissionSetNames.length === 0 || (r.projectIds === null && r.organizationId === null)))
      return invalid(c, 'rules', 'each rule needs permission_set_names and project_ids or organization_id');
    const p: IamPolicy = {
      id: iam.newId(),
      name: str(b['name']) ?? 'policy',
      description: str(b['description']) ?? '',
      organizationId: str(b['organization_id']) ?? '',
      applicationId,
      userId: str(b['user_id']) ?? null,
      rules,
      tags: Array.isArray(b['tags']) ? (b['tags'] as string[]) : [],
      createdAt: now(),
    };
    iam.policies.set(p.id, p);
    iam.save();
    return c.json(policyJson(p));
  });
  app.get(`${base}/policies`, (c) => {
    const apps = c.req.queries('application_ids') ?? [];
    const name = c.req.query('policy_name');
    return paged(
      c,
      'policies',
      [...iam.policies.values()]
        .filter((p) => (apps.length === 0 || (p.applicationId !== null && apps.includes(p.applicationId))) && (!name || p.name === name))
        .map(policyJson),
    );
  });
  app.delete(`${base}/policies/:id`, (c) => {
    if (!iam.policies.delete(c.req.param('id'))) return notFound(c, 'policy', c.req.param('id'));
    iam.save();
    return c.body(null, 204);
  });

  app.post(`${base}/api-keys`, async (c) => {
    const b = await body(c);
    const applicationId = str(b['application_id']) ?? null;
    const userId = str(b['user_id']) ?? null;
    if (!applicationId && !userId) return invalid(c, 'application_id', 'one of application_id or user_id is required');
    if (applicationId && !iam.applications.has(applicationId)) return notFound(c, 'application', applicationId);
    const expires = str(b['expires_at']);
    const k: IamApiKey = {
      accessKey: iam.newAccessKey(),
      secretKey: iam.newId(),
      applicationId,
      userId,
      description: str(b['description']) ?? '',
      defaultProjectId: str(b['default_project_id']) ?? '',
      createdAt: now(),
      expiresAt: expires ? Date.parse(expires) : null,
    };
    iam.apiKeys.set(k.accessKey, k);
    iam.save();
    return c.json(apiKeyJson(k, true));
  });
  app.get(`${base}/api-keys`, (c) => {
    const bearer = c.req.query('bearer_id') ?? c.req.query('application_id');
    return paged(
      c,
      'api_keys',
      [...iam.apiKeys.values()].filter((k) => !bearer || k.applicationId === bearer || k.userId === bearer).map((k) => apiKeyJson(k, false)),
    );
  });
  app.get(`${base}/api-keys/:key`, (c) => {
    const k = iam.apiKeys.get(c.req.param('key'));
    return k ? c.json(apiKeyJson(k, false)) : notFound(c, 'access_key', c.req.param('key'));
  });
  app.delete(`${base}/api-keys/:key`, (c) => {
    if (!iam.apiKeys.delete(c.req.param('key'))) return notFound(c, 'access_key', c.req.param('key'));
    iam.save();
    return c.body(null, 204);
  });
}
