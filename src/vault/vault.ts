/**
 * AES-256-GCM envelope encryption. Each secret gets a fresh 256-bit data key
 * and a random 96-bit IV; the data key is wrapped by the active master key.
 * The associated data names the owner (table, row, workspace, purpose), so a
 * ciphertext copied onto another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { vaultSecrets } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { MasterKeyRing } from './master-keys.ts';

export interface SecretOwner {
  table: string;
  id: string;
  workspaceId: string | null;
  purpose: string;
}

export class VaultError extends AppError {
  constructor(detail: string) {
    super({ code: 'vault_error', status: 500, title: 'Secret could not be decrypted', detail });
  }
}

function aadOf(owner: SecretOwner): Buffer {
  return Buffer.from(JSON.stringify(['mailplane-vault-v1', owner.table, owner.id, owner.workspaceId ?? '', owner.purpose]));
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function open(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

const b64 = (b: Buffer) => b.toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');

export class Vault {
  private readonly ring: MasterKeyRing;

  constructor(ring: MasterKeyRing) {
    this.ring = ring;
  }

  get activeKeyId(): string {
    return this.ring.activeId;
  }

  /** Ids of every configured master key (active first). */
  get keyIds(): string[] {
    return [...this.ring.keys.keys()];
  }

  async remove(db: DbOrTx, owner: SecretOwner): Promise<void> {
    await db
      .delete(vaultSecrets)
      .where(and(eq(vaultSecrets.ownerTable, owner.table), eq(vaultSecrets.ownerId, owner.id), eq(vaultSecrets.purpose, owner.purpose)));
  }

  /** Encrypts and stores (or replaces) the owner's secret; returns its id. */
  async put(db: DbOrTx, owner: SecretOwner, plaintext: string | Buffer): Promise<string> {
    const aad = aadOf(owner);
    const dataKey = randomBytes(32);
    const body = seal(dataKey, Buffer.from(plaintext), aad);
    const values = {
      workspaceId: owner.workspaceId,
      ownerTable: owner.table,
      ownerId: owner.id,
      purpose: owner.purpose,
      keyId: this.ring.activeId,
      wrappedKey: this.wrap(dataKey, aad),
      iv: b64(body.iv),
      ciphertext: b64(body.ciphertext),
      tag: b64(body.tag),
    };
    const [row] = await db
      .insert(vaultSecrets)
      .values(values)
      .onConflictDoUpdate({ target: [vaultSecrets.ownerTable, vaultSecrets.ownerId, vaultSecrets.purpose], set: { ...values, rotatedAt: new Date() } })
      .returning({ id: vaultSecrets.id });
    return row!.id;
  }

  async get(db: DbOrTx, owner: SecretOwner): Promise<string> {
    const [row] = await db
      .select()
      .from(vaultSecrets)
      .where(and(eq(vaultSecrets.ownerTable, owner.table), eq(vaultSecrets.ownerId, owner.id), eq(vaultSecrets.purpose, owner.purpose)))
      .limit(1);
    if (!row) throw new VaultError(`no ${owner.purpose} secret for ${owner.table}/${owner.id}`);
    return this.decryptRow(row, owner).toString('utf8');
  }

  decryptRow(row: typeof vaultSecrets.$inferSelect, owner: SecretOwner): Buffer {
    const aad = aadOf(owner);
    try {
      const dataKey = this.unwrap(row, aad);
      return open(dataKey, unb64(row.iv), unb64(row.ciphertext), unb64(row.tag), aad);
    } catch (err) {
      if (err instanceof VaultError) throw err;
      throw new VaultError(`secret ${row.id} failed authentication (tampered, moved, or wrong key)`);
    }
  }

  /**
   * The row's data key wrapped again under the active master key; the secret's
   * own ciphertext is untouched (it never needs the master key). Returns null
   * when the row already uses the active key.
   */
  rewrap(row: typeof vaultSecrets.$inferSelect): { keyId: string; wrappedKey: string } | null {
    if (row.keyId === this.ring.activeId) return null;
    const aad = aadOf(ownerOfRow(row));
    let dataKey: Buffer;
    try {
      dataKey = this.unwrap(row, aad);
    } catch (err) {
      if (err instanceof VaultError) throw err;
      throw new VaultError(`secret ${row.id}: data key failed authentication under "${row.keyId}"`);
    }
    return { keyId: this.ring.activeId, wrappedKey: this.wrap(dataKey, aad) };
  }

  private wrap(dataKey: Buffer, aad: Buffer): string {
    const master = this.ring.keys.get(this.ring.activeId)!;
    const w = seal(master, dataKey, Buffer.concat([Buffer.from(`${this.ring.activeId}|`), aad]));
    return b64(Buffer.concat([w.iv, w.tag, w.ciphertext]));
  }

  private unwrap(row: typeof vaultSecrets.$inferSelect, aad: Buffer): Buffer {
    const master = this.ring.keys.get(row.keyId);
    if (!master) throw new VaultError(`master key "${row.keyId}" is not configured`);
    const w = unb64(row.wrappedKey);
    return open(master, w.subarray(0, 12), w.subarray(28), w.subarray(12, 28), Buffer.concat([Buffer.from(`${row.keyId}|`), aad]));
  }
}

/** The owner a stored row claims; authentication fails if the row was moved. */
export function ownerOfRow(row: typeof vaultSecrets.$inferSelect): SecretOwner {
  return { table: row.ownerTable, id: row.ownerId, workspaceId: row.workspaceId, purpose: row.purpose };
}
