/**
 * Alert email over SMTP (nodemailer) against a local SMTP server, and what
 * happens when delivery fails: the attempt is recorded, retried by the queue's
 * policy (a real pg-boss, delays read from its job rows), and after the last
 * attempt the delivery is `failed` while the alert itself stays.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertStore } from '../../../provisioning/alerts.ts';
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { alertDeliveries, alerts } from '../../../src/db/schema/index.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { alertDeliveryPolicy, deliverAlert, enqueueDeliveries } from '../../../src/ops/alert-delivery.ts';
import type { OpsDeps } from '../../../src/ops/deps.ts';
import { registerAlertDelivery } from '../../../src/ops/workers.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { expectedDelay, jobRow, walkRetries } from '../../support/job-retries.ts';
import { until } from '../../support/until.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

let database: TestDatabase;
let queue: JobQueue;
let smtp: SmtpSink;
let deps: OpsDeps;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });

beforeAll(async () => {
  database = await createTestDatabase();
  smtp = await startSmtpSink();
  // Enqueue only: this file calls the handler itself, one attempt at a time.
  queue = await JobQueue.start({ url: database.url, log, worker: false });
  const config = loadConfig({
    NODE_ENV: 'test',
    ALERT_SMTP_URL: smtp.url,
    ALERT_EMAIL_FROM: 'mailplane@ops.test',
    ALERT_EMAIL_TO: 'oncall@ops.test,lead@ops.test',
    ALERT_MAX_ATTEMPTS: '4',
    ALERT_RETRY_BASE_MS: '1000',
    ALERT_RETRY_MAX_MS: '3000',
  });
  deps = {
    database,
    queue,
    clock: systemClock,
    log,
    alerts: createAlertStore(),
    settings: config.ops,
    compute: null as never,
    dnsbl: null as never, // not used by delivery
  };
});

afterAll(async () => {
  await queue?.stop();
  await smtp?.close();
  await database?.close();
});

async function openAlert(dedupeKey: string): Promise<{ alertId: string; deliveryId: string }> {
  return database.db.transaction(async (tx) => {
    const { id } = await deps.alerts.open(tx, {
      kind: 'ip_listed',
      severity: 'critical',
      serverId: null,
      dedupeKey,
      message: `192.0.2.7 is listed (${dedupeKey})`,
      details: { zone: 'zen.example' },
    });
    expect(await enqueueDeliveries(deps, tx, id, 'opened')).toBe(1);
    const [d] = await tx.select().from(alertDeliveries).where(eq(alertDeliveries.alertId, id));
    return { alertId: id, deliveryId: d!.id };
  });
}

describe('alert email', () => {
  it('sends one plain-text message to every recipient, carrying the delivery id', async () => {
    const { deliveryId } = await openAlert('email-ok');
    await deliverAlert(deps, deliveryId);
    expect(smtp.messages).toHaveLength(1);
    const [message] = smtp.messages;
    expect(message!.from).toBe('mailplane@ops.test');
    expect(message!.to.sort()).toEqual(['lead@ops.test', 'oncall@ops.test']);
    expect(message!.data).toMatch(/^Subject: \[mailplane critical\] ip_listed opened: 192\.0\.2\.7 is listed/m);
    expect(message!.data).toContain(`X-Mailplane-Delivery: ${deliveryId}`);
    const [row] = await database.db.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId));
    expect([row!.status, row!.attempts, row!.lastError]).toEqual(['delivered', 1, null]);
    // A duplicate job for a delivered row sends nothing.
    await deliverAlert(deps, deliveryId);
    expect(smtp.messages).toHaveLength(1);
  });

  it('records a refused attempt and fails it, so the queue retries it', async () => {
    smtp.refuseRecipients = true;
    try {
      const { deliveryId } = await openAlert('email-refused');
      await expect(deliverAlert(deps, deliveryId)).rejects.toThrow(/550/);
      const [first] = await database.db.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId));
      expect([first!.status, first!.attempts]).toEqual(['pending', 1]);
      expect(first!.lastError).toMatch(/^smtp: .*550/);
      expect(smtp.messages).toHaveLength(1);
    } finally {
      smtp.refuseRecipients = false;
    }
  });

  it('retries a refused delivery by the queue policy with growing delays, then marks it failed and keeps the alert', async () => {
    // A worker of its own, with the policy ALERT_* gives (4 attempts, 1 s doubling, capped at 3 s).
    const worker = await JobQueue.start({
      url: database.url,
      log,
      worker: true,
      pollSeconds: 0.5,
      policies: { 'ops.alert_delivery': alertDeliveryPolicy(deps.settings.delivery) },
    });
    smtp.refuseRecipients = true;
    try {
      await registerAlertDelivery({ ...deps, queue: worker });
      const { alertId, deliveryId } = await openAlert('email-refused-for-good');
      const job = await until('the delivery job', () => jobRow(database.sql, 'ops.alert_delivery', { singletonKey: deliveryId }));
      expect([job.retry_limit, job.retry_delay, job.retry_backoff, job.retry_delay_max, job.dead_letter]).toEqual([3, 1, true, 3, 'ops.alert_delivery_failed']);
      const { retries, final } = await walkRetries(database.sql, 'ops.alert_delivery', job.id);
      expect(retries.map((r) => r.retryCount)).toEqual([0, 1, 2]);
      for (const r of retries) {
        const bounds = expectedDelay(job, r.retryCount);
        expect(r.atMost).toBeGreaterThanOrEqual(bounds.min);
        expect(r.atLeast).toBeLessThanOrEqual(bounds.max);
      }
      // Growing: the third wait is at least the second's floor (2 s), the first at most 2 s; the cap holds it at 3.
      expect(retries[1]!.atMost).toBeGreaterThanOrEqual(2);
      expect(final.state).toBe('failed');
      const last = await until('the delivery to be marked failed', async () => {
        const [row] = await database.db.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId));
        return row?.status === 'failed' ? row : null;
      });
      expect(last.attempts).toBe(4);
      expect(last.lastError).toMatch(/550/);
      const [alert] = await database.db.select().from(alerts).where(eq(alerts.id, alertId));
      expect(alert!.resolvedAt).toBeNull();
    } finally {
      smtp.refuseRecipients = false;
      await worker.stop();
    }
  });
});
