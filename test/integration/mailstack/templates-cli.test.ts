/** `mailplane templates render` run as a person would: the real CLI entry in a child process. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'mailplane-templates-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, ['src/main.ts', 'templates', ...args], { encoding: 'utf8', timeout: 60_000 });
const base = ['--hostname', 'mail.example.com', '--domain', 'example.com', '--ipv4', '203.0.113.10', '--ipv6', '2001:db8::10'];

describe('mailplane templates render', () => {
  it('writes the whole tree with the scripts, keeping file modes', () => {
    const out = join(dir, 'tree');
    const res = cli('render', ...base, '--out', out);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^\d+ files written under /);
    expect(readFileSync(join(out, 'etc/postfix/main.cf'), 'utf8')).toContain('myhostname = mail.example.com');
    expect(readFileSync(join(out, 'var/www/mta-sts/mta-sts.txt'), 'utf8')).toBe('version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n');
    expect(statSync(join(out, 'opt/mailplane/bin/install-mail-stack.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'var/lib/rspamd/dkim/example.com.mailplane.key')).mode & 0o777).toBe(0o600);
  });

  it('refuses a hostile hostname with exit code 2 and writes nothing', () => {
    const out = join(dir, 'hostile');
    const res = cli('render', '--out', out, ...base.slice(0, 1), 'mail.example.com\nmynetworks = 0.0.0.0/0', ...base.slice(2));
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('Invalid value: hostname');
    expect(existsSync(out)).toBe(false);
  });

  it('prints its usage without the required options', () => {
    const res = cli('render', '--out', join(dir, 'x'));
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('mailplane templates render --hostname HOST');
  });
});
