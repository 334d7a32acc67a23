/**
 * What an authenticated read needs, kept in this process's memory: the principal behind a session
 * token, a member's role in a workspace, a server's view. A request that finds them here touches
 * no database at all.
 *
 * Staying true: triggers on every table these answers are built from (migration
 * 0020_cache_invalidation) pg_notify `mailplane_cache` in the writer's transaction, so an eviction
 * reaches every process when the write commits, whoever wrote it. The cache serves nothing until
 * its LISTEN is established and is cleared whole whenever the listener (re)connects, since
 * notifications sent while it was away are lost; the TTL bounds what a missed notification could
 * cost. A read that started before an eviction cannot store its (older) answer after it: each
 * namespace has a generation, taken before reading and compared when storing.
 */
import type postgres from 'postgres';

export const CACHE_CHANNEL = 'mailplane_cache';

type Namespace = 'auth' | 'server';

interface Entry {
  value: unknown;
  until: number;
}

export interface ReadCacheOptions {
  ttlMs: number;
  /** Oldest entries go first past this many (a Map iterates in insertion order). */
  maxEntries?: number;
  now?: () => number;
}

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  /** Which server's view shows which run: a step's notification names only its run. */
  private readonly serverOfRun = new Map<string, string>();
  private readonly generations: Record<Namespace, number> = { auth: 0, server: 0 };
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private listening = false;

  constructor(opts: ReadCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Taken before reading the database; `set` drops an answer read before an eviction in its namespace. */
  ticket(ns: Namespace): number {
    return this.generations[ns];
  }

  get<T>(ns: Namespace, key: string): T | undefined {
    if (!this.listening) return undefined;
    const k = `${ns}:${key}`;
    const entry = this.entries.get(k);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return entry.value as T;
  }

  /** `until` shortens the entry's life (a session that expires sooner); `runId` ties a server view to its run. */
  set(ns: Namespace, key: string, value: unknown, ticket: number, opts: { until?: number; runId?: string | null } = {}): void {
    if (!this.listening || this.ttlMs <= 0 || ticket !== this.generations[ns]) return;
    const until = Math.min(this.now() + this.ttlMs, opts.until ?? Number.POSITIVE_INFINITY);
    const k = `${ns}:${key}`;
    this.entries.delete(k);
    this.entries.set(k, { value, until });
    if (opts.runId) this.serverOfRun.set(opts.runId, key);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    if (this.serverOfRun.size > this.maxEntries) this.serverOfRun.clear();
  }

  /** A notification's payload: `auth`, `server:<id>` or `run:<id>`. */
  evict(payload: string): void {
    if (payload === 'auth') {
      this.generations.auth++;
      for (const k of this.entries.keys()) if (k.startsWith('auth:')) this.entries.delete(k);
      return;
    }
    const [kind, id] = [payload.slice(0, payload.indexOf(':')), payload.slice(payload.indexOf(':') + 1)];
    const serverId = kind === 'server' ? id : kind === 'run' ? this.serverOfRun.get(id) : undefined;
    // A run not cached still bumps the generation: its server's view may be being read right now.
    this.generations.server++;
    if (serverId) this.entries.delete(`server:${serverId}`);
  }

  clear(): void {
    this.generations.auth++;
    this.generations.server++;
    this.entries.clear();
    this.serverOfRun.clear();
  }

  /** LISTENs on the pool's dedicated connection; serving starts once it is established. */
  async listen(sql: postgres.Sql): Promise<{ close(): Promise<void> }> {
    if (this.ttlMs <= 0) return { close: async () => {} };
    const handle = await sql.listen(
      CACHE_CHANNEL,
      (payload) => this.evict(payload),
      () => {
        // First listen and every reconnect: whatever was missed meanwhile is forgotten.
        this.clear();
        this.listening = true;
      },
    );
    return {
      close: async () => {
        this.listening = false;
        this.clear();
        await handle.unlisten().catch(() => {});
      },
    };
  }
}
