/**
 * What each provisioning script does on an emulated host. The emulator does
 * not run bash: it answers with plausible output and exit codes and records
 * the effect in the host state, checking the preconditions the real script
 * would trip over (the uploaded tree, an earlier install). Adding a script is
 * one entry in SCRIPTS.
 */
import { join } from 'node:path';
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
};
