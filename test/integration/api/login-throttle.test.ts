/**
 * Password guessing is throttled per account and per client IP with a sliding
 * window and growing delays, whatever the calendar minute; the account's owner
 * is told once when guessing starts. The throttle's clock is the test's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

let clock = Date.parse('2026-03-01T10:00:50Z');
let api: TestApi;
beforeAll(async () => {
  // The per-minute IP limiter is out of the way: what is measured here is the throttle.
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '100000' }, loginThrottle: { now: () => clock } });
});
afterAll(() => api.close());
beforeEach(async () => {
  await api.database.sql`delete from login_attempts`;
  api.notices.length = 0;
});

let ipCounter = 0;
const freshIp = () => {
  ++ipCounter;
  return `10.9.${ipCounter >> 8}.${ipCounter & 255}`;
};
const login = (email: string, password: string, ip = freshIp()) =>
  api.call('POST', '/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
const WRONG = 'Wrong-Guess-Number-0001';

describe('per account', () => {
  it('refuses the right password after repeated failures until the delay has passed, across a minute boundary', async () => {
    await api.signup('target@example.com');
    for (let i = 0; i < 3; i++) expect((await login('target@example.com', WRONG)).status).toBe(401);
    clock += 15_000; // now 10:01:05, a new calendar minute: a per-minute counter would start again
    for (let i = 0; i < 2; i++) expect((await login('target@example.com', WRONG)).status).toBe(401);
    const blocked = await login('target@example.com', STRONG_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(blocked.headers.get('retry-after'))).toBe(1);
    clock += 1_000;
    expect((await login('target@example.com', STRONG_PASSWORD)).status).toBe(200);
    // The owner is back in: their account's record is cleared.
    expect((await login('target@example.com', WRONG)).status).toBe(401);
    expect((await login('target@example.com', STRONG_PASSWORD)).status).toBe(200);
  });

  it('makes each further guess wait twice as long, so 50 guesses cannot fit in a window', async () => {
    await api.signup('patient@example.com');
    // The most patient attacker: after each refusal, exactly the Retry-After it was told.
    const start = clock;
    let accepted = 0;
    const waits: number[] = [];
    while (clock - start < 15 * 60_000 && accepted < 50) {
      const res = await login('patient@example.com', WRONG);
      if (res.status === 401) accepted++;
      else {
        expect(res.status).toBe(429);
        const wait = Number(res.headers.get('retry-after'));
        waits.push(wait);
        clock += wait * 1000;
      }
    }
    expect(accepted).toBeLessThan(16);
    // Each wait at least as long as the one before, and doubling.
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
    expect(waits.at(-1)!).toBeGreaterThanOrEqual(waits[0]! * 64);
  });

  it('counts concurrent guesses one by one', async () => {
    await api.signup('burst@example.com');
    const results = await Promise.all(Array.from({ length: 12 }, () => login('burst@example.com', WRONG)));
    // All at one instant: the free allowance passes, every other guess waits.
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });

  it('throttles an unknown email the same way, so throttling does not reveal which accounts exist', async () => {
    for (let i = 0; i < 6; i++) await login('ghost@example.com', WRONG);
    expect((await login('ghost@example.com', WRONG)).status).toBe(429);
    expect(api.notices).toHaveLength(0);
  });

  it('forgets failures older than the window', async () => {
    await api.signup('forgiven@example.com');
    for (let i = 0; i < 6; i++) await login('forgiven@example.com', WRONG);
    expect((await login('forgiven@example.com', STRONG_PASSWORD)).status).toBe(429);
    clock += 16 * 60_000;
    expect((await login('forgiven@example.com', STRONG_PASSWORD)).status).toBe(200);
  });
});

describe('per IP', () => {
  it('slows one address trying many accounts (credential stuffing)', async () => {
    const ip = '198.51.100.7';
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login(`victim${i}@example.com`, WRONG, ip)).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(21)).toContain(429);
    // Another address is not affected.
    expect((await login('victim0@example.com', WRONG)).status).toBe(401);
  });

  it('is not reset by signing in to another account from the same address', async () => {
    await api.signup('own@example.com');
    const ip = '198.51.100.8';
    for (let i = 0; i < 20; i++) await login(`other${i}@example.com`, WRONG, ip);
    clock += 1_000;
    expect((await login('own@example.com', STRONG_PASSWORD, ip)).status).toBe(200);
    const [row] = await api.database.sql`select count(*)::int as n from login_attempts where key = ${`ip:${ip}`}`;
    expect(row!['n']).toBe(20);
    expect((await login('other99@example.com', WRONG, ip)).status).toBe(401);
    expect((await login('other98@example.com', WRONG, ip)).status).toBe(429);
  });
});

describe('the account owner', () => {
  it('is notified once when their password is being guessed, with no secret in the notice or the log', async () => {
    const { userId } = await api.signup('owner-notified@example.com');
    for (let i = 0; i < 4; i++) await login('owner-notified@example.com', WRONG);
    expect(api.notices).toHaveLength(0);
    await login('owner-notified@example.com', WRONG, '203.0.113.77');
    expect(api.notices).toEqual([
      expect.objectContaining({ kind: 'login_throttled', userId, email: 'owner-notified@example.com', failures: 5, ip: '203.0.113.77' }),
    ]);
    for (let i = 0; i < 3; i++) {
      clock += 60_000;
      await login('owner-notified@example.com', WRONG);
    }
    expect(api.notices).toHaveLength(1);
    const [audit] = await api.database.sql`select action, details from audit_log where action = 'user.login_throttled' and target = ${userId}`;
    expect(audit).toBeDefined();
    expect(JSON.stringify(api.notices)).not.toContain(WRONG);
    expect(api.logLines.join('\n')).not.toContain(WRONG);
  });
});
