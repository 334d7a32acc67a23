/**
 * The words of every message the product sends. Plain text on purpose: it
 * reads the same in every client, and links are whole URLs on their own line
 * so no client breaks them.
 */
import type { MailMessage } from './mailer.ts';

const SIGNATURE = '\n-- \nmailplane: your dedicated mail server\n';

export function passwordResetMessage(to: string, link: string, ttlMinutes: number): MailMessage {
  return {
    to: [to],
    subject: 'Reset your mailplane password',
    text: `Someone (hopefully you) asked to reset the password of your mailplane account.\n\nChoose a new password here (the link works once, for ${ttlMinutes} minutes):\n\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.${SIGNATURE}`,
  };
}

export function emailVerificationMessage(to: string, link: string): MailMessage {
  return {
    to: [to],
    subject: 'Confirm your email address for mailplane',
    text: `Please confirm that this address belongs to you, so we can reach you about your mail server:\n\n${link}\n\nIf you did not create a mailplane account, ignore this message.${SIGNATURE}`,
  };
}

export function loginThrottledMessage(to: string, o: { failures: number; ip: string | null; at: Date; publicUrl: string }): MailMessage {
  return {
    to: [to],
    subject: 'Someone is trying to sign in to your mailplane account',
    text:
      `We blocked sign-in to your mailplane account for a while after ${o.failures} wrong passwords` +
      `${o.ip ? ` (the latest from ${o.ip})` : ''} at ${o.at.toUTCString()}.\n\n` +
      `If it was you, wait a few minutes and try again. If not, your password held; to change it anyway, go to:\n\n${o.publicUrl}/forgot-password\n${SIGNATURE}`,
  };
}

/** Sign-up answered the visitor as for a new address; this tells the address's owner what happened instead. */
export function signupAttemptedMessage(to: string, o: { at: Date; publicUrl: string }): MailMessage {
  return {
    to: [to],
    subject: 'Someone tried to create a mailplane account with your address',
    text:
      `At ${o.at.toUTCString()} someone tried to create a mailplane account with this address, which already has one. ` +
      'We did not create a second account and changed nothing on yours.\n\n' +
      `If it was you, sign in here:\n\n${o.publicUrl}/login\n\nor, if you forgot your password, reset it here:\n\n${o.publicUrl}/forgot-password\n\n` +
      `If it was not you, ignore this message: nobody can use your account without your password.${SIGNATURE}`,
  };
}

/**
 * An invitation carries words a stranger chose (their name, the workspace's name). The subject
 * is ours alone, and the body sets their words apart, quoted, saying who wrote them and that we
 * did not check them: the product's own voice must not lend itself to a phishing text.
 */
export function invitationMessage(
  to: string,
  o: { workspace: string; inviter: string; inviterEmail: string | null; role: string; link: string; expiresAt: Date },
): MailMessage {
  const quoted = (s: string) => `"${s.replace(/\s+/g, ' ').slice(0, 120)}"`;
  return {
    to: [to],
    subject: 'You are invited to a workspace on mailplane',
    text:
      `Someone invited this address to join a workspace on mailplane as ${o.role}.\n\n` +
      'What the inviter wrote (mailplane has not checked it, and sends it only so that you can tell who this is):\n' +
      `  Their name:     ${quoted(o.inviter)}${o.inviterEmail ? ` <${o.inviterEmail}>` : ''}\n` +
      `  Workspace name: ${quoted(o.workspace)}\n\n` +
      `If you expected it, accept here (sign up or sign in with this address first):\n\n${o.link}\n\n` +
      `The link works once and expires on ${o.expiresAt.toUTCString()}. If you do not know this person, ignore this message: ` +
      'nothing happens unless you accept. mailplane never asks for your password or a payment in an invitation.' +
      SIGNATURE,
  };
}

export function serverReadyMessage(to: string[], o: { domain: string; hostname: string; link: string }): MailMessage {
  return {
    to,
    subject: `Your mail server for ${o.domain} is ready`,
    text: `${o.hostname} is installed, hardened and published in DNS.\n\nCreate your first mailbox and see the DNS records and health checks here:\n\n${o.link}${SIGNATURE}`,
  };
}

export function actionNeededMessage(to: string[], o: { domain: string; what: string; link: string }): MailMessage {
  return {
    to,
    subject: `Action needed for ${o.domain}`,
    text: `Your mail server for ${o.domain} is waiting for you:\n\n${o.what}\n\nDetails and the exact values to set:\n\n${o.link}${SIGNATURE}`,
  };
}

export interface CheckChange {
  title: string;
  from: string | null;
  to: string;
  summary: string;
  action: string | null;
}

export function healthChangeMessage(to: string[], o: { domain: string; changes: CheckChange[]; link: string }): MailMessage {
  const failing = o.changes.filter((c) => c.to === 'fail').length;
  const subject = failing > 0 ? `${o.domain}: ${failing} health check${failing > 1 ? 's' : ''} failing` : `${o.domain}: health checks changed`;
  const lines = o.changes.map(
    (c) => `- ${c.title}: ${c.from ?? 'new'} → ${c.to}. ${c.summary}${c.action && c.to !== 'pass' ? `\n  What to do: ${c.action}` : ''}`,
  );
  return { to, subject, text: `The health checks of your mail server for ${o.domain} changed:\n\n${lines.join('\n')}\n\nAll checks:\n\n${o.link}${SIGNATURE}` };
}

/**
 * Sent when erasure starts, not when it ends: erasure removes the address
 * itself, and keeping it only to announce its own deletion would defeat it.
 */
export function erasureStartedMessage(to: string, workspaceCount: number): MailMessage {
  // A count, not the names: a workspace name can be the person's own, and this message may be kept (sandbox outbox).
  const what =
    workspaceCount > 0
      ? `, with the ${workspaceCount === 1 ? 'workspace' : `${workspaceCount} workspaces`} you owned alone (servers deprovisioned, subscriptions cancelled)`
      : '';
  return {
    to: [to],
    recipientErased: true,
    subject: 'Your mailplane account is being erased',
    text: `As you asked, your mailplane account is being erased${what}. It completes by itself within minutes.\n\nThis is the last message we send to this address: we have already removed it from our records.${SIGNATURE}`,
  };
}

/**
 * To every owner of a workspace whose erasure waits out its grace period. The workspace's name is
 * words an owner or admin chose: kept out of the subject, quoted in the body.
 */
export function workspaceErasureScheduledMessage(to: string[], o: { workspace: string; erasesAt: Date; link: string }): MailMessage {
  return {
    to,
    subject: 'A workspace you own on mailplane is about to be erased',
    text:
      `An owner asked to erase the workspace "${o.workspace.replace(/\s+/g, ' ').slice(0, 120)}" on mailplane.\n\n` +
      `It will be erased at ${o.erasesAt.toUTCString()}: its servers deprovisioned with all their mail, its subscriptions cancelled, ` +
      'its mailboxes, keys and members deleted. Until then its servers keep running.\n\n' +
      `To keep it, any owner can cancel the erasure until then, here ("Keep this workspace"):\n\n${o.link}\n\n` +
      `If you expected this, there is nothing to do.${SIGNATURE}`,
  };
}

export function workspaceErasureCancelledMessage(to: string[], o: { workspace: string; link: string }): MailMessage {
  return {
    to,
    subject: 'The erasure of a workspace you own on mailplane was cancelled',
    text:
      `An owner cancelled the erasure of the workspace "${o.workspace.replace(/\s+/g, ' ').slice(0, 120)}" on mailplane: ` +
      `nothing will be erased, and it stays as it is.\n\n${o.link}${SIGNATURE}`,
  };
}

/** `amount` in the currency's minor unit; 0 when nothing had been charged. */
export function refusedPaymentMessage(to: string[], o: { domain: string; why: string; amount: number; currency: string | null; link: string }): MailMessage {
  const money =
    o.amount > 0 && o.currency
      ? `We have refunded your payment of ${new Intl.NumberFormat('en', { style: 'currency', currency: o.currency.toUpperCase() }).format(o.amount / 100)} in full; depending on your bank it shows on your statement within 5 to 10 days.`
      : 'You were not charged.';
  return {
    to,
    subject: `Your subscription for ${o.domain} was cancelled and refunded`,
    text: `A payment for a mail server for ${o.domain} reached us, but we could not set that server up: ${o.why}.\n\nWe cancelled that subscription at once. ${money}\n\nYour servers and subscriptions:\n\n${o.link}${SIGNATURE}`,
  };
}
