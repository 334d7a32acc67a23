/**
 * Who may log in to an emulated host and who gets to be root, as OpenSSH and sudo decide it
 * on a real one:
 *
 * - cloud-init's `users` give the first accounts (keys, `sudo` rule); deploy-user.sh adds
 *   one later (its key replaced, never appended; a NOPASSWD rule).
 * - sshd enforces the sshd_config it last loaded (deploy-user.sh and harden.sh reload it):
 *   `PermitRootLogin no` refuses root, `AllowUsers` refuses everyone else. Until then the
 *   image's defaults hold: root with a key, any account.
 * - A command runs as root when the login is root or when it arrives as
 *   `sudo -n -- bash -c '<command>'` from an account with a sudo rule; without the rule sudo
 *   refuses (-n: no password prompt). Anything else runs unprivileged.
 */
import ssh2, { type ParsedKey } from 'ssh2';
import type { BootedHost } from './boot.ts';
import type { HostFs } from './host-fs.ts';
import type { HostState, HostStateFile } from './host-state.ts';

/** What of a script's context (scripts.ts, which registers these) the handlers here use. */
interface AccountsContext {
  fs: HostFs;
  state: HostStateFile;
  uid: number;
  stdin: string;
  args?: string[];
  stdout(text: string): void;
  stderr(text: string): void;
}

const { utils } = ssh2;
const SSHD_CONFIG = '/etc/ssh/sshd_config';
const USER = /^[a-z_][a-z0-9_-]{0,30}$/;
const KEY_LINE = /^ssh-ed25519 [A-Za-z0-9+/=]+( [^\n]*)?$/;

/** The keys that may log in as `username` now (none when sshd refuses the account). */
export function keysFor(booted: BootedHost, state: HostState, username: string): ParsedKey[] {
  const sshd = state.sshd;
  if (sshd && username === 'root' && !sshd.permitRootLogin) return [];
  if (sshd?.allowUsers && !sshd.allowUsers.includes(username)) return [];
  const added = state.users?.[username];
  if (added) return added.keys.map((k) => utils.parseKey(k)).filter((k): k is ParsedKey => !(k instanceof Error));
  return booted.authorizedKeys.get(username) ?? [];
}

export function hasSudo(booted: BootedHost, state: HostState, username: string): boolean {
  return username === 'root' || booted.sudoUsers.has(username) || state.users?.[username]?.sudo === true;
}

/** `sudo -n -- bash -c '<command>'` → the command (the quoting node-ssh.ts's asRoot writes); null otherwise. */
export function unwrapSudo(command: string): string | null {
  const m = /^sudo -n -- bash -c '((?:[^']|'\\'')*)'$/.exec(command);
  return m ? m[1]!.replaceAll("'\\''", "'") : null;
}

/** What runs, and as whom, for `command` sent by `username`; or sudo's refusal. */
export function privilegeOf(booted: BootedHost, state: HostState, username: string, command: string): { command: string; uid: number } | { refused: string } {
  const inner = unwrapSudo(command.trim());
  if (inner === null) return { command, uid: username === 'root' ? 0 : 1000 };
  if (!hasSudo(booted, state, username)) return { refused: `sudo: a password is required\n` };
  return { command: inner, uid: 0 };
}

/** What sshd enforces after loading the uploaded sshd_config (no file: the image's defaults). */
export async function reloadSshd(ctx: Pick<AccountsContext, 'fs' | 'state'>): Promise<void> {
  const file = await ctx.fs.read(SSHD_CONFIG);
  if (!file) return;
  const lines = file.content
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  // sshd: the first value of a keyword wins.
  const first = (keyword: string) =>
    lines
      .find((l) => l.split(/\s+/)[0]!.toLowerCase() === keyword.toLowerCase())
      ?.split(/\s+/)
      .slice(1);
  const permit = first('PermitRootLogin')?.[0] ?? 'prohibit-password';
  const allow = first('AllowUsers');
  await ctx.state.update({ sshd: { permitRootLogin: permit !== 'no', allowUsers: allow ?? null } });
}

/** deploy-user.sh USER, the public key on stdin (templates/scripts/deploy-user.sh). */
export async function deployUser(ctx: AccountsContext): Promise<number> {
  const user = ctx.args?.[0] ?? '';
  const key = ctx.stdin.trim();
  if (ctx.uid !== 0) {
    ctx.stderr('deploy-user.sh: useradd: Permission denied.\n');
    return 1;
  }
  if (!USER.test(user)) {
    ctx.stderr(`deploy-user: invalid user name: ${user}\n`);
    return 2;
  }
  if (!KEY_LINE.test(key) || utils.parseKey(key) instanceof Error) {
    ctx.stderr('deploy-user: stdin must be one ssh-ed25519 public key line\n');
    return 2;
  }
  const users = { ...ctx.state.get().users, [user]: { keys: [key], sudo: true } };
  await ctx.state.update({ users });
  await reloadSshd(ctx);
  ctx.stdout(`deploy-user: ${user} can log in\n`);
  return 0;
}
