/**
 * The product's own mail (invitations, password resets, "your server is
 * ready", health-check changes): one interface, two implementations chosen in
 * the composition root — SMTP when MAIL_SMTP_URL is set, the sandbox outbox
 * otherwise. Domain code builds a MailMessage and never knows which.
 */
export interface MailMessage {
  to: string[];
  subject: string;
  /** Always present: every message must read well as plain text. */
  text: string;
  html?: string;
  /**
   * The recipient is being erased (the last message to them): a copy kept by
   * mailplane (the sandbox outbox) keeps the message but not the address.
   */
  recipientErased?: boolean;
}

export interface Mailer {
  /** Resolves once the message is accepted (by the SMTP server or the outbox); throws otherwise. */
  send(message: MailMessage): Promise<void>;
  readonly kind: 'smtp' | 'sandbox';
}

/**
 * Sends without letting a mail failure undo the action that caused it (the
 * password reset row is committed; the invitation exists and can be resent).
 * The failure is logged without the message body, which carries the link.
 */
export async function sendBestEffort(mailer: Mailer, log: { warn(obj: object, msg: string): void }, message: MailMessage): Promise<boolean> {
  try {
    await mailer.send(message);
    return true;
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err), subject: message.subject }, 'product mail not sent');
    return false;
  }
}
