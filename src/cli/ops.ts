/** `mailplane reconcile` and `mailplane ips rotate`: the ops tools from a shell. */
import { parseArgs } from 'node:util';
import { opsDeps } from '../app-context.ts';
import { reconcile } from '../ops/reconcile.ts';
import { startIpRotation } from '../ops/rotation.ts';
import { findServer } from '../servers/views.ts';
import type { Command } from './command.ts';
import { cliContext } from './running-sandbox.ts';

const out = (v: unknown) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
const cliActor = () => ({ id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'staff' as const, ip: null });

const RECONCILE_USAGE = `mailplane reconcile [--apply] [--json]

Compares the provider resources tagged "mailplane" (servers and flexible IPs, every zone)
with the database and reports:
  orphan  a resource no live server accounts for (costs money, may be reachable)
  ghost   a ready/suspended server whose instance or IP is gone at the provider
          (a ready server whose instance is gone is marked failed, with the reason)
Each finding is kept as an ops alert. Servers with a run in progress are skipped.
Dry run by default; --apply deletes the orphans (ghosts are only reported). Deletions are audited.`;

export const reconcileCommand: Command = {
  name: 'reconcile',
  usage: RECONCILE_USAGE,
  async run(args) {
    let values: { apply?: boolean; json?: boolean };
    try {
      ({ values } = parseArgs({ args, options: { apply: { type: 'boolean' }, json: { type: 'boolean' } } }));
    } catch {
      process.stderr.write(`${RECONCILE_USAGE}\n`);
      return 2;
    }
    // Compared with an emulator's view of the world, every server would be a ghost: the running one or none.
    const ctx = await cliContext({ needsProviders: true });
    if (typeof ctx === 'number') return ctx;
    try {
      const result = await reconcile(opsDeps(ctx), { apply: values.apply ?? false, actor: cliActor() });
      if (values.json) {
        out(result);
        return 0;
      }
      const deleted = new Set(result.deleted.map((d) => d.dedupeKey));
      for (const f of result.findings)
        out(`${deleted.has(f.dedupeKey) ? 'deleted ' : ''}${f.kind.padEnd(6)} ${f.resource.padEnd(6)} ${f.zone.padEnd(9)} ${f.description}`);
      const orphans = result.findings.filter((f) => f.kind === 'orphan' && !deleted.has(f.dedupeKey)).length;
      out(
        result.findings.length === 0
          ? 'Nothing to reconcile.'
          : `${result.findings.length} finding(s), ${result.deleted.length} deleted${orphans > 0 ? `; run with --apply to delete ${orphans} orphan(s)` : ''}.`,
      );
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

const IPS_USAGE = `mailplane ips rotate SERVER_ID IP

Replaces a ready server's IP (IPv4 or IPv6) as a durable rotate_ip run: a new IP is reserved
and checked against the blacklists, attached, the mail stack re-rendered, A/AAAA and SPF
repointed, the PTR set once the forward record resolves, then the old IP is released.
Follow it with \`mailplane servers show SERVER_ID\`. Audited as done from the CLI.`;

export const ipsCommand: Command = {
  name: 'ips',
  usage: IPS_USAGE,
  async run(args) {
    const [action, serverId, address, ...rest] = args;
    if (action !== 'rotate' || !serverId || !address || rest.length > 0) {
      process.stderr.write(`${IPS_USAGE}\n`);
      return 2;
    }
    // The running product's workers rotate on its providers; with none running, nothing would.
    const ctx = await cliContext({ needsProviders: true });
    if (typeof ctx === 'number') return ctx;
    try {
      const server = await findServer(ctx.database.db, serverId);
      const started = await startIpRotation(ctx, cliActor(), { serverId: server.id, address, reason: 'requested from the CLI' });
      out(`rotation of ${started.address} started: run ${started.runId}`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
