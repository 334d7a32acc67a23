/**
 * The Stripe emulator's idempotency layer against Stripe's documented rules: a result is saved
 * once the endpoint ran, whatever it was (a 500 and a card error too); a validation refusal saves
 * nothing; a second request while the first is still running is refused with 409.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../../src/sandbox/stripe/idempotency.ts';

function app(handler: (calls: number) => Promise<Response> | Response) {
  const a = new Hono();
  let calls = 0;
  a.use('/v1/*', new IdempotencyStore().middleware());
  a.post('/v1/things', () => handler(++calls));
  const post = (key: string, body = 'a=1') =>
    a.request('/v1/things', {
      method: 'POST',
      body,
      headers: { 'idempotency-key': key, authorization: 'Bearer sk_test', 'content-type': 'application/x-www-form-urlencoded' },
    });
  return { post, calls: () => calls };
}

describe('Stripe idempotency (emulator)', () => {
  it('replays a 500 the endpoint answered, as Stripe does, until a new key is used', async () => {
    const { post, calls } = app((n) => (n === 1 ? Response.json({ error: { type: 'api_error' } }, { status: 500 }) : Response.json({ id: `obj_${n}` })));
    expect((await post('k1')).status).toBe(500);
    const again = await post('k1');
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([500, 'true']);
    expect(calls()).toBe(1);
    expect(await (await post('k2')).json()).toEqual({ id: 'obj_2' });
  });

  it('replays a card error (402) but runs again after a validation refusal (400)', async () => {
    const declined = app(() => Response.json({ error: { type: 'card_error' } }, { status: 402 }));
    await declined.post('k');
    expect((await declined.post('k')).headers.get('idempotent-replayed')).toBe('true');
    expect(declined.calls()).toBe(1);
    const invalid = app((n) => (n === 1 ? Response.json({ error: { type: 'invalid_request_error' } }, { status: 400 }) : Response.json({ id: 'obj' })));
    expect((await invalid.post('k')).status).toBe(400);
    expect((await invalid.post('k')).status).toBe(200);
    expect(invalid.calls()).toBe(2);
  });

  it('refuses a second request with the same key while the first is still running (409), and saves nothing for it', async () => {
    let release!: () => void;
    const running = new Promise<void>((r) => {
      release = r;
    });
    const { post, calls } = app(async () => {
      await running;
      return Response.json({ id: 'obj_1' });
    });
    const first = post('k');
    await new Promise((r) => setImmediate(r));
    const second = await post('k');
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { message: string } }).error.message).toContain('another in-progress request');
    release();
    expect((await first).status).toBe(200);
    const third = await post('k');
    expect([third.status, third.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    expect(calls()).toBe(1);
  });
});
