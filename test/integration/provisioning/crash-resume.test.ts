/**
 * A worker killed (SIGKILL, a real child process) in the middle of a step:
 * after a restart the run finishes, and the emulators hold exactly one
 * server, the server's IPs and no duplicate DNS record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverIps } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await h?.close();
});

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ['src/main.ts', 'worker'], {
    env: {
      ...process.env,
      ...h.env,
      JOBS_SUPERVISE_SECONDS: '2',
      LOG_LEVEL: 'warn',
      PROVISIONING_RETRY_BASE_MS: '20',
      PROVISIONING_RETRY_MAX_MS: '200',
      PROVISIONING_POLL_MS: '20',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

// Each case slows the provider the step talks to, so the kill lands mid-step.
const cases = [
  { step: 'allocate_ips', slow: () => h.sandbox.scaleway!.faults.set({ latencyMs: 1500 }) },
  { step: 'check_blacklists', slow: () => h.sandbox.dns!.setLatency(1500) },
  { step: 'create_server', slow: () => h.sandbox.scaleway!.faults.set({ latencyMs: 1500 }) },
  { step: 'publish_dns', slow: () => h.sandbox.cloudflare!.faults.set({ latencyMs: 1500 }) },
] as const;

function fast(): void {
  h.sandbox.scaleway!.faults.set({});
  h.sandbox.cloudflare!.faults.set({});
  h.sandbox.dns!.setLatency(0);
}

describe('crash and resume', () => {
  it.each(cases)(
    'a worker killed during $step: the run finishes with nothing leaked or duplicated',
    async ({ step }) => {
      const slow = cases.find((c) => c.step === step)!.slow;
      const { token, workspaceId } = await h.customer(`${step.replace('_', '-')}@example.org`);
      const domain = `${step.replace(/_/g, '-')}.example`;
      slow();
      const first = startWorker();
      const { serverId } = await h.subscribe(token, workspaceId, domain);
      await h.waitForStep(serverId, step, 'running', 60_000);
      await kill(first);
      fast();
      const second = startWorker();
      try {
        const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
        expect(server.statusReason).toBeNull();
        expect(server.status).toBe('ready');
      } finally {
        await kill(second);
      }

      const tagged = h.sandbox.scaleway!.listServers().filter((s: { tags: string[] }) => s.tags.some((t) => t.includes(serverId)));
      expect(tagged).toHaveLength(1);
      const rows = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
      // By provider id: the emulator reports an IPv6 as its routed /64, the database the address used in it.
      const live = rows
        .filter((r) => r.state === 'active')
        .map((r) => r.providerIpId)
        .sort();
      expect(live).toHaveLength(2);
      const inEmulator = h.sandbox
        .scaleway!.listIps()
        .filter((ip: { tags: string[] }) => ip.tags.some((t) => t.includes(serverId)))
        .map((ip: { id: string }) => ip.id)
        .sort();
      expect(inEmulator).toEqual(live);
      const zone = h.sandbox.cloudflare!.zones().find((z: { name: string }) => z.name === domain)!;
      const keys = h.sandbox.cloudflare!.records(zone.id).map((r: { type: string; name: string; content: string }) => `${r.type} ${r.name} ${r.content}`);
      expect(new Set(keys).size).toBe(keys.length);
    },
    240_000,
  );
});
