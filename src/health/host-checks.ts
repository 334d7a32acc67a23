/**
 * The host side of a server's health, from the latest drift check (src/fleet/observe.ts):
 * its mail services running, its managed files as mailplane applied them, and its system
 * updates (pending packages, a reboot required, a newer kernel installed than the one running).
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { serverStacks } from '../db/schema/index.ts';
import { describeWindow, nextOpening, windowOf } from '../fleet/maintenance.ts';
import { result, type CheckResult } from './check-types.ts';
import type { DnsFacts } from './dns-checks.ts';

const NOT_YET = 'Nothing to do: the next drift check looks at the server.';

export async function hostChecks(
  db: Db,
  f: DnsFacts,
  now: Date,
  defaultWindow: { startMinute: number; durationMinutes: number },
  observeHost?: (server: DnsFacts['server']) => Promise<unknown>,
): Promise<CheckResult[]> {
  const read = async () => (await db.select().from(serverStacks).where(eq(serverStacks.serverId, f.server.id)))[0];
  let stack = await read();
  if (!stack?.observed && observeHost && f.server.sshHostKeyFingerprint) {
    // Never looked at yet (a server just ready): look now rather than report "unknown" until the sweep.
    await observeHost(f.server).catch(() => null);
    stack = await read();
  }
  const o = stack?.observed;
  if (!stack || !o) {
    const none = 'The server has not been looked at by a drift check yet.';
    return [result('services', 'unknown', none, NOT_YET), result('drift', 'unknown', none, NOT_YET), result('updates', 'unknown', none, NOT_YET)];
  }
  const seen = { checkedAt: o.checkedAt, version: stack.version };

  const down = Object.entries(o.services)
    .filter(([, s]) => s.active !== 'active')
    .map(([u, s]) => `${u} (${s.active})`);
  const disabled = Object.entries(o.services)
    .filter(([, s]) => s.enabled !== 'enabled')
    .map(([u]) => u);
  const services =
    down.length > 0
      ? result('services', 'fail', `Not running: ${down.join(', ')}.`, 'Our operations team is alerted; contact support if mail is affected.', {
          ...seen,
          down,
          disabled,
        })
      : disabled.length > 0
        ? result(
            'services',
            'warn',
            `All ${Object.keys(o.services).length} services run, but ${disabled.join(', ')} would not start after a reboot.`,
            'Support re-applies the stack, which enables them.',
            { ...seen, disabled },
          )
        : result('services', 'pass', `All ${Object.keys(o.services).length} mail services run.`, null, seen);

  const changed = o.drifted.map((d) => d.path);
  const drift =
    changed.length > 0
      ? result(
          'drift',
          'warn',
          `${changed.length} managed file${changed.length > 1 ? 's' : ''} changed on the server since mailplane applied ${changed.length > 1 ? 'them' : 'it'}: ${changed.join(', ')}.`,
          'A change made by hand is lost at the next apply: ask support to keep it in the product, or to re-apply the stack.',
          { ...seen, files: o.drifted.map((d) => ({ path: d.path, secret: d.secret, missing: d.missing })), outdated: o.outdated.length },
        )
      : result(
          'drift',
          'pass',
          `Every managed file is as mailplane applied it (stack ${stack.version ?? 'unknown'}${o.outdated.length > 0 ? `; ${o.outdated.length} file(s) change with the current version` : ''}).`,
          null,
          { ...seen, outdated: o.outdated.length },
        );

  const { window } = await windowOf(db, f.server, defaultWindow);
  const when = `in the maintenance window (${describeWindow(window)}; next ${nextOpening(window, now).toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
  const kernelWaits = o.kernel.installed !== null && o.kernel.installed !== o.kernel.running;
  const details = {
    ...seen,
    pending: o.updates.pending.length,
    security: o.updates.security,
    rebootRequired: o.rebootRequired,
    rebootPackages: o.rebootPackages,
    kernel: o.kernel,
  };
  let updates: CheckResult;
  if (o.rebootRequired || kernelWaits) {
    const why = o.rebootRequired
      ? `A reboot is required${o.rebootPackages.length ? ` (${o.rebootPackages.join(', ')})` : ''}`
      : `Kernel ${o.kernel.installed} is installed but ${o.kernel.running} runs`;
    updates = result('updates', 'warn', `${why}.`, `mailplane reboots the server ${when}, then checks it.`, details);
  } else if (o.updates.security.length > 0) {
    updates = result(
      'updates',
      'warn',
      `${o.updates.security.length} security update(s) pending: ${o.updates.security.slice(0, 10).join(', ')}.`,
      'Unattended upgrades install them within a day; nothing to do.',
      details,
    );
  } else {
    updates = result(
      'updates',
      'pass',
      o.updates.pending.length > 0
        ? `No security update pending (${o.updates.pending.length} other update(s)); no reboot required.`
        : 'Up to date; no reboot required.',
      null,
      details,
    );
  }
  return [services, drift, updates];
}
