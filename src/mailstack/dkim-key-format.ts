/** Key formats the mail stack's programs read. */
import { createPrivateKey } from 'node:crypto';

/**
 * An Ed25519 key as Rspamd reads it from a file: base64 of libsodium's 64-byte secret key (the
 * 32-byte seed, then the public key), the format `rspamadm dkim_keygen -t ed25519` writes. A PKCS#8
 * PEM is read by OpenSSL as an RSA key and refused.
 */
export function rspamdEd25519Key(pkcs8Pem: string): string {
  const key = createPrivateKey(pkcs8Pem);
  const jwk = key.export({ format: 'jwk' }) as { d?: string; x?: string };
  if (key.asymmetricKeyType !== 'ed25519' || !jwk.d || !jwk.x) throw new Error('not an Ed25519 private key');
  return Buffer.concat([Buffer.from(jwk.d, 'base64url'), Buffer.from(jwk.x, 'base64url')]).toString('base64');
}
