/**
 * `mailplane servers` from a shell, against a product running on the sandbox:
 * list and show what support sees, re-run a step of a ready server (idempotent,
 * audited as done from the CLI), and refuse what makes no sense.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../../src/db/schema/index.ts';
import { runMailplane } from '../../support/cli.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let serverId: string;

const cli = (args: string[]) => runMailplane(['servers', ...args], { USER: 'support-person', ...h.env, LOG_LEVEL: 'warn' });

beforeAll(async () => {
  h = await startHarness();
  const { token, workspaceId } = await h.customer('cli-servers@example.com');
  ({ serverId } = await h.readyServer(token, workspaceId, 'cli-servers.example'));
}, 180_000);
afterAll(async () => {
  await h?.close();
});

describe('mailplane servers', () => {
  it('lists servers by status and shows one with its steps and logs', async () => {
    const list = await cli(['list', '--status', 'ready', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((s: { id: string }) => s.id)).toContain(serverId);
    const failed = await cli(['list', '--status', 'failed', '--json']);
    expect(JSON.parse(failed.stdout)).toEqual([]);

    const show = await cli(['show', serverId]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('mail.cli-servers.example  ready');
    expect(show.stdout).toMatch(/== publish_dns: succeeded/);
    expect(show.stdout).toMatch(/uploaded \d+ files/);
  }, 60_000);

  it('re-runs a step from the shell: audited as the CLI user, the server stays ready', async () => {
    const records = h.sandbox.cloudflare!.records().length;
    const res = await cli(['rerun-step', serverId, 'publish_dns']);
    expect(res.code, res.stderr).toBe(0);
    await h.waitForStep(serverId, 'publish_dns', 'succeeded');
    expect((await h.waitForServer(serverId, ['ready'])).status).toBe('ready');
    expect(h.sandbox.cloudflare!.records().length).toBe(records);
    const [entry] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'provisioning.rerun_step'), eq(auditLog.target, serverId)));
    expect(entry).toMatchObject({ actorId: 'cli:support-person', actorKind: 'staff' });
  }, 60_000);

  it('rotates the DKIM keys and rolls the TLS key over from the shell, audited as the CLI user', async () => {
    expect((await cli(['roll-tls-key', serverId, '--reason', 'a new key', '--key-type', 'dsa'])).code).toBe(2);
    const rotated = await cli(['rotate-dkim', serverId, '--reason', 'routine, from the shell']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { runId } = JSON.parse(rotated.stdout) as { runId: string };
    await h.waitForStep(serverId, 'sign_with_next_dkim', 'succeeded');
    expect((await h.waitForServer(serverId, ['ready'])).status).toBe('ready');
    const [entry] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'dkim.rotation'), eq(auditLog.target, serverId)));
    expect(entry).toMatchObject({ actorId: 'cli:support-person', actorKind: 'staff', details: expect.objectContaining({ runId }) });
    const rolled = await cli(['roll-tls-key', serverId, '--reason', 'the key must change', '--key-type', 'rsa']);
    expect(rolled.code, rolled.stderr).toBe(0);
    await h.waitForStep(serverId, 'publish_next_tlsa', 'succeeded');
    const [started] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'tls.rollover'), eq(auditLog.target, serverId)));
    expect(started).toMatchObject({ actorId: 'cli:support-person', details: expect.objectContaining({ keyType: 'rsa' }) });
  }, 180_000);

  it('refuses bad usage and explains failures', async () => {
    expect((await cli(['list', '--status', 'exploded'])).code).toBe(2);
    expect((await cli(['rerun-step', serverId])).code).toBe(2);
    const resume = await cli(['resume', serverId]);
    expect(resume.code).not.toBe(0);
    expect(resume.stderr).toMatch(/only a failed run can be resumed/);
    expect(resume.stderr).not.toMatch(/\n\s+at /);
    const unknown = await cli(['show', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/not found/i);
  }, 60_000);
});
