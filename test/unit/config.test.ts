import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { resolveDevSecrets } from '../../src/dev-secrets.ts';
import { createLogger } from '../../src/log.ts';

const SECRET = 'a-session-secret-of-at-least-thirty-two-characters';
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db.internal:5432/mailplane',
  SESSION_SECRET: SECRET,
  VAULT_MASTER_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  SCW_ACCESS_KEY: 'SCWXXXXXXXXXXXXXXXXX',
  SCW_SECRET_KEY: '11111111-1111-4111-8111-111111111111',
  SCW_DEFAULT_PROJECT_ID: '22222222-2222-4222-8222-222222222222',
  CONTROL_PLANE_ADDRESSES: '203.0.113.7,2001:db8:7::/48',
  CLOUDFLARE_API_TOKEN: 'cf-token',
  CLOUDFLARE_ACCOUNT_ID: 'cf-account',
  STRIPE_SECRET_KEY: 'sk_live_x',
  STRIPE_WEBHOOK_SECRET: 'whsec_x',
  MAIL_SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
  PLANS: JSON.stringify([
    { id: 'starter', name: 'Starter', stripePriceId: 'price_1', commercialType: 'DEV1-S', mailboxes: 10, storageGb: 20, messagesPerHour: 200 },
  ]),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('starts with no environment at all, in development with sandbox providers', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 3000, trustProxy: false, bodyLimitBytes: 65536, publicUrl: 'http://127.0.0.1:3000' });
    expect(config.db).toEqual({ url: null, dataDir: '.data' });
    expect(config.auth).toMatchObject({
      sessionSecret: null,
      sessionTtlSeconds: 3600,
      invitationTtlSeconds: 7 * 86400,
      rateLimitAuthPerMinute: 10,
      rateLimitApiPerMinute: 600,
    });
    expect(config.log.pretty).toBe(true);
    expect([config.scaleway, config.cloudflare, config.stripe]).toEqual([null, null, null]);
  });

  it('treats empty values as unset, as a copied .env.example leaves them', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', SESSION_SECRET: ' ', PUBLIC_URL: '', TRUST_PROXY: '' });
    expect(config.http.port).toBe(3000);
    expect(config.db.url).toBeNull();
    expect(config.auth.sessionSecret).toBeNull();
  });

  it('reads typed values', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '::1',
      TRUST_PROXY: '1',
      BODY_LIMIT_BYTES: '2048',
      INVITATION_TTL_HOURS: '48',
      DATABASE_URL: 'postgres://x/y',
    });
    expect(config.http).toMatchObject({ port: 8080, trustProxy: true, bodyLimitBytes: 2048, publicUrl: 'http://[::1]:8080' });
    expect(config.auth.invitationTtlSeconds).toBe(48 * 3600);
    expect(config.db.url).toBe('postgres://x/y');
  });

  it("collects EU VAT at checkout and keeps an ended subscription's server 14 days by default; both configurable", () => {
    expect(loadConfig({}).billing).toEqual({ automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required', graceMs: 14 * 24 * 3600_000 });
    const off = loadConfig({
      STRIPE_AUTOMATIC_TAX: 'false',
      STRIPE_TAX_ID_COLLECTION: '0',
      STRIPE_BILLING_ADDRESS_COLLECTION: 'auto',
      BILLING_GRACE_DAYS: '30',
    });
    expect(off.billing).toEqual({ automaticTax: false, taxIdCollection: false, billingAddressCollection: 'auto', graceMs: 30 * 24 * 3600_000 });
    expect(
      problemsOf({ STRIPE_BILLING_ADDRESS_COLLECTION: 'always', BILLING_GRACE_DAYS: '0' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['BILLING_GRACE_DAYS', 'STRIPE_BILLING_ADDRESS_COLLECTION']);
  });

  it('lists every wrong value at once, each naming its variable, in a readable message', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', TRUST_PROXY: 'maybe', SESSION_TTL_MINUTES: '1' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const vars = error!.problems.map((p) => p.split(':')[0]);
    expect(vars).toEqual(expect.arrayContaining(['PORT', 'LOG_LEVEL', 'TRUST_PROXY', 'SESSION_TTL_MINUTES']));
    expect(error!.message).toMatch(/^Invalid configuration:\n {2}- /);
    expect(error!.message.split('\n')).toHaveLength(error!.problems.length + 1);
  });

  it('requires the secrets, an external database and real providers in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    const text = problems.join('\n');
    expect(text).toMatch(/SESSION_SECRET: required/);
    expect(text).toMatch(/VAULT_MASTER_KEYS or VAULT_MASTER_KEY_FILE: required/);
    expect(text).toMatch(/DATABASE_URL: required/);
    expect(text).toMatch(/MAIL_SMTP_URL: required/);
    expect(text).toMatch(/providers: /);
  });

  it('accepts a complete production environment, logging JSON', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.env).toBe('production');
    expect(config.log.pretty).toBe(false);
    expect(config.auth.sessionSecret).toBe(SECRET);
    expect(config.stripe).toMatchObject({ secretKey: 'sk_live_x' });
  });

  it('refuses a short session secret in any environment', () => {
    expect(problemsOf({ SESSION_SECRET: 'short' })).toEqual([expect.stringMatching(/^SESSION_SECRET: must be at least 32/)]);
    expect(problemsOf({ ...PRODUCTION, SESSION_SECRET: 'x'.repeat(31) }).join()).toMatch(/SESSION_SECRET/);
  });

  it('refuses half a set of provider credentials instead of silently using the sandbox', () => {
    const problems = problemsOf({ SCW_ACCESS_KEY: 'SCWXXXXXXXXXXXXXXXXX' });
    expect(problems).toEqual([expect.stringMatching(/Scaleway: SCW_ACCESS_KEY set but SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID missing/)]);
  });

  it("needs the control plane's addresses with real Scaleway (SSH is open to them only), and refuses one that is not an address", () => {
    expect(problemsOf({ ...PRODUCTION, CONTROL_PLANE_ADDRESSES: '' }).join()).toMatch(/CONTROL_PLANE_ADDRESSES: required with real Scaleway/);
    expect(problemsOf({ ...PRODUCTION, CONTROL_PLANE_ADDRESSES: '203.0.113.7,not-an-ip' }).join()).toMatch(/"not-an-ip" is not an IPv4\/IPv6 address or CIDR/);
    expect(problemsOf({ ...PRODUCTION, CONTROL_PLANE_ADDRESSES: '203.0.113.0/33' }).join()).toMatch(/"203.0.113.0\/33"/);
    expect(
      loadConfig({ ...PRODUCTION, NODE_ENV: 'development', CONTROL_PLANE_ADDRESSES: '', SCW_API_URL: 'http://127.0.0.1:4010' }).controlPlane.addresses,
    ).toEqual([]);
  });

  it('refuses unknown zones and malformed plans', () => {
    expect(problemsOf({ OFFERED_ZONES: 'fr-par-1,us-east-1' }).join()).toMatch(/unknown zone "us-east-1"/);
    expect(problemsOf({ PLANS: '{not json' }).join()).toMatch(/PLANS: not valid JSON/);
    expect(problemsOf({ PLANS: '[{"id":"x"}]' }).join()).toMatch(/PLANS\[0\./);
  });

  it('documents every variable it reads in .env.example', async () => {
    const source = await readFile(new URL('../../src/config.ts', import.meta.url), 'utf8');
    const schema = source.slice(source.indexOf('const envSchema = z.object({'), source.indexOf('});', source.indexOf('const envSchema')));
    const read = [...schema.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(20);
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect(read.filter((v) => !documented.has(v))).toEqual([]);
  });
});

describe('development secrets', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const capture = () => {
    const lines: string[] = [];
    return { lines, log: createLogger({ level: 'info', pretty: false, destination: { write: (l: string) => void lines.push(l) } }) };
  };

  it('generates the session secret once, keeps it under the data dir, and warns loudly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailplane-secrets-'));
    dirs.push(dir);
    const first = capture();
    const a = await resolveDevSecrets(loadConfig({ MAILPLANE_DATA_DIR: dir }), first.log);
    expect(a.auth.sessionSecret).toMatch(/^[\w-]{32,}$/);
    expect(a.vault.masterKeys).toMatch(/^\w+:/);
    const warnings = first.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg).join('\n')).toMatch(/SESSION_SECRET is not set/);
    // The warning says where the secret is, never the secret itself.
    expect(first.lines.join('\n')).not.toContain(a.auth.sessionSecret!);

    const file = join(dir, 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const second = capture();
    const b = await resolveDevSecrets(loadConfig({ MAILPLANE_DATA_DIR: dir }), second.log);
    expect(b.auth.sessionSecret).toBe(a.auth.sessionSecret);
    expect(b.vault.masterKeys).toBe(a.vault.masterKeys);
    // Said once: every later command (a CLI answer of one line) is not wrapped in the same warnings.
    expect(second.lines.join('\n')).not.toMatch(/is not set/);
  });

  it('uses a configured SESSION_SECRET as given and does not warn about it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailplane-secrets-'));
    dirs.push(dir);
    const { lines, log } = capture();
    const config = await resolveDevSecrets(loadConfig({ MAILPLANE_DATA_DIR: dir, SESSION_SECRET: SECRET }), log);
    expect(config.auth.sessionSecret).toBe(SECRET);
    expect(lines.join('\n')).not.toMatch(/SESSION_SECRET is not set/);
  });
});
