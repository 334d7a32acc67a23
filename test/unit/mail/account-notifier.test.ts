import { describe, expect, it } from 'vitest';
import { mailAccountNotifier } from '../../../src/mail/account-notifier.ts';
import type { Mailer, MailMessage } from '../../../src/mail/mailer.ts';
import { createLogger } from '../../../src/log.ts';

describe('account notices by mail', () => {
  it('tells the owner about password guessing, with the count and source, and points at the reset page without a token', async () => {
    const sent: MailMessage[] = [];
    const mailer: Mailer = { kind: 'sandbox', send: async (m) => void sent.push(m) };
    const notifier = mailAccountNotifier({ mailer, log: createLogger({ level: 'silent', pretty: false }), publicUrl: 'https://app.mailplane.test' });
    await notifier.notify({
      kind: 'login_throttled',
      userId: 'u1',
      email: 'ada@example.com',
      failures: 10,
      ip: '192.0.2.7',
      at: new Date('2026-12-01T10:00:00Z'),
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toEqual(['ada@example.com']);
    expect(sent[0]!.text).toContain('10 wrong passwords');
    expect(sent[0]!.text).toContain('192.0.2.7');
    expect(sent[0]!.text).toContain('https://app.mailplane.test/forgot-password');
    expect(sent[0]!.text).not.toMatch(/token=/);
  });

  it('does not fail the sign-in path when the mail cannot be sent', async () => {
    const mailer: Mailer = {
      kind: 'smtp',
      send: async () => {
        throw new Error('connection refused');
      },
    };
    const notifier = mailAccountNotifier({ mailer, log: createLogger({ level: 'silent', pretty: false }), publicUrl: 'http://x' });
    await expect(
      notifier.notify({ kind: 'login_throttled', userId: 'u1', email: 'a@example.com', failures: 5, ip: null, at: new Date() }),
    ).resolves.toBeUndefined();
  });

  it('tells the owner every change to their second factors, with where it came from', async () => {
    const sent: MailMessage[] = [];
    const mailer: Mailer = { kind: 'sandbox', send: async (m) => void sent.push(m) };
    const notifier = mailAccountNotifier({ mailer, log: createLogger({ level: 'silent', pretty: false }), publicUrl: 'https://app.mailplane.test' });
    await notifier.notify({
      kind: 'two_factor_changed',
      userId: 'u1',
      email: 'ada@example.com',
      change: 'disabled',
      ip: '192.0.2.9',
      at: new Date('2026-12-01T10:00:00Z'),
    });
    expect(sent[0]!.to).toEqual(['ada@example.com']);
    expect(sent[0]!.subject).toBe('mailplane: two-factor sign-in was turned off');
    expect(sent[0]!.text).toContain('192.0.2.9');
    expect(sent[0]!.text).toContain('https://app.mailplane.test/account/two-factor');
  });
});
