/**
 * Round trip between the TypeScript signer and the Python verifier that runs on
 * the server (the rendered webmail-login.py, `check` mode, its own nonce store).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { signWebmailToken, webmailLoginUrl } from '../../../src/mailstack/webmail-token.ts';
import { requireProgram, run } from '../../support/real-tools.ts';
import { SAMPLE_WEBMAIL_KEY, sampleServer } from './sample-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'mailplane-webmail-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const verifier = join(dir, 'webmail-login.py');
writeFileSync(verifier, renderServerTree(sampleServer()).find((f) => f.path === '/opt/mailplane/libexec/webmail-login.py')!.content);
const keyFile = join(dir, 'hmac.key');
writeFileSync(keyFile, `${SAMPLE_WEBMAIL_KEY}\n`);
const nonceDb = join(dir, 'nonces.sqlite3');

const NOW = new Date('2026-03-01T12:00:00Z');
const nowS = NOW.getTime() / 1000;

let python: string;
function check(ctx: Parameters<typeof requireProgram>[0], token: string, at = nowS, key = keyFile) {
  python ??= requireProgram(ctx, 'python3', 'python3');
  const res = run(python, [verifier, 'check', '--key-file', key, '--nonce-db', nonceDb, '--domain', 'example.com', '--now', String(at), token]);
  return { accepted: res.status === 0, out: `${res.stdout}${res.stderr}`.trim() };
}
const sign = (over: Partial<Parameters<typeof signWebmailToken>[0]> = {}) =>
  signWebmailToken({ key: SAMPLE_WEBMAIL_KEY, mailbox: 'alice@example.com', ttlSeconds: 60, now: NOW, ...over });

describe('webmail auto-login token', () => {
  it('is accepted once by the server verifier, then rejected as reused', (ctx) => {
    const token = sign();
    expect(check(ctx, token)).toEqual({ accepted: true, out: 'alice@example.com' });
    expect(check(ctx, token, nowS + 1)).toEqual({ accepted: false, out: 'rejected: already used' });
  });

  it('is rejected once expired', (ctx) => {
    expect(check(ctx, sign({ ttlSeconds: 30 }), nowS + 30)).toEqual({ accepted: false, out: 'rejected: expired' });
  });

  it('is rejected when the payload is altered (another mailbox, a longer life)', (ctx) => {
    const [payload, mac] = sign().split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    for (const change of [{ mbx: 'bob@example.com' }, { exp: claims.exp + 3600 }]) {
      const forged = Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url');
      expect(check(ctx, `${forged}.${mac}`)).toEqual({ accepted: false, out: 'rejected: bad signature' });
    }
    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(check(ctx, `${payload}.${flipped}`)).toEqual({ accepted: false, out: 'rejected: bad signature' });
  });

  it('is rejected under another server key', (ctx) => {
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, `${Buffer.alloc(32, 9).toString('base64')}\n`);
    expect(check(ctx, sign(), nowS, otherKey)).toEqual({ accepted: false, out: 'rejected: bad signature' });
  });

  it('is rejected for a mailbox of another domain, even correctly signed', (ctx) => {
    expect(check(ctx, sign({ mailbox: 'alice@example.org' }))).toEqual({ accepted: false, out: 'rejected: mailbox of another domain' });
  });

  it('is rejected when issued in the future', (ctx) => {
    expect(check(ctx, sign(), nowS - 30)).toEqual({ accepted: false, out: 'rejected: issued in the future' });
  });

  it('cannot be signed with a lifetime over 60 s, a short key or a bad mailbox', () => {
    expect(() => sign({ ttlSeconds: 61 })).toThrow(/ttlSeconds/);
    expect(() => sign({ key: Buffer.alloc(16).toString('base64') })).toThrow(/32 bytes/);
    expect(() => sign({ mailbox: 'alice@example.com\nbob' })).toThrow(/mailbox/);
  });

  it('builds the auto-login link on the webmail host', () => {
    expect(webmailLoginUrl('example.com', 'a.b')).toBe('https://webmail.example.com/autologin?token=a.b');
  });
});
