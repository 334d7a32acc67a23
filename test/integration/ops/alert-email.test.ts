/**
 * Alert email over SMTP (nodemailer) against a local SMTP server, and what
 * happens when delivery fails: the attempt is recorded, retried later as a
 * delayed job, and after the last attempt the delivery is `failed` while the
 * alert itself stays.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertStore } from '../../../provisioning/alerts.ts';
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { alertDeliveries, alerts } from '../../../src/db/schema/index.ts';
import { inTransaction } from '../../../src/db/tx.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { deliverAlert, enqueueDeliveries } from '../../../src/ops/alert-delivery.ts';
import type { OpsDeps } from '../../../src/ops/deps.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
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
  const config = loadConfig({ NODE_ENV: 'test', ALERT_SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'mailplane@ops.test', ALERT_EMAIL_TO: 'oncall@ops.test,lead@ops.test', ALERT_MAX_ATTEMPTS: '2' });
  deps = {
    database, queue, clock: systemClock, log, alerts: createAlertStore(), settings: config.ops,
    compute: null as never, dnsbl: null as never, // not used by delivery
  };
});

afterAll(async () => {
  await queue?.stop();
  await smtp?.close();
  await database?.close();
});

async function openAlert(dedupeKey: string): Promise<{ alertId: string; deliveryId: string }> {
  return inTransaction(database, async (tx, raw) => {
    const { id } = await deps.alerts.open(tx, { kind: 'ip_listed', severity: 'critical', serverId: null, dedupeKey, message: `192.0.2.7 is listed (${dedupeKey})`, details: { zone: 'zen.example' } });
    expect(await enqueueDeliveries(deps, tx, raw, id, 'opened')).toBe(1);
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

  it('records a refused attempt, schedules the next one, and gives up after the last without losing the alert', async () => {
    smtp.refuseRecipients = true;
    try {
      const { alertId, deliveryId } = await openAlert('email-refused');
      await deliverAlert(deps, deliveryId);
      const [first] = await database.db.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId));
      expect([first!.status, first!.attempts]).toEqual(['pending', 1]);
      expect(first!.lastError).toMatch(/^smtp: .*550/);
      expect(first!.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
      // The retry is a delayed job in the queue (singleton per attempt), not a timer in this process.
      const jobs = await queue.boss.findJobs<{ deliveryId: string }>('ops.alert_delivery', { key: `${deliveryId}:2`, queued: true });
      expect(jobs.map((j) => j.data)).toEqual([{ deliveryId }]);
      expect(jobs[0]!.startAfter.getTime()).toBeGreaterThan(Date.now());

      await deliverAlert(deps, deliveryId);
      const [last] = await database.db.select().from(alertDeliveries).where(eq(alertDeliveries.id, deliveryId));
      expect([last!.status, last!.attempts]).toEqual(['failed', 2]);
      const [alert] = await database.db.select().from(alerts).where(eq(alerts.id, alertId));
      expect(alert!.resolvedAt).toBeNull();
      expect(smtp.messages).toHaveLength(1);
    } finally {
      smtp.refuseRecipients = false;
    }
  });
});
