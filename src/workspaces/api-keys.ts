/** API keys of a workspace: create (shown once), list, revoke, rotate. */
import { and, desc, eq, isNull } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import { generateApiKey } from '../auth/api-keys.ts';
import type { Db } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import type { WorkspaceAccess } from './access.ts';

const columns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  scopes: apiKeys.scopes,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

export async function createApiKey(db: Db, actor: Actor, access: WorkspaceAccess, input: { name: string; scopes: string[] }) {
  const generated = generateApiKey();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        workspaceId: access.workspaceId,
        name: input.name,
        prefix: generated.prefix,
        keyHash: generated.hash,
        scopes: [...new Set(input.scopes)].sort(),
        createdBy: access.principal.kind === 'user' ? access.principal.userId : null,
      })
      .returning(columns);
    await audit(tx, actor, { action: 'api_key.create', workspaceId: access.workspaceId, target: row!.id, details: { scopes: row!.scopes } });
    return { apiKey: row!, key: generated.key };
  });
}

export async function listApiKeys(db: Db, workspaceId: string) {
  return db.select(columns).from(apiKeys).where(eq(apiKeys.workspaceId, workspaceId)).orderBy(desc(apiKeys.createdAt));
}

export async function revokeApiKey(db: Db, actor: Actor, access: WorkspaceAccess, keyId: string) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.workspaceId, access.workspaceId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (!row) throw new NotFoundError('Active API key');
    await audit(tx, actor, { action: 'api_key.revoke', workspaceId: access.workspaceId, target: keyId });
  });
}

/** Issues a new key with the same name and scopes and revokes the old one, atomically. */
export async function rotateApiKey(db: Db, actor: Actor, access: WorkspaceAccess, keyId: string) {
  const generated = generateApiKey();
  return db.transaction(async (tx) => {
    const [old] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.workspaceId, access.workspaceId), isNull(apiKeys.revokedAt)))
      .returning({ name: apiKeys.name, scopes: apiKeys.scopes });
    if (!old) throw new NotFoundError('Active API key');
    const [row] = await tx
      .insert(apiKeys)
      .values({
        workspaceId: access.workspaceId,
        name: old.name,
        prefix: generated.prefix,
        keyHash: generated.hash,
        scopes: old.scopes,
        createdBy: access.principal.kind === 'user' ? access.principal.userId : null,
      })
      .returning(columns);
    await audit(tx, actor, { action: 'api_key.rotate', workspaceId: access.workspaceId, target: row!.id, details: { replaces: keyId } });
    return { apiKey: row!, key: generated.key };
  });
}
