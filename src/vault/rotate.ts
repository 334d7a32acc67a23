/**
 * Master-key rotation: every data key still wrapped by an older master key is
 * re-wrapped under the active one. Each batch commits on its own, so an
 * interrupted rotation keeps what it did and the next run carries on; rows are
 * claimed with SKIP LOCKED, so two rotations at once do not fight. Once no row
 * names an old key, that key can be removed from VAULT_MASTER_KEYS.
 */
import { and, count, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { vaultSecrets } from '../db/schema/index.ts';
import type { Vault } from './vault.ts';

export interface RotationProgress {
  rewrapped: number;
  remaining: number;
}

export interface RotateOptions {
  batchSize?: number;
  /** Called after each committed batch. */
  onBatch?: (progress: RotationProgress) => void;
  /** Stops between batches (what is done stays done). */
  signal?: AbortSignal;
}

export async function rotateVault(db: Db, vault: Vault, opts: RotateOptions = {}): Promise<RotationProgress> {
  const batchSize = opts.batchSize ?? 200;
  let rewrapped = 0;
  for (;;) {
    if (opts.signal?.aborted) break;
    const done = await db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(vaultSecrets)
        .where(ne(vaultSecrets.keyId, vault.activeKeyId))
        .orderBy(vaultSecrets.id)
        .limit(batchSize)
        .for('update', { skipLocked: true });
      for (const row of rows) {
        const next = vault.rewrap(row);
        if (!next) continue;
        await tx
          .update(vaultSecrets)
          .set({ ...next, rotatedAt: new Date() })
          .where(and(eq(vaultSecrets.id, row.id), eq(vaultSecrets.keyId, row.keyId)));
      }
      return rows.length;
    });
    rewrapped += done;
    const remaining = await countNotActive(db, vault);
    opts.onBatch?.({ rewrapped, remaining });
    if (done === 0) break;
  }
  return { rewrapped, remaining: await countNotActive(db, vault) };
}

async function countNotActive(db: Db, vault: Vault): Promise<number> {
  const [row] = await db.select({ n: count() }).from(vaultSecrets).where(ne(vaultSecrets.keyId, vault.activeKeyId));
  return Number(row?.n ?? 0);
}

/** Secrets per master key id, for `mailplane vault status`. */
export async function secretsByKey(db: Db): Promise<Record<string, number>> {
  const rows = await db.select({ keyId: vaultSecrets.keyId, n: sql<number>`count(*)::int` }).from(vaultSecrets).groupBy(vaultSecrets.keyId);
  return Object.fromEntries(rows.map((r) => [r.keyId, r.n]));
}
