/**
 * The `mailplane` bin as a user runs it: a child process with its own
 * environment, against an empty database on the test server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runMailplane, type CliRun } from '../../support/cli.ts';

let dataDir: string;
let databaseUrl: string;
let sql: postgres.Sql;
let admin: postgres.Sql;
let dbName: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mailplane-cli-'));
  admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  dbName = `cli_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${dbName}`;
  databaseUrl = url.toString();
  sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await sql?.end();
  await admin?.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin?.end();
  await rm(dataDir, { recursive: true, force: true });
});

function mailplane(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  // 40 s: a run takes a few seconds even on busy cores; two runs must fit in one test's 90 s.
  return runMailplane(
    args,
    { HOME: process.env['HOME'] ?? dataDir, MAILPLANE_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...env },
    40_000,
  );
}

const tables = async () => (await sql`select table_name from information_schema.tables where table_schema = 'public'`).map((r) => r['table_name'] as string);

// Each case spawns whole mailplane processes (a few seconds each on two busy cores).
describe('mailplane CLI', { timeout: 90_000 }, () => {
  it('migrate applies the migrations to an empty database, and is idempotent', async () => {
    expect(await tables()).toEqual([]);
    const run = await mailplane(['migrate']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/migrations applied/);
    expect(await tables()).toEqual(expect.arrayContaining(['users', 'workspaces', 'memberships', 'sessions', 'api_keys', 'invitations', 'audit_log']));
    const [applied] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(applied!['n']).toBeGreaterThan(0);

    const again = await mailplane(['migrate']);
    expect(again.code, again.stderr).toBe(0);
    const [still] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(still!['n']).toBe(applied!['n']);
  });

  it('staff grant and revoke change the global staff role, and are audited', async () => {
    await sql`insert into users (email, name, password_hash) values ('staffer@example.com', 'Staffer', 'x') on conflict do nothing`;
    const grant = await mailplane(['staff', 'grant', 'Staffer@Example.com', '--role', 'support']);
    expect(grant.code, grant.stderr).toBe(0);
    expect(grant.stdout).toMatch(/staffer@example.com is now support/);
    expect((await sql`select staff_role from users where email = 'staffer@example.com'`)[0]!['staff_role']).toBe('support');

    const revoke = await mailplane(['staff', 'revoke', 'staffer@example.com']);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await sql`select staff_role from users where email = 'staffer@example.com'`)[0]!['staff_role']).toBeNull();
    const audit = await sql`select action from audit_log where action like 'staff.%' order by id`;
    expect(audit.map((r) => r['action'])).toEqual(['staff.grant', 'staff.revoke']);
  });

  it('staff refuses an unknown account (exit 1) and an unknown role (exit 2)', async () => {
    const unknown = await mailplane(['staff', 'grant', 'ghost@example.com', '--role', 'ops']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No account with email ghost@example.com/);
    const badRole = await mailplane(['staff', 'grant', 'staffer@example.com', '--role', 'god']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/--role must be support or ops/);
  });

  it('prints help for the program and for every command without touching the database', async () => {
    const top = await mailplane(['--help'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(top.code).toBe(0);
    for (const name of ['all', 'api', 'worker', 'migrate', 'staff']) expect(top.stdout).toMatch(new RegExp(`^\\s+${name}\\s`, 'm'));
    const names = [...top.stdout.matchAll(/^ {2}(\S+)\s{2,}/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThanOrEqual(5);
    // Two at a time: each process parses the command's part of the product, and the machine has two cores.
    const runs: Awaited<ReturnType<typeof mailplane>>[] = [];
    for (let i = 0; i < names.length; i += 2) {
      runs.push(
        ...(await Promise.all(names.slice(i, i + 2).map((name) => mailplane([name, '--help'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })))),
      );
    }
    runs.forEach((run, i) => {
      expect(run.code, names[i]).toBe(0);
      expect(run.stdout, names[i]).toMatch(new RegExp(`mailplane ${names[i]}`));
    });
  }, 120_000);

  it('answers an unknown command with exit 2 and the command list', async () => {
    const run = await mailplane(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unknown command "frobnicate"/);
    expect(run.stderr).toMatch(/Commands:/);
  });

  it('exits 2 with a readable list of what is wrong in the configuration', async () => {
    const run = await mailplane(['migrate'], { PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Invalid configuration:/);
    expect(run.stderr).toMatch(/- PORT: /);
    expect(run.stderr).toMatch(/- LOG_LEVEL: /);
    expect(run.stderr).toMatch(/\.env\.example/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start in production without its secrets', async () => {
    const run = await mailplane(['migrate'], { NODE_ENV: 'production' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SESSION_SECRET: required when NODE_ENV=production/);
  });
});
