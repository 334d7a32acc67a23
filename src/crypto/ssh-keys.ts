/**
 * Ed25519 SSH keys in OpenSSH wire formats, generated with node:crypto. Used
 * for a server's host key (pinned before first contact, published as SSHFP)
 * and for mailplane's per-server deploy key.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

export interface SshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----" unencrypted, as ssh-keygen writes it. */
  privateKeyOpenSsh: string;
  /** "ssh-ed25519 AAAA… comment" */
  publicKeyOpenSsh: string;
  /** "SHA256:<base64 without padding>", as `ssh-keygen -lf` prints it. */
  fingerprintSha256: string;
  /** SHA-256 of the public key blob in hex: the SSHFP "4 2" record data. */
  sshfpSha256Hex: string;
}

const KEY_TYPE = 'ssh-ed25519';

function sshString(value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value) : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function publicKeyBlob(publicKey32: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey32)]);
}

/** Fingerprint of an OpenSSH public key line or raw blob. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The blob inside "ssh-ed25519 AAAA… comment". */
export function parsePublicKeyLine(line: string): Buffer {
  const [type, b64] = line.trim().split(/\s+/);
  if (type !== KEY_TYPE || !b64) throw new Error('not an ssh-ed25519 public key line');
  return Buffer.from(b64, 'base64');
}

function encodePrivateKey(seed32: Buffer, public32: Buffer, comment: string): string {
  const blob = publicKeyBlob(public32);
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(public32), sshString(Buffer.concat([seed32, public32])), sshString(comment)]);
  // Padding 1,2,3… to the cipher block size (8 for "none").
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(blob),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export function generateEd25519KeyPair(comment: string): SshKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const blob = publicKeyBlob(pub);
  return {
    privateKeyOpenSsh: encodePrivateKey(seed, pub, comment),
    publicKeyOpenSsh: `${KEY_TYPE} ${blob.toString('base64')} ${comment}`,
    fingerprintSha256: fingerprintOf(blob),
    sshfpSha256Hex: createHash('sha256').update(blob).digest('hex'),
  };
}
