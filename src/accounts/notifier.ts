/**
 * Notices to an account's owner about their own account's security (someone
 * is guessing its password; its second factors changed; someone tried to sign up again with its address).
 * The product's email module plugs in a notifier that mails them; the default records the notice in the
 * log, so a notice is never silently lost when no mail transport is wired.
 */
import type { Logger } from '../log.ts';

export interface LoginThrottledNotice {
  kind: 'login_throttled';
  userId: string;
  email: string;
  /** Failed attempts in the throttle window so far. */
  failures: number;
  /** Where the latest attempt came from (null when unknown). */
  ip: string | null;
  at: Date;
}

export type TwoFactorChange = 'totp_enabled' | 'passkey_added' | 'passkey_removed' | 'disabled' | 'recovery_codes_renewed' | 'recovery_code_used';

/** A second factor was added, removed or used up: the owner hears of it whoever did it. */
export interface TwoFactorChangedNotice {
  kind: 'two_factor_changed';
  userId: string;
  email: string;
  change: TwoFactorChange;
  ip: string | null;
  at: Date;
}

/**
 * Someone asked to create an account with an address that already has one. Sign-up answers
 * them exactly as it answers a new address; only the address's owner learns it happened.
 */
export interface SignupAttemptedNotice {
  kind: 'signup_attempted';
  userId: string;
  email: string;
  ip: string | null;
  at: Date;
}

export type AccountNotice = LoginThrottledNotice | TwoFactorChangedNotice | SignupAttemptedNotice;

export interface AccountNotifier {
  notify(notice: AccountNotice): Promise<void>;
}

export function loggingAccountNotifier(log: Logger): AccountNotifier {
  return {
    async notify(notice) {
      // The user id, not the email: log lines carry no personal data beyond ids.
      const detail = notice.kind === 'login_throttled' ? { failures: notice.failures } : notice.kind === 'two_factor_changed' ? { change: notice.change } : {};
      log.warn({ notice: { kind: notice.kind, userId: notice.userId, ...detail, ip: notice.ip } }, 'account notice');
    },
  };
}
