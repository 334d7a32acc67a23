/**
 * Fan-out of provisioning events to SSE clients. One LISTEN connection per
 * process serves every client; events come from pg_notify in the committing
 * transaction, so any API process sees steps run by any worker.
 */
import type postgres from 'postgres';
import { EVENTS_CHANNEL, type ProvisioningEvent } from '../../provisioning/events.ts';

export type EventListener = (event: ProvisioningEvent) => void;

export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private listening: Promise<{ unlisten(): Promise<void> }> | null = null;
  private readonly sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.sql = sql;
  }

  async subscribe(serverId: string, listener: EventListener): Promise<() => void> {
    this.listening ??= this.sql.listen(EVENTS_CHANNEL, (payload) => this.dispatch(payload));
    await this.listening;
    let set = this.listeners.get(serverId);
    if (!set) {
      set = new Set();
      this.listeners.set(serverId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(serverId);
    };
  }

  private dispatch(payload: string): void {
    let event: ProvisioningEvent;
    try {
      event = JSON.parse(payload) as ProvisioningEvent;
    } catch {
      return;
    }
    for (const listener of this.listeners.get(event.serverId) ?? []) listener(event);
  }

  async close(): Promise<void> {
    if (this.listening) await (await this.listening).unlisten().catch(() => {});
  }
}
