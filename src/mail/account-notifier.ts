/**
 * The AccountNotifier (src/accounts/notifier.ts) that mails the account's
 * owner: someone is guessing their password, their second factors changed, or someone tried to
 * create an account with their address. The mail names no attacker detail beyond the count and the
 * source address, and points at the pages rather than containing a reset link (a reset must be asked for).
 */
import type { AccountNotifier, TwoFactorChange, TwoFactorChangedNotice } from '../accounts/notifier.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from './mailer.ts';
import { loginThrottledMessage, signupAttemptedMessage } from './messages.ts';

export function mailAccountNotifier(deps: { mailer: Mailer; log: Logger; publicUrl: string }): AccountNotifier {
  return {
    async notify(notice) {
      if (notice.kind === 'two_factor_changed') {
        await sendBestEffort(deps.mailer, deps.log, twoFactorMessage(notice, deps.publicUrl));
        return;
      }
      const message =
        notice.kind === 'login_throttled'
          ? loginThrottledMessage(notice.email, { failures: notice.failures, ip: notice.ip, at: notice.at, publicUrl: deps.publicUrl })
          : signupAttemptedMessage(notice.email, { at: notice.at, publicUrl: deps.publicUrl });
      await sendBestEffort(deps.mailer, deps.log, message);
    },
  };
}

const CHANGES: Record<TwoFactorChange, string> = {
  totp_enabled: 'An authenticator app was set up for two-factor sign-in',
  passkey_added: 'A passkey was added to your account',
  passkey_removed: 'A passkey was removed from your account',
  disabled: 'Two-factor sign-in was turned off',
  recovery_codes_renewed: 'New recovery codes were made (the old ones no longer work)',
  recovery_code_used: 'A recovery code was used to sign in',
};

function twoFactorMessage(notice: TwoFactorChangedNotice, publicUrl: string) {
  return {
    to: [notice.email],
    subject: `mailplane: ${CHANGES[notice.change].toLowerCase()}`,
    text:
      `${CHANGES[notice.change]} on your mailplane account at ${notice.at.toUTCString()}${notice.ip ? ` from ${notice.ip}` : ''}.\n\n` +
      `If this was you, there is nothing to do. If not, sign in and check your two-factor settings, and change your password:\n\n${publicUrl}/account/two-factor\n${publicUrl}/forgot-password\n` +
      '\n-- \nmailplane: your dedicated mail server\n',
  };
}
