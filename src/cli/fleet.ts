/**
 * `mailplane fleet` and `mailplane rollouts`: stack versions, drift and rollouts from a shell,
 * for ops, on the same services as the API (audited as done from the CLI).
 */
import { cliContext } from './running-sandbox.ts';
import type { Command } from './command.ts';
import { actOnRollout, fleetVersions, listRollouts, rolloutView, type RolloutView } from '../fleet/rollout-actions.ts';
import { startRollout } from '../fleet/rollouts.ts';
import { serverStackView } from '../fleet/views.ts';
import { findServer } from '../servers/views.ts';

const out = (v: unknown) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
const cliActor = () => ({ id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'staff' as const, ip: null });

const FLEET_USAGE = `mailplane fleet versions [--json]
mailplane fleet show SERVER_ID [--json]
mailplane fleet check SERVER_ID

versions  live servers per mail-stack version ("120 servers on X, 3 on W"), the current one marked
show      a server's version, release, drift (the diff of every changed non-secret file), updates
          and maintenance window
check     queues a drift check of the server now (then \`show\` it)`;

export const fleetCommand: Command = {
  name: 'fleet',
  usage: FLEET_USAGE,
  async run(args) {
    const json = args.includes('--json');
    const [action, serverId, ...rest] = args.filter((a) => a !== '--json');
    if (!(action === 'versions' && !serverId) && !((action === 'show' || action === 'check') && serverId && rest.length === 0)) {
      process.stderr.write(`${FLEET_USAGE}\n`);
      return 2;
    }
    const ctx = await cliContext({ needsProviders: action === 'show' });
    if (typeof ctx === 'number') return ctx;
    try {
      if (action === 'versions') {
        const v = await fleetVersions(ctx.fleet);
        if (json) {
          out(v);
          return 0;
        }
        for (const row of v.versions)
          out(
            `${String(row.servers).padStart(6)} server(s) on ${row.version ?? 'no recorded version'}${row.release ? ` (release ${row.release})` : ''}${row.current ? '  ← current' : ''}`,
          );
        out(`current: ${v.current.version} (release ${v.current.release})`);
        return 0;
      }
      const server = await findServer(ctx.database.db, serverId!);
      if (action === 'check') {
        await ctx.queue.send('fleet.drift_check', { serverId: server.id }, { singletonKey: server.id });
        out(`drift check of ${server.hostname} queued`);
        return 0;
      }
      const s = await serverStackView(ctx.fleet, ctx.database.db, server, { withDiffs: true });
      if (json) {
        out(s);
        return 0;
      }
      out(
        `${server.hostname}  stack ${s.version ?? 'unknown'} (release ${s.release ?? '?'}), applied ${s.appliedAt ?? 'never'}${s.current.upToDate ? ', current' : `; current is ${s.current.version}`}`,
      );
      out(`maintenance window: ${s.maintenanceWindow.text} (${s.maintenanceWindow.source})`);
      if (!s.drift) {
        out('not looked at by a drift check yet');
        return 0;
      }
      out(
        `last drift check ${s.drift.checkedAt}: ${s.drift.files.length} file(s) changed, ${s.drift.servicesDown.length} service(s) down, ${s.drift.updates.pending} update(s) pending${s.drift.updates.rebootRequired ? ', reboot required' : ''}`,
      );
      for (const f of s.drift.files)
        out(f.secret ? `== ${f.path} (a secret: its content is not shown)` : `== ${f.path}${f.missing ? ' (missing)' : ''}\n${f.diff ?? ''}`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

const ROLLOUTS_USAGE = `mailplane rollouts list
mailplane rollouts start [--canary SERVER_ID]
mailplane rollouts show ROLLOUT_ID [--json]
mailplane rollouts resume|skip|abort ROLLOUT_ID

start   rolls the current stack out to every ready server behind it: one canary, a small share,
        then waves; per server a backup, the apply, the checks; a failing server is put back on
        its previous version and the rollout halts with an ops alert
resume  tries the server that failed again, then goes on; skip: goes on without it; abort: stops`;

function printRollout(r: RolloutView): void {
  out(
    `rollout ${r.id}  ${r.status}  → ${r.targetVersion}  ${Object.entries(r.counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
  );
  if (r.haltReason) out(`halted: ${r.haltReason}`);
  for (const s of r.servers) out(`  wave ${s.wave}  ${s.status.padEnd(15)} ${s.hostname}${s.failedCheck ? `  failed "${s.failedCheck}"` : ''}`);
}

export const rolloutsCommand: Command = {
  name: 'rollouts',
  usage: ROLLOUTS_USAGE,
  async run(args) {
    const json = args.includes('--json');
    const [action, id, ...rest] = args.filter((a) => a !== '--json');
    const canary = action === 'start' && id === '--canary' ? rest[0] : undefined;
    const valid =
      (action === 'list' && !id) ||
      (action === 'start' && (!id || (id === '--canary' && canary && rest.length === 1))) ||
      (['show', 'resume', 'skip', 'abort'].includes(action ?? '') && id && rest.length === 0);
    if (!valid) {
      process.stderr.write(`${ROLLOUTS_USAGE}\n`);
      return 2;
    }
    // Starting one needs the running product's workers to carry it out.
    const ctx = await cliContext({ needsProviders: action !== 'list' && action !== 'show' });
    if (typeof ctx === 'number') return ctx;
    try {
      if (action === 'list') {
        for (const r of await listRollouts(ctx.database.db))
          out(`${r.id}  ${r.status.padEnd(9)} ${r.targetVersion}  ${r.createdAt}${r.haltReason ? `  ${r.haltReason}` : ''}`);
        return 0;
      }
      const view =
        action === 'start'
          ? await rolloutView(ctx.database.db, (await startRollout(ctx.fleet, cliActor(), { canaryServerId: canary })).id)
          : action === 'show'
            ? await rolloutView(ctx.database.db, id!)
            : await actOnRollout(ctx.fleet, cliActor(), id!, action as 'resume' | 'skip' | 'abort');
      if (json) out(view);
      else printRollout(view);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
