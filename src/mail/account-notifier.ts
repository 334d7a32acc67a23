/**
 * The AccountNotifier (src/accounts/notifier.ts) that mails the account's
 * owner: someone is guessing their password. The mail names no attacker
 * detail beyond the count and the source address, and points at the reset
 * page rather than containing a reset link (a reset must be asked for).
 */
import type { AccountNotifier } from '../accounts/notifier.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from './mailer.ts';

export function mailAccountNotifier(deps: { mailer: Mailer; log: Logger; publicUrl: string }): AccountNotifier {
  return {
    async notify(notice) {
      await sendBestEffort(deps.mailer, deps.log, {
        to: [notice.email],
        subject: 'Someone is trying to sign in to your mailplane account',
        text: `We blocked sign-in to your mailplane account for a while after ${notice.failures} wrong passwords`
          + `${notice.ip ? ` (the latest from ${notice.ip})` : ''} at ${notice.at.toUTCString()}.\n\n`
          + `If it was you, wait a few minutes and try again. If not, your password held; to change it anyway, go to:\n\n${deps.publicUrl}/forgot-password\n`
          + '\n-- \nmailplane: your dedicated mail server\n',
      });
    },
  };
}
