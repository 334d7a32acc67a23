/**
 * The vault on real PostgreSQL: envelope encryption round trip, refusal of
 * every kind of tampering, owner binding, master-key rotation (also when
 * interrupted), and no plaintext anywhere in the database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vaultSecrets } from '../../../src/db/schema/index.ts';
import { rotateVault, secretsByKey } from '../../../src/vault/rotate.ts';
import { parseMasterKeys } from '../../../src/vault/master-keys.ts';
import { Vault, VaultError, type SecretOwner } from '../../../src/vault/vault.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

const key = () => randomBytes(32).toString('base64');
const k1 = `k1:${key()}`;
const k2 = `k2:${key()}`;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

const owner = (purpose = 'deploy_key'): SecretOwner => ({ table: 'servers', id: randomUUID(), workspaceId: randomUUID(), purpose });
const rowOf = async (o: SecretOwner) => (await database.db.select().from(vaultSecrets).where(eq(vaultSecrets.ownerId, o.id)))[0]!;

/** Flips one bit of a base64 column in place. */
async function flip(o: SecretOwner, column: 'ciphertext' | 'tag' | 'iv' | 'wrappedKey', byte = 0) {
  const row = await rowOf(o);
  const buf = Buffer.from(row[column], 'base64');
  buf[byte] = buf[byte]! ^ 0x01;
  await database.db
    .update(vaultSecrets)
    .set({ [column]: buf.toString('base64') })
    .where(eq(vaultSecrets.id, row.id));
}

describe('vault', () => {
  const vault = new Vault(parseMasterKeys(k1));

  it('round-trips a secret and replaces it in place', async () => {
    const o = owner();
    const id = await vault.put(database.db, o, 'first secret');
    expect(await vault.get(database.db, o)).toBe('first secret');
    expect(await vault.put(database.db, o, 'second secret')).toBe(id);
    expect(await vault.get(database.db, o)).toBe('second secret');
    const row = await rowOf(o);
    expect(row.keyId).toBe('k1');
    expect(Buffer.from(row.iv, 'base64')).toHaveLength(12);
  });

  it('uses a fresh IV and data key for every secret', async () => {
    const a = owner();
    const b = owner();
    await vault.put(database.db, a, 'same');
    await vault.put(database.db, b, 'same');
    const [ra, rb] = [await rowOf(a), await rowOf(b)];
    expect(ra.iv).not.toBe(rb.iv);
    expect(ra.ciphertext).not.toBe(rb.ciphertext);
    expect(ra.wrappedKey).not.toBe(rb.wrappedKey);
  });

  for (const column of ['ciphertext', 'tag', 'iv', 'wrappedKey'] as const) {
    it(`refuses a secret whose ${column} was altered`, async () => {
      const o = owner();
      await vault.put(database.db, o, 'a secret of some length');
      await flip(o, column, column === 'wrappedKey' ? 40 : 0);
      await expect(vault.get(database.db, o)).rejects.toBeInstanceOf(VaultError);
    });
  }

  it('refuses a ciphertext moved to another owner (associated data)', async () => {
    const a = owner();
    const b = owner();
    await vault.put(database.db, a, 'belongs to a');
    await vault.put(database.db, b, 'belongs to b');
    const ra = await rowOf(a);
    // Copy a's sealed secret onto b's row: the data is valid, the owner is not.
    await database.db
      .update(vaultSecrets)
      .set({ wrappedKey: ra.wrappedKey, iv: ra.iv, ciphertext: ra.ciphertext, tag: ra.tag })
      .where(eq(vaultSecrets.ownerId, b.id));
    await expect(vault.get(database.db, b)).rejects.toThrow(/failed authentication/);
    // Same row, other workspace or purpose: refused too.
    await expect(vault.get(database.db, { ...a, workspaceId: randomUUID() })).rejects.toBeInstanceOf(VaultError);
  });

  it('refuses a row claiming another key id, and an unconfigured key', async () => {
    const both = new Vault(parseMasterKeys(`${k2},${k1}`));
    const o = owner();
    await vault.put(database.db, o, 'under k1');
    await database.db.update(vaultSecrets).set({ keyId: 'k2' }).where(eq(vaultSecrets.ownerId, o.id));
    await expect(both.get(database.db, o)).rejects.toThrow(/failed authentication/);
    await database.db.update(vaultSecrets).set({ keyId: 'k9' }).where(eq(vaultSecrets.ownerId, o.id));
    await expect(both.get(database.db, o)).rejects.toThrow(/"k9" is not configured/);
  });

  it('stores no plaintext: a scan of every text column finds none of the secrets', async () => {
    const secrets = Array.from({ length: 5 }, () => `plain-${randomBytes(12).toString('hex')}`);
    for (const s of secrets) await vault.put(database.db, owner(), s);
    const columns = await database.sql<{ table_name: string; column_name: string }[]>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public' and data_type in ('text', 'jsonb', 'character varying')`;
    for (const { table_name, column_name } of columns) {
      for (const s of secrets) {
        const hits = await database.sql.unsafe(`select 1 from "${table_name}" where "${column_name}"::text like $1 limit 1`, [`%${s}%`]);
        expect(hits, `${table_name}.${column_name}`).toHaveLength(0);
      }
    }
  });
});

describe('master key rotation', () => {
  it('re-wraps every secret under the new key, keeps them readable, and old keys can go', async () => {
    const db = await createTestDatabase();
    try {
      const old = new Vault(parseMasterKeys(k1));
      const owners = Array.from({ length: 7 }, () => owner());
      for (const [i, o] of owners.entries()) await old.put(db.db, o, `secret ${i}`);
      const before = await db.db.select().from(vaultSecrets);

      const rotating = new Vault(parseMasterKeys(`${k2},${k1}`));
      const result = await rotateVault(db.db, rotating, { batchSize: 3 });
      expect(result).toEqual({ rewrapped: 7, remaining: 0 });
      expect(await secretsByKey(db.db)).toEqual({ k2: 7 });

      const after = await db.db.select().from(vaultSecrets);
      for (const row of after) {
        const was = before.find((b) => b.id === row.id)!;
        // Only the wrapping changed: the secret's own ciphertext is untouched.
        expect(row.ciphertext).toBe(was.ciphertext);
        expect(row.wrappedKey).not.toBe(was.wrappedKey);
      }
      const onlyNew = new Vault(parseMasterKeys(k2));
      for (const [i, o] of owners.entries()) expect(await onlyNew.get(db.db, o)).toBe(`secret ${i}`);
      // A second run has nothing to do.
      expect(await rotateVault(db.db, rotating)).toEqual({ rewrapped: 0, remaining: 0 });
    } finally {
      await db.close();
    }
  });

  it('an interrupted rotation keeps its committed batches and the next run finishes', async () => {
    const db = await createTestDatabase();
    try {
      const old = new Vault(parseMasterKeys(k1));
      const owners = Array.from({ length: 10 }, () => owner());
      for (const [i, o] of owners.entries()) await old.put(db.db, o, `secret ${i}`);
      const rotating = new Vault(parseMasterKeys(`${k2},${k1}`));
      const stop = new AbortController();
      const first = await rotateVault(db.db, rotating, { batchSize: 4, signal: stop.signal, onBatch: () => stop.abort() });
      expect(first).toEqual({ rewrapped: 4, remaining: 6 });
      // Mid-rotation both keys are in use and every secret still reads.
      expect(await secretsByKey(db.db)).toEqual({ k1: 6, k2: 4 });
      for (const [i, o] of owners.entries()) expect(await rotating.get(db.db, o)).toBe(`secret ${i}`);
      const second = await rotateVault(db.db, rotating, { batchSize: 4 });
      expect(second).toEqual({ rewrapped: 6, remaining: 0 });
      expect(await secretsByKey(db.db)).toEqual({ k2: 10 });
    } finally {
      await db.close();
    }
  });
});
