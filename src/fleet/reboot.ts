/**
 * Reboots that updates ask for (`/run/reboot-required`, or a newer kernel installed than the one
 * running), done in the server's maintenance window: the minute sweep queues the servers whose
 * last drift check saw the need and whose window is open; the job asks the host once more, has
 * systemd reboot it, waits for it to come back with a new boot id, then checks it again (drift
 * check and health run), so the warning goes away on evidence, not on hope.
 */
import { and, eq, sql } from 'drizzle-orm';
import { withSession } from '../../provisioning/remote.ts';
import { audit, SYSTEM_ACTOR } from '../audit.ts';
import { servers, serverStacks } from '../db/schema/index.ts';
import { findServer } from '../servers/views.ts';
import type { FleetDeps } from './deps.ts';
import { isOpen, windowOf } from './maintenance.ts';
import { observeHost } from './observe.ts';

/** systemd reboots a few seconds after the SSH command has answered, so the answer is not cut off. */
export const REBOOT_COMMAND = 'systemd-run --on-active=3 --unit=mailplane-reboot /bin/systemctl reboot';
export const BOOT_ID_COMMAND = 'cat /proc/sys/kernel/random/boot_id';
/** Answers once the boot has finished starting units (`--wait` blocks while it is "starting"). */
export const BOOTED_COMMAND = 'systemctl is-system-running --wait';
const BACK_TIMEOUT_MS = 10 * 60_000;
/** Not twice in a row for the same need: a host that still needs a reboot after one is for ops to look at. */
const MIN_HOURS_BETWEEN = 6;

export async function sweepReboots(deps: FleetDeps): Promise<string[]> {
  const { database, clock, queue } = deps.provisioning;
  const now = new Date(clock.now());
  const rows = await database.db
    .select({ id: servers.id, workspaceId: servers.workspaceId, last: serverStacks.lastRebootAt })
    .from(servers)
    .innerJoin(serverStacks, eq(serverStacks.serverId, servers.id))
    .where(
      and(
        eq(servers.status, 'ready'),
        sql`(${serverStacks.observed}->>'rebootRequired' = 'true' or (${serverStacks.observed}->'kernel'->>'installed' is not null and ${serverStacks.observed}->'kernel'->>'installed' <> ${serverStacks.observed}->'kernel'->>'running'))`,
      ),
    );
  const due: string[] = [];
  for (const r of rows) {
    if (r.last && now.getTime() - r.last.getTime() < MIN_HOURS_BETWEEN * 3_600_000) continue;
    const { window } = await windowOf(database.db, r, deps.settings.defaultWindow);
    if (!isOpen(window, now)) continue;
    due.push(r.id);
    await queue.send('fleet.reboot', { serverId: r.id }, { singletonKey: r.id });
  }
  return due;
}

export async function rebootServer(deps: FleetDeps, serverId: string): Promise<{ rebooted: boolean; why: string }> {
  const p = deps.provisioning;
  const server = await findServer(p.database.db, serverId);
  if (server.status !== 'ready') return { rebooted: false, why: `the server is ${server.status}` };
  const before = await observeHost(p, server);
  const kernelWaits = before.kernel.installed !== null && before.kernel.installed !== before.kernel.running;
  if (!before.rebootRequired && !kernelWaits) return { rebooted: false, why: 'no reboot is required any more' };
  const { window } = await windowOf(p.database.db, server, deps.settings.defaultWindow);
  if (!isOpen(window, new Date(p.clock.now()))) return { rebooted: false, why: 'the maintenance window is closed' };
  const why = before.rebootRequired
    ? `reboot required${before.rebootPackages.length ? ` by ${before.rebootPackages.join(', ')}` : ''}`
    : `kernel ${before.kernel.installed} installed`;
  await p.database.db
    .update(serverStacks)
    .set({ lastRebootAt: new Date(p.clock.now()) })
    .where(eq(serverStacks.serverId, serverId));
  await audit(p.database.db, SYSTEM_ACTOR, {
    action: 'server.reboot',
    workspaceId: server.workspaceId,
    target: serverId,
    details: { why, bootId: before.bootId },
  });
  await withSession(p, server, (session) => session.exec(REBOOT_COMMAND, { timeoutMs: 30_000 }));
  p.log.info({ serverId, why }, 'server rebooting in its maintenance window');
  // Back means: a new boot id, and systemd done starting units (running, or degraded if one failed).
  // Only then is the host looked at and stored: a look mid-boot would show services still starting,
  // and the health run that reads it would tell the owner they are down.
  const deadline = p.clock.now() + BACK_TIMEOUT_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.max(p.settings.pollIntervalMs, 1_000)));
    const booted = await withSession(p, server, async (session) => {
      const bootId = (await session.exec(BOOT_ID_COMMAND, { timeoutMs: 10_000 })).stdout.trim();
      if (bootId === before.bootId) return false;
      await session.exec(BOOTED_COMMAND, { check: false, timeoutMs: Math.max(deadline - p.clock.now(), 1_000) });
      return true;
    }).catch(() => false);
    if (booted) break;
    if (p.clock.now() > deadline) throw new Error(`the server did not come back within ${BACK_TIMEOUT_MS / 60_000} minutes of its reboot`);
  }
  await observeHost(p, server);
  await p.queue.send('health.check_server', { serverId }, { singletonKey: serverId });
  return { rebooted: true, why };
}
