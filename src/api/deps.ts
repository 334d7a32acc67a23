/** What the HTTP layer is given by the composition root. */
import type { AccountNotifier } from '../accounts/notifier.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import type { PasswordHasher } from '../auth/passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { Engine } from '../../provisioning/engine.ts';
import type { Config } from '../config.ts';
import type { Database, Db } from '../db/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import type { EventHub } from '../servers/event-hub.ts';
import type { ErasureDeps } from '../gdpr/erase.ts';
import type { MailboxDeps } from '../mailboxes/service.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { Placements } from '../servers/placement.ts';
import type { Vault } from '../vault/vault.ts';
import type { RateLimiter } from './middleware/rate-limit.ts';
import type { ReadCache } from './read-cache.ts';

export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Db;
  hasher: PasswordHasher;
  sessions: SessionService;
  /** Seals TOTP secrets (and every other secret). */
  vault: Vault;
  invitationKey: Buffer;
  limiters: { auth: RateLimiter; api: RateLimiter; passwordExport: RateLimiter };
  /** This process's cache of sessions, roles and server views (evicted by NOTIFY); absent: every read goes to PostgreSQL. */
  readCache?: ReadCache;
  /** Password guessing, per account and per IP, shared by every process (PostgreSQL). */
  loginThrottle: LoginThrottle;
  /** Tells an account's owner about their account's security; email plugs in here. */
  accountNotifier: AccountNotifier;
  /** Each check resolves true when its dependency answers. */
  readiness: Record<string, () => Promise<boolean>>;
  /** Product mail (invitations); absent in tests of the foundation alone. */
  mailer?: Mailer;
  /** Mails a new account its email verification link (carrying `next`); absent in tests of the foundation alone. */
  sendEmailVerification?: (userId: string, o?: { next?: string }) => Promise<unknown>;
  /** Billing, servers and support routes; absent in tests of the foundation alone. */
  provisioning?: ProvisioningApiDeps;
}

export interface ProvisioningApiDeps {
  database: Database;
  queue: JobQueue;
  billing: BillingProvider;
  engine: Pick<Engine, 'rerunStep' | 'resumeRun' | 'recheckWaiting'>;
  lookup: DnsLookup;
  events: EventHub;
  mailboxes: MailboxDeps;
  erasure: ErasureDeps;
  /** Which zones sell each plan (Scaleway's catalogue): the catalog routes, checkout and the subscribe page. */
  placements: Placements;
}
