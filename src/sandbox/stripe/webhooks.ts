/**
 * Webhook delivery, signed the way Stripe signs: `Stripe-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the whole
 * whsec_… string>`. Every attempt is recorded with the receiver's status (0
 * when nothing answered); unlike Stripe there is no automatic retry schedule —
 * a test or a person redelivers with `resend`.
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
  /** The event JSON that was sent. */
  body: string;
  /** The start of the receiver's answer, for debugging a failed delivery. */
  response: string;
  /** The Stripe-Signature header that was sent. */
  signature: string;
}

/** How long a receiver may take before the attempt counts as failed (Stripe's own limit is in this range). */
const DELIVERY_TIMEOUT_MS = 15_000;

export function stripeSignature(secret: string, payload: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export class WebhookSender {
  private readonly log: Delivery[] = [];
  private readonly inFlight = new Set<Promise<Delivery>>();

  private readonly secret: string;
  url: string | undefined;

  constructor(secret: string, url: string | undefined) {
    this.secret = secret;
    this.url = url;
  }

  deliveries(): Delivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  /** Sends one event now (a fresh timestamp and signature each time) and resolves with the outcome. */
  send(stored: StoredEvent): Promise<Delivery> {
    const attempt = this.attempt(stored);
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
    return attempt;
  }

  /** Resolves when every delivery already started has finished (so stop() leaves nothing behind). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async attempt(stored: StoredEvent): Promise<Delivery> {
    const signature = stripeSignature(this.secret, stored.payload, Math.floor(Date.now() / 1000));
    const delivery: Delivery = {
      eventId: stored.event.id,
      type: stored.event.type,
      ...(stored.sessionId ? { sessionId: stored.sessionId } : {}),
      ...(stored.subscriptionId ? { subscriptionId: stored.subscriptionId } : {}),
      status: 0,
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
