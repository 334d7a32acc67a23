/**
 * What each provisioning script does on an emulated host. The emulator does
 * not run bash: it answers with plausible output and exit codes and records
 * the effect in the host state, checking the preconditions the real script
 * would trip over (the uploaded tree, an earlier install). Adding a script is
 * one entry in SCRIPTS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deployUser, reloadSshd } from './accounts.ts';
import type { HostFs } from './host-fs.ts';
import { FIRST_BOOT_ID, type HostStateFile } from './host-state.ts';
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
  /** Who the command runs as: 0 for root (a root login, or sudo), otherwise an unprivileged account. */
  uid: number;
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
  ['smtp', 25],
  ['submission', 587],
  ['submissions', 465],
  ['imaps', 993],
  ['https', 443],
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
    await ctx.state.update({ installedAt: new Date().toISOString(), stoppedServices: [] });
    return 0;
  },

  'deploy-user.sh': deployUser,

  'harden.sh': needsInstalled('harden.sh', async (ctx) => {
    // sshd reloads the uploaded sshd_config (root login off, only the deploy user).
    await reloadSshd(ctx);
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

  /**
   * The drift check's question, answered from the emulated host's files: their real digests (a file
   * a test edits shows as drift), the packages at a version the emulator names, services active once
   * installed (and stopped ones as the host state says), no updates, no kernel of its own.
   */
  'host-state.sh': async (ctx) => {
    let req: { files?: string[]; read?: string[]; packages?: string[]; services?: string[] };
    try {
      req = JSON.parse(ctx.stdin) as typeof req;
    } catch {
      ctx.stderr('host-state.py: the request is not JSON\n');
      return 1;
    }
    const { installedAt, stoppedServices = [], bootId } = ctx.state.get();
    const files: Record<string, string | null> = {};
    for (const path of req.files ?? []) {
      const f = await ctx.fs.read(path);
      files[path] = f ? createHash('sha256').update(f.content).digest('hex') : null;
    }
    const contents: Record<string, string | null> = {};
    for (const path of req.read ?? []) contents[path] = (await ctx.fs.read(path))?.content.toString('utf8') ?? null;
    const packages = Object.fromEntries((req.packages ?? []).map((p) => [p, installedAt ? '0.emulated' : null]));
    const services = Object.fromEntries(
      (req.services ?? []).map((u) => [
        u,
        installedAt ? { enabled: 'enabled', active: stoppedServices.includes(u) ? 'inactive' : 'active' } : { enabled: 'not-found', active: 'inactive' },
      ]),
    );
    const reboot = await ctx.fs.read('/run/reboot-required');
    ctx.stdout(
      `${JSON.stringify({
        files,
        contents,
        packages,
        services,
        updates: { pending: [], security: [] },
        rebootRequired: reboot !== null,
        rebootPackages: [],
        kernel: { running: '6.1.0-emulated', installed: null },
        bootId: bootId ?? FIRST_BOOT_ID,
      })}\n`,
    );
    return 0;
  },

  'verify-services.sh': async (ctx) => {
    const { installedAt, tlsIssuedAt } = ctx.state.get();
    const problem = !installedAt ? 'connection refused' : !tlsIssuedAt ? 'no TLS certificate' : null;
    for (const [name, port] of SERVICES) ctx.stdout(`${name} ${port} ${problem ?? 'ok'}\n`);
    return problem ? 1 : 0;
  },

  // The next TLS key beside the served one (prepare), then served in its place (switch), as the real script.
  'tls-rollover.sh': needsInstalled('tls-rollover.sh', async (ctx) => {
    const nextPath = join(ctx.hostDir, 'tls', 'next.pem');
    const action = ctx.args?.[0];
    if (action === 'prepare') {
      const { privateKeyPem } = await ensureTlsKey(nextPath);
      ctx.stdout(`${spkiSha256(publicPemOf(privateKeyPem))}\n`);
      return 0;
    }
    if (action !== 'switch' || !['ecdsa', 'rsa'].includes(ctx.args?.[1] ?? '')) {
      ctx.stderr('usage: tls-rollover.sh prepare ecdsa|rsa | switch ecdsa|rsa\n');
      return 2;
    }
    const next = await readTlsKey(nextPath);
    if (next) {
      await writeFile(tlsKeyPath(ctx), next, { mode: 0o600 });
      await rm(nextPath, { force: true });
      ctx.stderr('tls-deploy: certificate installed, services reloaded\n');
    }
    const served = await readTlsKey(tlsKeyPath(ctx));
    if (!served) {
      ctx.stderr('tls-spki: no ACME certificate yet (run issue-tls.sh)\n');
      return 1;
    }
    ctx.stdout(`${spkiSha256(publicPemOf(served))}\n`);
    return 0;
  }),

  // As the real script: keys the signing configuration no longer names are removed; each selector
  // asked for must be configured with its key on disk, or Rspamd would not sign with it (exit 1).
  'dkim-apply.sh': needsInstalled('dkim-apply.sh', async (ctx) => {
    const conf = (await ctx.fs.read('/etc/rspamd/local.d/dkim_signing.conf'))?.content.toString('utf8') ?? '';
    const dir = '/var/lib/rspamd/dkim';
    const keys = await readdir(ctx.fs.localPath(dir)).catch(() => [] as string[]);
    for (const name of keys) {
      const path = `${dir}/${name}`;
      if (name.endsWith('.key') && !conf.includes(`"${path}"`)) {
        await rm(ctx.fs.localPath(path), { force: true });
        ctx.stdout(`dkim-apply: removed ${path} (no longer signs)\n`);
      }
    }
    const missing: string[] = [];
    for (const selector of ctx.args ?? []) {
      const entry = new RegExp(`selector = "${selector}"; path = "([^"]+)"`).exec(conf);
      if (!entry || !(await ctx.fs.exists(entry[1]!))) missing.push(selector);
    }
    if (missing.length > 0) {
      ctx.stderr(`dkim-apply: rspamd does not sign with ${missing.join(' ')} after its reload\n`);
      return 1;
    }
    if ((ctx.args ?? []).length > 0) ctx.stdout(`dkim-apply: rspamd signs with ${(ctx.args ?? []).join(' ')}\n`);
    return 0;
  }),

  // The real script checks the maps and compiles each Sieve script with sievec (proved in
  // test/integration/mailstack/addresses-tools.test.ts); here the uploaded list must name them all.
  'apply-addresses.sh': needsInstalled('apply-addresses.sh', async (ctx) => {
    const list = await ctx.fs.read('/etc/mailplane/sieve-scripts');
    if (!list) {
      ctx.stderr('apply-addresses: /etc/mailplane/sieve-scripts is missing\n');
      return 1;
    }
    const addresses = list.content.toString('utf8').split('\n').filter(Boolean);
    for (const address of addresses) {
      if (!(await ctx.fs.read(`/var/lib/dovecot/mailplane-sieve/${address}.sieve`))) {
        ctx.stderr(`apply-addresses: /var/lib/dovecot/mailplane-sieve/${address}.sieve is missing\n`);
        return 1;
      }
    }
    const aliases = (await ctx.fs.read('/etc/postfix/address_aliases'))?.content.toString('utf8').split('\n').filter(Boolean).length ?? 0;
    ctx.stdout(`apply-addresses: ${aliases} alias line(s), ${addresses.length} Sieve script(s) applied\n`);
    return 0;
  }),

  'apply-mailboxes.sh': needsInstalled('apply-mailboxes.sh', async (ctx) => {
    const users = await ctx.fs.read('/etc/dovecot/users');
    if (!users) {
      ctx.stderr('apply-mailboxes.sh: /etc/dovecot/users: No such file or directory\n');
      return 1;
    }
    const count = users.content
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#')).length;
    ctx.stdout(`${count} mailbox(es) applied\n`);
    await ctx.state.update({ mailboxesAppliedAt: new Date().toISOString(), mailboxCount: count });
    return 0;
  }),

  /**
   * An emulated host receives no mail and sees no login: every mailbox of /etc/dovecot/users
   * uses 0 bytes and no app password has been used, in the real script's line format.
   */
  'mailbox-usage.sh': needsInstalled('mailbox-usage.sh', async (ctx) => {
    const users = await ctx.fs.read('/etc/dovecot/users');
    for (const line of (users?.content.toString('utf8') ?? '').split('\n')) {
      const address = line.split(':')[0]?.trim();
      if (address && !address.startsWith('#')) ctx.stdout(`quota ${address} 0\n`);
    }
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
    const mailboxes = Object.fromEntries(
      users
        .split('\n')
        .map((l) => l.split(':')[0]!.trim())
        .filter((a) => a.includes('@'))
        .map((address) => [address, { INBOX: { count: 0, messages: {} } }]),
    );
    const snapshotId = randomBytes(4).toString('hex');
    ctx.stderr(`backup: pass 1: snapshot ${snapshotId} (simulated: no restic on an emulated host)\n`);
    ctx.stdout(
      `${JSON.stringify({
        simulated: true,
        snapshotId,
        passes: 1,
        vanished: 0,
        summary: { snapshot_id: snapshotId, total_files_processed: 0, total_bytes_processed: 0, data_added: 0 },
        manifest: { version: 1, createdAt: new Date().toISOString(), mailboxes },
      })}\n`,
    );
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

  /**
   * An emulated host reaches no other server and holds no mail: it checks the request as the real
   * script does (every line, the mailbox in /etc/dovecot/users) and answers in its shape, every
   * folder empty, no dsync state, and `simulated` so that nobody reads it as mail copied.
   */
  'import-mailbox.sh': needsInstalled('import-mailbox.sh', async (ctx) => {
    const [address, host, pinned, port, security, user, state, password] = ctx.stdin.split('\n');
    const problem =
      !address || !/^[a-z0-9._+-]+@[a-z0-9.-]+$/.test(address)
        ? 'bad address'
        : !host || !/^[a-z0-9.:-]{1,253}$/.test(host)
          ? 'bad host'
          : !pinned || !/^[0-9a-f.:]{2,45}$/.test(pinned)
            ? 'bad pinned address'
            : !port || !/^\d{1,5}$/.test(port)
              ? 'bad port'
              : security !== 'imaps' && security !== 'starttls'
                ? 'bad security (imaps or starttls)'
                : !user
                  ? 'bad user'
                  : !state
                    ? 'bad state'
                    : !password
                      ? 'no password'
                      : null;
    if (problem) {
      ctx.stderr(`import-mailbox: ${problem}\n`);
      return 1;
    }
    const users = (await ctx.fs.read('/etc/dovecot/users'))?.content.toString('utf8') ?? '';
    if (!users.split('\n').some((line) => line.split(':')[0] === address)) {
      ctx.stderr(`import-mailbox: no mailbox ${address} on this server\n`);
      return 1;
    }
    ctx.stderr(`import-mailbox: connecting to ${host} (${pinned}) port ${port} over ${security} as ${user}\n`);
    ctx.stderr('import-mailbox: copying\n');
    ctx.stdout(`${JSON.stringify({ folders: [{ name: 'INBOX', before: 0, after: 0 }], state: '', simulated: true })}\n`);
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
