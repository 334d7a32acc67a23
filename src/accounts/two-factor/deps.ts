/** What the two-factor services are given (the API's deps plus who the relying party is). */
import type { LoginThrottle } from '../../auth/login-throttle.ts';
import type { PasswordHasher } from '../../auth/passwords.ts';
import type { SessionService } from '../../auth/sessions.ts';
import type { Clock } from '../../clock.ts';
import type { Db } from '../../db/client.ts';
import type { Logger } from '../../log.ts';
import type { Vault } from '../../vault/vault.ts';
import type { AccountNotifier } from '../notifier.ts';

export interface RelyingParty {
  /** WebAuthn RP ID: the dashboard's host name (browsers refuse IP addresses here). */
  id: string;
  name: string;
  /** The dashboard's origin, which every WebAuthn response must name. */
  origin: string;
}

export interface TwoFactorDeps {
  db: Db;
  vault: Vault;
  hasher: PasswordHasher;
  sessions: SessionService;
  loginThrottle: LoginThrottle;
  accountNotifier: AccountNotifier;
  log: Logger;
  relyingParty: RelyingParty;
  /** Challenge and code windows, passkey options, the time on the notices. */
  clock: Clock;
}

export function relyingPartyOf(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { id: url.hostname, name: 'mailplane', origin: url.origin };
}
