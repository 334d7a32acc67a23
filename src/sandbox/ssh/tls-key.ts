/**
 * The emulated host's TLS key: made once, kept in the host directory, so the
 * SPKI hash (and a TLSA 3 1 1 record built from it) stays the same across
 * certificate renewals, like the real issue-tls.sh which reuses its key.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** SHA-256 (hex) of a public key's DER SubjectPublicKeyInfo: TLSA "3 1 1" data. */
export function spkiSha256(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Returns the key's PEM; generates an EC P-256 key on first use. */
export async function ensureTlsKey(path: string): Promise<{ privateKeyPem: string; created: boolean }> {
  try {
    return { privateKeyPem: await readFile(path, 'utf8'), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await mkdir(dirname(path), { recursive: true });
  // 'wx': two concurrent runs must not both write; the loser reads the winner's key.
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    return { privateKeyPem: pem, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { privateKeyPem: await readFile(path, 'utf8'), created: false };
  }
}

export async function readTlsKey(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function publicPemOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}
