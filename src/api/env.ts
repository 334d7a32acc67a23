/** The Hono environment every route shares. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../log.ts';
import type { Actor } from '../audit.ts';

export type Principal =
  | { kind: 'user'; userId: string; sessionId: string; email: string; staffRole: 'support' | 'ops' | null; twoFactor: boolean; expiresAt?: number }
  | { kind: 'api_key'; keyId: string; workspaceId: string; scopes: string[] };

export interface AppEnv {
  Variables: {
    requestId: string;
    clientIp: string | null;
    log: Logger;
    principal: Principal;
    actor: Actor;
  };
}

export type App = OpenAPIHono<AppEnv>;
