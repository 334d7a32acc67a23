/** `mailplane servers list|show|rerun-step|resume|rebuild|rotate-dkim|roll-tls-key`: the support tools from a shell. */
import { parseArgs } from 'node:util';
import { SERVER_STATUSES } from '../db/schema/index.ts';
import { startDkimRotation } from '../servers/dkim-rotation.ts';
import { startRebuild } from '../servers/rebuild.ts';
import { startTlsRollover } from '../servers/tls-rollover.ts';
import { findServer, listServers, serverDetail } from '../servers/views.ts';
import type { Command } from './command.ts';
import { cliContext } from './running-sandbox.ts';

const USAGE = `mailplane servers list [--status provisioning|ready|failed|suspended|deprovisioning|deleted] [--json]
mailplane servers show SERVER_ID [--json]
mailplane servers rerun-step SERVER_ID STEP
mailplane servers resume SERVER_ID
mailplane servers rebuild SERVER_ID --reason TEXT
mailplane servers rotate-dkim SERVER_ID --reason TEXT [--emergency]
mailplane servers roll-tls-key SERVER_ID --reason TEXT [--key-type ecdsa|rsa]

list        every server (newest first), optionally by status
show        a server with its IPs and every step of its latest run, with logs
rerun-step  queue one step of the latest run again (steps are idempotent)
resume      re-queue the failed steps of a failed run
rebuild     a new instance with the same IPs and keys, the mail from the latest backup
rotate-dkim new DKIM keys now (a new dated selector); --emergency: a leaked key, revoked at once
roll-tls-key a new TLS key: both keys' TLSA published, the key switched after their TTL, the old record removed
Re-runs, resumes, rebuilds and rotations are written to the audit log as done from the CLI.`;

export const serversCommand: Command = {
  name: 'servers',
  usage: USAGE,
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        status: { type: 'string' },
        json: { type: 'boolean' },
        reason: { type: 'string' },
        emergency: { type: 'boolean' },
        'key-type': { type: 'string' },
      },
    });
    const [action, id, step] = positionals;
    const valid =
      (action === 'list' && !id) ||
      (action === 'show' && id) ||
      (action === 'resume' && id) ||
      (action === 'rerun-step' && id && step) ||
      ((action === 'rebuild' || action === 'rotate-dkim' || action === 'roll-tls-key') &&
        id &&
        (values.reason ?? '').trim().length >= 3 &&
        (values['key-type'] === undefined || (action === 'roll-tls-key' && ['ecdsa', 'rsa'].includes(values['key-type']))));
    if (!valid || (values.status && !(SERVER_STATUSES as readonly string[]).includes(values.status))) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    // list and show read the database only; re-runs and resumes act on the running product's providers.
    const ctx = await cliContext({
      needsProviders: action === 'rerun-step' || action === 'resume' || action === 'rebuild' || action === 'rotate-dkim' || action === 'roll-tls-key',
    });
    if (typeof ctx === 'number') return ctx;
    const out = (v: unknown) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
    const actor = { id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'staff' as const, ip: null };
    try {
      const db = ctx.database.db;
      if (action === 'list') {
        const rows = await listServers(db, values.status ? { status: values.status } : {});
        if (values.json) out(rows);
        else for (const s of rows) out(`${s.id}  ${s.status.padEnd(14)} ${s.zone.padEnd(9)} ${s.hostname}${s.statusReason ? `  (${s.statusReason})` : ''}`);
      } else if (action === 'show') {
        const detail = await serverDetail(db, await findServer(db, id!), { withLogs: true });
        if (values.json) out(detail);
        else {
          out(`${detail.hostname}  ${detail.status}  ${detail.zone}  ${detail.ipv4 ?? '-'}  ${detail.ipv6 ?? '-'}`);
          for (const s of detail.steps) {
            out(`\n== ${s.name}: ${s.status} (attempt ${s.attempt})${s.error ? ` — ${s.error}` : ''}`);
            if ('log' in s && s.log) out(String(s.log).trimEnd());
          }
        }
      } else if (action === 'rerun-step') {
        out(await ctx.engine.rerunStep(actor, (await findServer(db, id!)).id, step!));
      } else if (action === 'rebuild') {
        out(await startRebuild(ctx, actor, { serverId: (await findServer(db, id!)).id, reason: values.reason!.trim() }));
      } else if (action === 'roll-tls-key') {
        out(
          await startTlsRollover(ctx, actor, {
            serverId: (await findServer(db, id!)).id,
            reason: values.reason!.trim(),
            keyType: values['key-type'] === 'rsa' ? 'rsa' : 'ecdsa',
          }),
        );
      } else if (action === 'rotate-dkim') {
        out(
          await startDkimRotation(ctx, actor, {
            serverId: (await findServer(db, id!)).id,
            reason: values.reason!.trim(),
            emergency: values.emergency ?? false,
          }),
        );
      } else {
        out(await ctx.engine.resumeRun(actor, (await findServer(db, id!)).id));
      }
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
