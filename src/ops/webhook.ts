/**
 * Alert webhooks: a JSON body signed the way Stripe signs its webhooks, so a
 * receiver can check both origin and freshness:
 *   X-Mailplane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * The timestamp is inside the MAC, so a captured request cannot be replayed
 * later with a fresh `t`. X-Mailplane-Delivery carries the delivery id: a
 * receiver that saw it already can drop the duplicate (delivery is at least once).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Mailplane-Signature';
export const DELIVERY_HEADER = 'X-Mailplane-Delivery';

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** For receivers (and the docs): checks the MAC and that `t` is within `toleranceSeconds` of now. */
export function verifyWebhook(secret: string, body: string, header: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(t) || !given || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1]!, 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export class DeliveryFailed extends Error {}

/** POSTs one signed body; anything but a 2xx (or no answer within the timeout) is a failure to retry. */
export async function postWebhook(target: { url: string; secret: string }, deliveryId: string, body: string, nowMs: number, timeoutMs = 10_000): Promise<void> {
  const signature = signWebhook(target.secret, body, Math.floor(nowMs / 1000));
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'mailplane-alerts', [SIGNATURE_HEADER]: signature, [DELIVERY_HEADER]: deliveryId },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // Never the URL itself in the message: it may carry a token in its path or query.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new DeliveryFailed(`webhook unreachable: ${cause}`);
  }
  await res.body?.cancel();
  if (res.status < 200 || res.status >= 300) throw new DeliveryFailed(`webhook answered ${res.status}`);
}
