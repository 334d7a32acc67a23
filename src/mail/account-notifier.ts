/**
 * The AccountNotifier (src/accounts/notifier.ts) that mails the account's
 * owner: someone is guessing their password, or someone tried to create an
 * account with their address. The mail names no attacker detail beyond the
 * count and the source address, and points at the pages rather than
 * containing a reset link (a reset must be asked for).
 */
import type { AccountNotifier } from '../accounts/notifier.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from './mailer.ts';
import { loginThrottledMessage, signupAttemptedMessage } from './messages.ts';

export function mailAccountNotifier(deps: { mailer: Mailer; log: Logger; publicUrl: string }): AccountNotifier {
  return {
    async notify(notice) {
      const message = notice.kind === 'login_throttled'
        ? loginThrottledMessage(notice.email, { failures: notice.failures, ip: notice.ip, at: notice.at, publicUrl: deps.publicUrl })
        : signupAttemptedMessage(notice.email, { at: notice.at, publicUrl: deps.publicUrl });
      await sendBestEffort(deps.mailer, deps.log, message);
    },
  };
}
