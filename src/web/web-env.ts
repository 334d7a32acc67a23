/**
 * The dashboard's Hono environment and what its pages are given. Pages call
 * the same domain services and the same authorizeWorkspace as the API, so a
 * page can never show what the API would refuse.
 */
import { Hono, type Context } from 'hono';
import type { ApiDeps, ProvisioningApiDeps } from '../api/deps.ts';
import type { AppEnv } from '../api/env.ts';
import type { RecoveryDeps } from '../accounts/recovery.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { SandboxOutbox } from '../mail/sandbox-outbox.ts';
import type { OpsDeps } from '../ops/deps.ts';
import type { InvitationDeps } from '../workspaces/invitations.ts';
import type { HealthDeps } from '../health/deps.ts';

export interface WebUser {
  id: string;
  email: string;
  name: string;
  staffRole: 'support' | 'ops' | null;
  emailVerified: boolean;
  sessionId: string;
  /** Has a second factor (TOTP or a passkey). */
  twoFactor: boolean;
}

export interface WebEnv {
  Variables: AppEnv['Variables'] & { user: WebUser };
}

export type WebApp = Hono<WebEnv>;

export interface WebDeps {
  api: ApiDeps;
  p: ProvisioningApiDeps;
  recovery: RecoveryDeps;
  invitations: InvitationDeps;
  mailer: Mailer;
  /** null when mail goes out over SMTP: there is no sandbox mailbox page then. */
  outbox: SandboxOutbox | null;
  ops: OpsDeps;
  health: HealthDeps;
  /** Backups: whether storage is configured, and whether the hosts only simulate them. */
  backups: { storageConfigured: boolean; simulated: boolean };
}

export const newWebApp = (): WebApp => new Hono<WebEnv>();

/** Any dashboard request's context, whatever its route's path parameters. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WebContext = Context<WebEnv, any>;
