/** What the HTTP layer is given by the composition root. */
import type { PasswordHasher } from '../auth/passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../log.ts';
import type { RateLimiter } from './middleware/rate-limit.ts';

export interface ApiDeps {
  config: Config;
  log: Logger;
  db: Db;
  hasher: PasswordHasher;
  sessions: SessionService;
  invitationKey: Buffer;
  limiters: { auth: RateLimiter; api: RateLimiter };
  /** Each check resolves true when its dependency answers. */
  readiness: Record<string, () => Promise<boolean>>;
}
