/**
 * The read cache's own rules, without a database: nothing is served before its listener is up or
 * after a reconnect, an answer read before an eviction is not stored after it, entries end with
 * their TTL or their session, and a step's notification evicts the view of the run's server.
 */
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../../src/api/read-cache.ts';

/** postgres.js's `listen` as the cache uses it: the callbacks are kept so a test can fire them. */
function fakeListener() {
  const handlers: { notify?: (payload: string) => void; listened?: () => void } = {};
  const sql = {
    listen: async (_channel: string, notify: (payload: string) => void, listened: () => void) => {
      handlers.notify = notify;
      handlers.listened = listened;
      listened();
      return { unlisten: async () => {} };
    },
  } as unknown as postgres.Sql;
  return { sql, handlers };
}

describe('ReadCache', () => {
  it('serves nothing until its listener is established', async () => {
    const cache = new ReadCache({ ttlMs: 60_000 });
    cache.set('auth', 'k', 1, cache.ticket('auth'));
    expect(cache.get('auth', 'k')).toBeUndefined();
    await cache.listen(fakeListener().sql);
    cache.set('auth', 'k', 1, cache.ticket('auth'));
    expect(cache.get('auth', 'k')).toBe(1);
  });

  it('drops an answer read before an eviction instead of storing it after', async () => {
    const cache = new ReadCache({ ttlMs: 60_000 });
    const { sql, handlers } = fakeListener();
    await cache.listen(sql);
    const ticket = cache.ticket('server');
    handlers.notify!('server:s1');
    cache.set('server', 's1', 'old view', ticket);
    expect(cache.get('server', 's1')).toBeUndefined();
  });

  it('evicts the view of the server whose run a step belongs to, and every auth answer on `auth`', async () => {
    const cache = new ReadCache({ ttlMs: 60_000 });
    const { sql, handlers } = fakeListener();
    await cache.listen(sql);
    cache.set('server', 's1', 'view', cache.ticket('server'), { runId: 'r1' });
    cache.set('server', 's2', 'view 2', cache.ticket('server'), { runId: 'r2' });
    cache.set('auth', 'session:t', 'principal', cache.ticket('auth'));
    handlers.notify!('run:r1');
    expect(cache.get('server', 's1')).toBeUndefined();
    expect(cache.get('server', 's2')).toBe('view 2');
    expect(cache.get('auth', 'session:t')).toBe('principal');
    handlers.notify!('auth');
    expect(cache.get('auth', 'session:t')).toBeUndefined();
    expect(cache.get('server', 's2')).toBe('view 2');
  });

  it('forgets everything when the listener reconnects (notifications may have been missed)', async () => {
    const cache = new ReadCache({ ttlMs: 60_000 });
    const { sql, handlers } = fakeListener();
    await cache.listen(sql);
    cache.set('server', 's1', 'view', cache.ticket('server'));
    handlers.listened!();
    expect(cache.get('server', 's1')).toBeUndefined();
  });

  it('ends an entry at its TTL, or sooner when its session ends sooner', async () => {
    let now = 1_000_000;
    const cache = new ReadCache({ ttlMs: 10_000, now: () => now });
    await cache.listen(fakeListener().sql);
    cache.set('auth', 'long', 'a', cache.ticket('auth'));
    cache.set('auth', 'short', 'b', cache.ticket('auth'), { until: now + 2_000 });
    now += 2_000;
    expect(cache.get('auth', 'short')).toBeUndefined();
    expect(cache.get('auth', 'long')).toBe('a');
    now += 8_000;
    expect(cache.get('auth', 'long')).toBeUndefined();
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 2 });
    await cache.listen(fakeListener().sql);
    for (const k of ['a', 'b', 'c']) cache.set('auth', k, k, cache.ticket('auth'));
    expect([cache.get('auth', 'a'), cache.get('auth', 'b'), cache.get('auth', 'c')]).toEqual([undefined, 'b', 'c']);
  });
});
