/**
 * Purpose-bound keys derived from the one session secret (HKDF), so a key used
 * to sign sessions is never also the key that signs invitations or hashes tokens.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyPurpose = 'session-jwt' | 'invitation-token' | 'webmail-token' | 'account-token' | 'login-throttle';

export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from('mailplane'), Buffer.from(purpose), 32));
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A signed opaque token: `<prefix>_<random>.<mac>`. The MAC lets a forged token
 * be rejected without a database lookup; the database holds only sha256(token),
 * and single use / expiry / revocation live on that row.
 */
export function signOpaqueToken(key: Buffer, prefix: string): string {
  const body = `${prefix}_${randomToken(24)}`;
  const mac = createHmac('sha256', key).update(body).digest('base64url').slice(0, 22);
  return `${body}.${mac}`;
}

export function verifyOpaqueToken(key: Buffer, prefix: string, token: string): boolean {
  const dot = token.lastIndexOf('.');
  if (dot < 0 || !token.startsWith(`${prefix}_`)) return false;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(createHmac('sha256', key).update(body).digest('base64url').slice(0, 22));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
