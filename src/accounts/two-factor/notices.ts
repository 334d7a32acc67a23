/** Every change to a person's second factors is mailed to them (through the AccountNotifier). */
import type { TwoFactorChange } from '../notifier.ts';
import type { TwoFactorDeps } from './deps.ts';

export async function notifyTwoFactorChange(
  deps: Pick<TwoFactorDeps, 'accountNotifier' | 'log' | 'clock'>,
  n: { userId: string; email: string; change: TwoFactorChange; ip: string | null },
): Promise<void> {
  await deps.accountNotifier
    .notify({ kind: 'two_factor_changed', ...n, at: new Date(deps.clock.now()) })
    .catch((err: unknown) => deps.log.error({ err }, 'account notice failed'));
}
