import { describe, expect, it } from 'vitest';
import { createLogger, REDACT_PATHS } from '../../src/log.ts';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', pretty: false, destination: { write: (l: string) => void lines.push(l) } });
  return { log, lines, last: () => JSON.parse(lines.at(-1)!) };
}

const SECRET = 'S3CR3T-value-that-must-not-appear';

describe('log redaction', () => {
  it.each([
    ['a password at the top level', { password: SECRET }],
    ['a token in a body', { body: { token: SECRET } }],
    ['an API key in nested details', { details: { key: { apiKey: SECRET } } }],
    ['request headers', { req: { headers: { authorization: `Bearer ${SECRET}`, cookie: `mailplane_session=${SECRET}` } } }],
    ['response headers', { res: { headers: { 'set-cookie': `mailplane_session=${SECRET}; HttpOnly` } } }],
    [
      'headers spelled as an SDK or fetch() caller writes them',
      { request: { headers: { Authorization: `Bearer ${SECRET}`, Cookie: SECRET, 'X-Auth-Token': SECRET } } },
    ],
    ['the Scaleway auth header', { headers: { 'x-auth-token': SECRET } }],
    ['secrets inside an array', { users: [{ email: 'a@example.com', passwordHash: SECRET }] }],
    ['three levels below the top', { a: { b: { c: { secret: SECRET } } } }],
    ['vault material', { secret: { plaintext: SECRET, ciphertext: SECRET } }],
    ['provider credentials', { stripe: { webhookSecret: SECRET, secretKey: SECRET }, ssh: { privateKey: SECRET } }],
  ])('removes %s', (_what, obj) => {
    const { log, lines } = capture();
    log.info(obj, 'something happened');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain('[redacted]');
  });

  it('keeps what is not secret, and does not change the logged object', () => {
    const { log, last } = capture();
    const obj = { email: 'a@example.com', workspaceId: 'w1', body: { name: 'Acme', password: SECRET } };
    log.info(obj, 'signup');
    expect(last()).toMatchObject({ msg: 'signup', email: 'a@example.com', workspaceId: 'w1', body: { name: 'Acme', password: '[redacted]' } });
    expect(obj.body.password).toBe(SECRET);
  });

  it('redacts in child loggers too', () => {
    const { log, lines } = capture();
    log.child({ requestId: 'r1' }).warn({ token: SECRET }, 'careless');
    expect(lines[0]).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'r1', token: '[redacted]' });
  });

  it('covers every secret key at depth 0 to 3', () => {
    for (const key of ['password', 'token', 'apiKey', 'authorization', 'cookie']) {
      const paths = REDACT_PATHS.filter((p) => p === key || p.endsWith(`.${key}`));
      expect(paths, key).toHaveLength(4);
    }
    expect(REDACT_PATHS).toContain('["set-cookie"]');
    expect(REDACT_PATHS).toContain('*.*.*["set-cookie"]');
  });
});
