/**
 * Webhook delivery, signed the way Stripe signs: `Stripe-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the whole
 * whsec_… string>`. Every attempt is recorded with the receiver's status (0
 * when nothing answered). As at Stripe, an attempt the receiver did not answer
 * with a 2xx is tried again later with backoff (Stripe: for up to three days;
 * here on a schedule tests can shorten), and nothing guarantees order: a test
 * (or a person) can hold deliveries and release them in another order.
 */
import { createHmac } from 'node:crypto';
import type { StoredEvent } from './state.ts';

export interface Delivery {
  eventId: string;
  type: string;
  sessionId?: string;
  subscriptionId?: string;
  /** The receiver's HTTP status; 0 when it could not be reached (or no webhook URL is set). */
  status: number;
  /** 1 for the first try, then one more per automatic retry. */
  attempt: number;
  /** The event JSON that was sent. */
  body: string;
  /** The start of the receiver's answer, for debugging a failed delivery. */
  response: string;
  /** The Stripe-Signature header that was sent. */
  signature: string;
}

/** How long a receiver may take before the attempt counts as failed (Stripe's own limit is in this range). */
const DELIVERY_TIMEOUT_MS = 15_000;

/**
 * Delays before each automatic retry: growing, about three days in all, as Stripe
 * retries a live-mode endpoint. `setRetrySchedule` shortens it (tests, a demo).
 */
export const STRIPE_RETRY_SCHEDULE_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 24 * 3600_000, 24 * 3600_000];

export function stripeSignature(secret: string, payload: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

const succeeded = (d: Delivery) => d.status >= 200 && d.status < 300;

export class WebhookSender {
  private readonly log: Delivery[] = [];
  private readonly inFlight = new Set<Promise<Delivery>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly finalWaiters = new Map<string, Array<(d: Delivery) => void>>();
  private held: Array<{ stored: StoredEvent; resolve: (d: Delivery) => void }> | null = null;
  private schedule = STRIPE_RETRY_SCHEDULE_MS;

  private readonly secret: string;
  url: string | undefined;

  constructor(secret: string, url: string | undefined) {
    this.secret = secret;
    this.url = url;
  }

  deliveries(): Delivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  setRetrySchedule(delaysMs: number[]): void {
    this.schedule = [...delaysMs];
  }

  /** From now on events wait (in the order they happened) until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Sends the held events in the order given (default: the reverse of how they happened) and stops holding. */
  async release(order: 'reverse' | 'as-happened' = 'reverse'): Promise<Delivery[]> {
    const batch = this.held ?? [];
    this.held = null;
    if (order === 'reverse') batch.reverse();
    const out: Delivery[] = [];
    for (const { stored, resolve } of batch) {
      const d = await this.track(stored, 1);
      resolve(d);
      out.push(d);
    }
    return out;
  }

  /** Sends one event now (a fresh timestamp and signature each time) and resolves with the first attempt's outcome. */
  send(stored: StoredEvent): Promise<Delivery> {
    if (this.held) {
      const queue = this.held;
      return new Promise((resolve) => queue.push({ stored, resolve }));
    }
    return this.track(stored, 1);
  }

  /** Resolves once the event was answered 2xx, or its last automatic retry failed. */
  finalOutcome(eventId: string): Promise<Delivery> {
    const attempts = this.log.filter((d) => d.eventId === eventId);
    const last = attempts.at(-1);
    if (last && (succeeded(last) || last.attempt > this.schedule.length)) return Promise.resolve({ ...last });
    return new Promise((resolve) => this.finalWaiters.set(eventId, [...(this.finalWaiters.get(eventId) ?? []), resolve]));
  }

  /** Resolves when every delivery already started has finished; pending retries are dropped (stop()). */
  async settled(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(stored: StoredEvent, attempt: number): Promise<Delivery> {
    const p = this.attempt(stored, attempt);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    void p.then((d) => this.afterAttempt(stored, d));
    return p;
  }

  private afterAttempt(stored: StoredEvent, d: Delivery): void {
    const delay = this.schedule[d.attempt - 1];
    if (succeeded(d) || delay === undefined) {
      for (const resolve of this.finalWaiters.get(d.eventId) ?? []) resolve({ ...d });
      this.finalWaiters.delete(d.eventId);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.track(stored, d.attempt + 1);
    }, delay);
    // A retry pending for hours must not keep a test run or a CLI command alive.
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(stored: StoredEvent, attempt: number): Promise<Delivery> {
    const signature = stripeSignature(this.secret, stored.payload, Math.floor(Date.now() / 1000));
    const delivery: Delivery = {
      eventId: stored.event.id,
      type: stored.event.type,
      ...(stored.sessionId ? { sessionId: stored.sessionId } : {}),
      ...(stored.subscriptionId ? { subscriptionId: stored.subscriptionId } : {}),
      status: 0,
      attempt,
      body: stored.payload,
      response: '',
      signature,
    };
    if (this.url) {
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Stripe-Signature': signature,
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
          body: stored.payload,
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        delivery.status = res.status;
        delivery.response = (await res.text()).slice(0, 2000);
      } catch (err) {
        delivery.response = err instanceof Error ? err.message : String(err);
      }
    } else {
      delivery.response = 'no webhook URL configured';
    }
    this.log.push(delivery);
    return { ...delivery };
  }
}
