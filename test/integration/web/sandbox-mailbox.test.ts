/**
 * The sandbox mailbox holds every user's reset, verification and invitation links: it is open
 * only to this machine when nobody else can reach the product (loopback only, no proxy, not
 * production); otherwise staff only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxMailOpenToThisMachine } from '../../../src/web/pages/sandbox-mail-pages.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

describe('who may read the sandbox mailbox without a staff session', () => {
  const base = { host: '127.0.0.1', env: 'development', trustProxy: false, clientIp: '127.0.0.1' };
  it.each([
    ['loopback listener, loopback caller', base, true],
    ['IPv6 loopback', { ...base, host: '::1', clientIp: '::1' }, true],
    ['listening on every interface', { ...base, host: '0.0.0.0' }, false],
    ['listening on a public address', { ...base, host: '192.0.2.10' }, false],
    ['behind a proxy (TRUST_PROXY): the address is a header', { ...base, trustProxy: true }, false],
    ['in production', { ...base, env: 'production' }, false],
    ['a caller from elsewhere', { ...base, clientIp: '192.0.2.99' }, false],
  ] as const)('%s → %s', (_what, o, open) => {
    expect(sandboxMailOpenToThisMachine(o)).toBe(open);
  });
});

describe('the sandbox mailbox of a product listening beyond loopback', () => {
  let h: Harness;
  let customer: { token: string };
  let staff: string;
  beforeAll(async () => {
    h = await startHarness({ workers: false, env: { HOST: '0.0.0.0' } });
    customer = await h.customer('mailbox-reader@sandbox-mail.example');
    staff = await h.staff('mailbox-staff@sandbox-mail.example', 'support');
  }, 60_000);
  afterAll(() => h?.close());

  const get = (path: string, token?: string) =>
    fetch(`${h.baseUrl}${path}`, { redirect: 'manual', headers: token ? { cookie: `mailplane_session=${token}` } : {} });

  it('refuses anonymous callers and customers, even from loopback, and shows no message', async () => {
    const [mail] = await h.ctx.outbox!.list();
    expect(mail, 'the sign-ups sent verification mail').toBeDefined();
    for (const token of [undefined, customer.token]) {
      for (const path of ['/sandbox/mail', `/sandbox/mail/${mail!.id}`]) {
        const res = await get(path, token);
        const body = await res.text();
        expect(res.status, path).toBe(404);
        expect(body).not.toContain('verify-email?token=');
      }
    }
  });

  it('shows it to staff', async () => {
    const res = await get('/sandbox/mail', staff);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('mailbox-reader@sandbox-mail.example');
  });
});
