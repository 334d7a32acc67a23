/** Alerts by email over SMTP (nodemailer): plain text, one message per alert event. */
import nodemailer from 'nodemailer';
import { DeliveryFailed } from './webhook.ts';
import type { AlertPayload } from './alert-payload.ts';

export interface EmailTarget {
  smtpUrl: string;
  from: string;
  to: string[];
}

export function alertEmail(payload: AlertPayload): { subject: string; text: string } {
  const a = payload.alert;
  const verb = payload.event === 'alert.opened' ? 'opened' : 'resolved';
  return {
    subject: `[mailplane ${a.severity}] ${a.kind} ${verb}: ${a.message}`.slice(0, 200),
    text: [
      `${a.message}`,
      '',
      `kind:      ${a.kind}`,
      `severity:  ${a.severity}`,
      `server:    ${a.serverId ?? '-'}`,
      `opened:    ${a.openedAt}`,
      ...(a.resolvedAt ? [`resolved:  ${a.resolvedAt}`] : []),
      `alert id:  ${a.id}`,
      '',
      JSON.stringify(a.details, null, 2),
    ].join('\n'),
  };
}

export async function sendAlertEmail(target: EmailTarget, deliveryId: string, payload: AlertPayload): Promise<void> {
  const transport = nodemailer.createTransport(target.smtpUrl);
  try {
    const { subject, text } = alertEmail(payload);
    await transport.sendMail({ from: target.from, to: target.to, subject, text, headers: { 'X-Mailplane-Delivery': deliveryId } });
  } catch (err) {
    // nodemailer's messages name the server and the SMTP reply, not the credentials in the URL.
    throw new DeliveryFailed(`smtp: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    transport.close();
  }
}
