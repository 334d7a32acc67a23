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
import type { BackupDeps } from '../backups/deps.ts';
import type { FleetDeps } from '../fleet/deps.ts';

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
  /** Stack versions, drift, rollouts and maintenance windows. */
  fleet: FleetDeps;
  /** Backups: whether storage is configured, whether the hosts only simulate them, and the service (mailbox downloads). */
  backups: { storageConfigured: boolean; simulated: boolean; service: BackupDeps };
  /** The sandbox's emulated servers: their webmail's stand-in (null otherwise). */
  webmailStandIn?: WebmailStandIn | null;
}

/** What the stand-in for an emulated server's webmail needs (src/web/pages/sandbox-webmail-pages.ts). */
export interface WebmailStandIn {
  /** The emulated server's domain and the webmail key it was given (the file on its emulated disk), or null. */
  keyOf(serverId: string): Promise<{ domain: string; key: string } | null>;
  now(): number;
}

export const newWebApp = (): WebApp => new Hono<WebEnv>();

/** Any dashboard request's context, whatever its route's path parameters. */
// biome-ignore lint/suspicious/noExplicitAny: the route's path parameters differ per page; Hono types them only as `any` here.
export type WebContext = Context<WebEnv, any>;
