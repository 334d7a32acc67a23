/**
 * What each provisioning script does on an emulated host. The emulator does
 * not run bash: it answers with plausible output and exit codes and records
 * the effect in the host state, checking the preconditions the real script
 * would trip over (the uploaded tree, an earlier install). Adding a script is
 * one entry in SCRIPTS.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostFs } from './host-fs.ts';
import type { HostStateFile } from './host-state.ts';
import { ensureTlsKey, publicPemOf, readTlsKey, spkiSha256 } from './tls-key.ts';

export interface ScriptContext {
  fqdn: string;
  fs: HostFs;
  /** The host's directory, outside its file system (TLS key, state). */
  hostDir: string;
  state: HostStateFile;
  /** What the cloud gives this host: its addresses, whether outbound SMTP gets through, its boot disk's size. */
  network?: { addresses: string[]; outboundSmtpOpen: boolean; diskBytes?: number };
  /** Bytes in use on its root file system. */
  diskUsedBytes?: number;
  stdin: string;
  /** The script's arguments (`bash script.sh ARG…`). */
  args?: string[];
  /** Each call is sent at once, as a separate chunk, like a script's progress lines. */
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Resolves to the exit code. */
export type ScriptHandler = (ctx: ScriptContext) => Promise<number>;

const tlsKeyPath = (ctx: ScriptContext) => join(ctx.hostDir, 'tls', 'privkey.pem');

function needsInstalled(name: string, run: ScriptHandler): ScriptHandler {
  return async (ctx) => {
    if (!ctx.state.get().installedAt) {
      ctx.stderr(`${name}: the mail stack is not installed (run install-mail-stack.sh first)\n`);
      return 1;
    }
    return run(ctx);
  };
}

const SERVICES: readonly [name: string, port: number][] = [
  ['smtp', 25], ['submission', 587], ['submissions', 465], ['imaps', 993], ['https', 443],
];

export const SCRIPTS: Readonly<Record<string, ScriptHandler>> = {
  'bake-image.sh': async (ctx) => {
    // The real script sources the apt helpers uploaded beside it.
    if (!(await ctx.fs.exists('/opt/mailplane/bin/apt-lib.sh'))) {
      ctx.stderr('bake-image.sh: /opt/mailplane/bin/apt-lib.sh: No such file or directory\n');
      return 1;
    }
    ctx.stdout('bake-image: installing the mail stack packages\n');
    ctx.stdout('bake-image: removed per-instance secrets: roundcube-des-key snakeoil\n');
    ctx.stdout('bake-image: image ready to be snapshotted\n');
    return 0;
  },

  'install-mail-stack.sh': async (ctx) => {
    // The installer configures from the uploaded tree; without it the real script fails the same way.
    for (const required of ['/etc/postfix/main.cf']) {
      if (!(await ctx.fs.exists(required))) {
        ctx.stderr(`install-mail-stack.sh: ${required}: No such file or directory (upload the rendered tree first)\n`);
        return 1;
      }
    }
    ctx.stdout('installing packages: postfix dovecot-imapd opendkim nginx nftables fail2ban\n');
    ctx.stdout('configuring postfix, dovecot, opendkim, nginx\n');
    ctx.stdout('services enabled and restarted\n');
    await ctx.state.update({ installedAt: new Date().toISOString() });
    return 0;
  },

  'harden.sh': needsInstalled('harden.sh', async (ctx) => {
    ctx.stdout('sshd: key-only authentication\n');
    ctx.stdout('nftables: ruleset loaded\n');
    ctx.stdout('fail2ban: enabled\n');
    ctx.stdout('unattended-upgrades: enabled\n');
    await ctx.state.update({ hardenedAt: new Date().toISOString() });
    return 0;
  }),

  'issue-tls.sh': needsInstalled('issue-tls.sh', async (ctx) => {
    // The key survives renewals, so the TLSA 3 1 1 record built from its SPKI stays valid.
    const { created } = await ensureTlsKey(tlsKeyPath(ctx));
    ctx.stdout(`${created ? 'generated a new' : 'reusing the'} TLS key\n`);
    ctx.stdout(`certificate issued for ${ctx.fqdn}\n`);
    await ctx.state.update({ tlsIssuedAt: new Date().toISOString() });
    return 0;
  }),

  'tls-spki.sh': async (ctx) => {
    const key = await readTlsKey(tlsKeyPath(ctx));
    if (!key) {
      ctx.stderr('tls-spki.sh: no TLS key (run issue-tls.sh first)\n');
      return 1;
    }
    ctx.stdout(`${spkiSha256(publicPemOf(key))}\n`);
    return 0;
  },

  // The lineage as the control plane keeps it: here, the emulated host's TLS key (base64 of its PEM).
  'tls-lineage.sh': async (ctx) => {
    const key = await readTlsKey(tlsKeyPath(ctx));
    const action = ctx.args?.[0];
    if (action !== 'export' && action !== 'import') {
      ctx.stderr('usage: tls-lineage.sh export|import\n');
      return 2;
    }
    if (action === 'export') {
      if (!key) {
        ctx.stderr('tls-lineage: no ACME certificate yet (run issue-tls.sh)\n');
        return 1;
      }
      ctx.stdout(`${Buffer.from(key).toString('base64')}\n`);
      return 0;
    }
    const pem = Buffer.from(ctx.stdin.trim(), 'base64').toString('utf8');
    if (!pem.includes('PRIVATE KEY')) {
      ctx.stderr('tls-lineage: the archive is not a lineage; nothing installed\n');
      return 1;
    }
    await mkdir(dirname(tlsKeyPath(ctx)), { recursive: true });
    await writeFile(tlsKeyPath(ctx), pem, { mode: 0o600 });
    await ctx.state.update({ tlsIssuedAt: new Date().toISOString() });
    ctx.stdout('tls-lineage: lineage installed\n');
    return 0;
  },

  'verify-services.sh': async (ctx) => {
    const { installedAt, tlsIssuedAt } = ctx.state.get();
    const problem = !installedAt ? 'connection refused' : !tlsIssuedAt ? 'no TLS certificate' : null;
    for (const [name, port] of SERVICES) ctx.stdout(`${name} ${port} ${problem ?? 'ok'}\n`);
    return problem ? 1 : 0;
  },

  'apply-mailboxes.sh': needsInstalled('apply-mailboxes.sh', async (ctx) => {
    const users = await ctx.fs.read('/etc/dovecot/users');
    if (!users) {
      ctx.stderr('apply-mailboxes.sh: /etc/dovecot/users: No such file or directory\n');
      return 1;
    }
    const count = users.content.toString('utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).length;
    ctx.stdout(`${count} mailbox(es) applied\n`);
    await ctx.state.update({ mailboxesAppliedAt: new Date().toISOString(), mailboxCount: count });
    return 0;
  }),

  /**
   * No restic runs and nothing is stored: the answer has the real script's shape, every
   * mailbox of /etc/dovecot/users with no message (an emulated host receives no mail),
   * and says `simulated` so that nobody reads it as a backup. The control plane records
   * it as simulated and never drills it.
   */
  'backup.sh': needsInstalled('backup.sh', async (ctx) => {
    const env = await ctx.fs.read('/etc/mailplane/backup.env');
    if (!env) {
      ctx.stderr('backup: /etc/mailplane/backup.env is missing (the control plane writes it)\n');
      return 1;
    }
    const users = (await ctx.fs.read('/etc/dovecot/users'))?.content.toString('utf8') ?? '';
    const mailboxes = Object.fromEntries(users.split('\n').map((l) => l.split(':')[0]!.trim()).filter((a) => a.includes('@'))
      .map((address) => [address, { INBOX: { count: 0, messages: {} } }]));
    const snapshotId = randomBytes(4).toString('hex');
    ctx.stderr(`backup: pass 1: snapshot ${snapshotId} (simulated: no restic on an emulated host)\n`);
    ctx.stdout(`${JSON.stringify({
      simulated: true, snapshotId, passes: 1, vanished: 0,
      summary: { snapshot_id: snapshotId, total_files_processed: 0, total_bytes_processed: 0, data_added: 0 },
      manifest: { version: 1, createdAt: new Date().toISOString(), mailboxes },
    })}\n`);
    await ctx.state.update({ lastBackupAt: new Date().toISOString() });
    return 0;
  }),

  /** Simulated like backup.sh: the emulated host's snapshots hold no mail, so none comes back, and the answer says so. */
  'restore-server.sh': needsInstalled('restore-server.sh', async (ctx) => {
    if (!(await ctx.fs.read('/etc/mailplane/backup.env'))) {
      ctx.stderr('restore-server: /etc/mailplane/backup.env is missing (the control plane writes it)\n');
      return 1;
    }
    const snapshot = ctx.stdin.trim();
    if (!/^[0-9a-f]{8,64}$/.test(snapshot)) {
      ctx.stderr('restore-server: bad snapshot id\n');
      return 1;
    }
    ctx.stdout(`${JSON.stringify({ snapshot, messages: 0, simulated: true })}\n`);
    return 0;
  }),

  /** Simulated like backup.sh: an emulated host holds no mail, so nothing is restored, and the answer says so. */
  'restore-mailbox.sh': needsInstalled('restore-mailbox.sh', async (ctx) => {
    if (!(await ctx.fs.read('/etc/mailplane/backup.env'))) {
      ctx.stderr('restore-mailbox: /etc/mailplane/backup.env is missing (the control plane writes it)\n');
      return 1;
    }
    const [snapshot, address, date] = ctx.stdin.trim().split(/\s+/);
    if (!snapshot || !/^[0-9a-f]{8,64}$/.test(snapshot) || !address?.includes('@') || !date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      ctx.stderr('restore-mailbox: bad request\n');
      return 1;
    }
    ctx.stdout(`${JSON.stringify({ restored: 0, skipped: 0, folder: `Restored ${date}`, simulated: true })}\n`);
    return 0;
  }),
};
