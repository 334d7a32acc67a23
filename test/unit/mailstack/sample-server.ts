/** The sample server whose rendered tree the golden files pin (test-only keys, never used anywhere real). */
import { readFileSync } from 'node:fs';
import type { ServerTemplateInput } from '../../../src/mailstack/render.ts';

export const SAMPLE_DKIM_KEY_PEM = readFileSync(new URL('./fixtures/dkim-test-key.pem', import.meta.url), 'utf8');
export const SAMPLE_WEBMAIL_KEY = Buffer.alloc(32, 7).toString('base64');

export function sampleServer(overrides: Partial<ServerTemplateInput> = {}): ServerTemplateInput {
  return {
    hostname: 'mail.example.com',
    domain: 'example.com',
    ipv4: '203.0.113.10',
    ipv6: '2001:db8::10',
    sshSources: ['198.51.100.200', '2001:db8:ff::/48'],
    dkimSelector: 'mp2024',
    dkimPrivateKeyPem: SAMPLE_DKIM_KEY_PEM,
    webmailHmacKey: SAMPLE_WEBMAIL_KEY,
    adminEmail: 'postmaster@example.com',
    limits: { messagesPerHourPerSender: 200, recipientsPerMessage: 100, quotaMb: 5120 },
    mtaStsPolicy: { mode: 'enforce', mx: ['mail.example.com'], maxAge: 604800 },
    ...overrides,
  };
}
