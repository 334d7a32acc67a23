/**
 * API keys: 256-bit random secrets shown once. Only sha256(key) is stored —
 * a slow hash buys nothing for a full-entropy secret and would cost every
 * request. The prefix is kept in clear so people can tell keys apart.
 */
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';
import { UnauthorizedError } from '../errors.ts';
import { randomToken, sha256Hex } from './keys.ts';

export const API_KEY_PREFIX = 'mpk_';
export const API_KEY_SCOPES = ['read', 'write'] as const;

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${randomToken(32)}`;
  return { key, prefix: key.slice(0, 12), hash: sha256Hex(key) };
}

export interface ApiKeyPrincipal {
  keyId: string;
  workspaceId: string;
  scopes: string[];
}

export async function authenticateApiKey(db: DbOrTx, key: string): Promise<ApiKeyPrincipal> {
  const [row] = await db
    .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, scopes: apiKeys.scopes })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, sha256Hex(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) throw new UnauthorizedError('Invalid or revoked API key');
  // last_used_at is written at most once a minute per key, not on every request.
  await db
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiKeys.id, row.id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`))));
  return { keyId: row.id, workspaceId: row.workspaceId, scopes: row.scopes };
}
