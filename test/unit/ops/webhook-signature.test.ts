import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../../src/ops/webhook.ts';

const SECRET = 'whsec-test-0123456789abcdef';
const BODY = JSON.stringify({ event: 'alert.opened', alert: { id: 'a1' } });

describe('alert webhook signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, computable by any receiver', () => {
    const header = signWebhook(SECRET, BODY, 1_700_000_000);
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies a fresh signature and rejects a changed body, another secret, or an old timestamp', () => {
    const header = signWebhook(SECRET, BODY, 1_700_000_000);
    expect(verifyWebhook(SECRET, BODY, header, 1_700_000_100)).toBe(true);
    expect(verifyWebhook(SECRET, `${BODY} `, header, 1_700_000_100)).toBe(false);
    expect(verifyWebhook('another-secret-0123456789', BODY, header, 1_700_000_100)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, header, 1_700_000_000 + 301)).toBe(false);
  });

  it('rejects a replayed MAC under a new timestamp and malformed headers', () => {
    const mac = signWebhook(SECRET, BODY, 1_700_000_000).split('v1=')[1];
    expect(verifyWebhook(SECRET, BODY, `t=1700000200,v1=${mac}`, 1_700_000_200)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, 'v1=abc', 1_700_000_000)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, 't=1700000000,v1=zz', 1_700_000_000)).toBe(false);
  });
});
