/**
 * DKIM key generations: the keys, their selectors and the TXT records that publish them.
 *
 * A selector names the day it was made (mp20261207) and is never used twice for a server's domain:
 * a second rotation on the same day gets mp20261207b, and so on. The Ed25519 key of a generation
 * has its own selector (the same name plus `e`), as a selector's record holds one key.
 */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { and, eq } from 'drizzle-orm';
import { dkimKeys, type DkimKeyState } from '../../src/db/schema/index.ts';
import type { DbOrTx } from '../../src/db/client.ts';
import type { ProvisioningDeps, ServerRow } from '../context.ts';

export type DkimKeyRow = typeof dkimKeys.$inferSelect;
export type DkimAlgorithm = 'rsa' | 'ed25519';

export const dkimOwner = (key: { id: string }, workspaceId: string, algorithm: DkimAlgorithm) => ({
  table: 'dkim_keys',
  id: key.id,
  workspaceId,
  purpose: algorithm === 'rsa' ? 'dkim_private_key' : 'dkim_ed25519_private_key',
});

/** The dated base of a new selector, unique among every selector the server's domain ever had. */
export function nextSelector(now: Date, taken: ReadonlySet<string>): string {
  const day = `mp${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`;
  for (let i = 0; i < 26; i++) {
    const candidate = i === 0 ? day : `${day}${String.fromCharCode(97 + i)}`;
    if (!taken.has(candidate) && !taken.has(`${candidate}e`)) return candidate;
  }
  throw new Error(`more than 26 DKIM rotations on ${day}`);
}

/** The raw 32-byte Ed25519 public key (RFC 8463 §4: `p=` is the key itself, not a SubjectPublicKeyInfo). */
export function ed25519RawPublicKey(spkiDer: Buffer): string {
  return spkiDer.subarray(spkiDer.length - 32).toString('base64');
}

/** What a selector publishes: the key, or, once revoked, an empty `p=` (RFC 6376 §3.6.1: "this public key has been revoked"). */
export function dkimRecordContent(algorithm: DkimAlgorithm, publicKeyBase64: string | null): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKeyBase64 ?? ''}`;
}

export interface DkimRecordSpec {
  algorithm: DkimAlgorithm;
  name: string;
  selector: string;
  publicKey: string;
}

/** The TXT records of a generation (the RSA one, and the Ed25519 one when it has that key). */
export function generationRecords(key: DkimKeyRow): DkimRecordSpec[] {
  const out: DkimRecordSpec[] = [{ algorithm: 'rsa', selector: key.selector, name: `${key.selector}._domainkey.${key.domain}`, publicKey: key.publicKey }];
  if (key.ed25519Selector && key.ed25519PublicKey) {
    out.push({ algorithm: 'ed25519', selector: key.ed25519Selector, name: `${key.ed25519Selector}._domainkey.${key.domain}`, publicKey: key.ed25519PublicKey });
  }
  return out;
}

export async function keysOf(db: DbOrTx, serverId: string, domain: string, state?: DkimKeyState): Promise<DkimKeyRow[]> {
  return db
    .select()
    .from(dkimKeys)
    .where(and(eq(dkimKeys.serverId, serverId), eq(dkimKeys.domain, domain), ...(state ? [eq(dkimKeys.state, state)] : [])));
}

/**
 * Makes a generation (RSA-2048, and Ed25519 when configured) in `state`, its private keys in the
 * vault, in one transaction. RSA-2048 stays: every receiver verifies it; Ed25519 alone is not enough.
 */
export async function createGeneration(deps: ProvisioningDeps, server: ServerRow, state: 'active' | 'next'): Promise<DkimKeyRow> {
  // Generated off the event loop: RSA prime search takes tens of milliseconds and would stall every other step of this worker.
  const rsa = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const ed = deps.settings.dkim.ed25519 ? await promisify(generateKeyPair)('ed25519') : null;
  const id = randomUUID();
  return deps.database.db.transaction(async (tx) => {
    const existing = await keysOf(tx, server.id, server.domain);
    const taken = new Set(existing.flatMap((k) => [k.selector, ...(k.ed25519Selector ? [k.ed25519Selector] : [])]));
    const selector = nextSelector(new Date(deps.clock.now()), taken);
    const rsaSecret = await deps.vault.put(
      tx,
      dkimOwner({ id }, server.workspaceId, 'rsa'),
      rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const edSecret = ed
      ? await deps.vault.put(tx, dkimOwner({ id }, server.workspaceId, 'ed25519'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
      : null;
    const [row] = await tx
      .insert(dkimKeys)
      .values({
        id,
        serverId: server.id,
        domain: server.domain,
        selector,
        state,
        privateKeySecretId: rsaSecret,
        publicKey: rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        ...(ed
          ? {
              ed25519Selector: `${selector}e`,
              ed25519PublicKey: ed25519RawPublicKey(ed.publicKey.export({ type: 'spki', format: 'der' })),
              ed25519PrivateKeySecretId: edSecret,
            }
          : {}),
        ...(state === 'active' ? { activatedAt: new Date(deps.clock.now()), nextTransitionAt: rotationDue(deps, deps.clock.now()) } : {}),
      })
      .returning();
    return row!;
  });
}

/** When an active key is rotated next (null: scheduled rotation is off). */
export function rotationDue(deps: Pick<ProvisioningDeps, 'settings'>, from: number): Date | null {
  const days = deps.settings.dkim.rotationDays;
  return days > 0 ? new Date(from + days * 86_400_000) : null;
}

/** The private keys of a generation, as the mail stack installs them. */
export async function generationSecrets(deps: ProvisioningDeps, server: ServerRow, key: DkimKeyRow): Promise<{ rsaPem: string; ed25519Pem: string | null }> {
  const db = deps.database.db;
  return {
    rsaPem: await deps.vault.get(db, dkimOwner(key, server.workspaceId, 'rsa')),
    ed25519Pem: key.ed25519PrivateKeySecretId ? await deps.vault.get(db, dkimOwner(key, server.workspaceId, 'ed25519')) : null,
  };
}
