/** Product mail over SMTP (nodemailer), one pooled transport for the process. */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Mailer, MailMessage } from './mailer.ts';

export class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transport: Transporter;
  private readonly from: string;

  constructor(opts: { url: string; from: string }) {
    // pool: a burst of health-check notices reuses a few connections instead of one per message.
    this.transport = nodemailer.createTransport(`${opts.url}${opts.url.includes('?') ? '&' : '?'}pool=true`);
    this.from = opts.from;
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      ...(message.html ? { html: message.html } : {}),
    });
  }

  close(): void {
    this.transport.close();
  }
}
