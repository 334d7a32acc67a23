/**
 * The sandbox's own certificate authority, for the HTTPS of its services (the
 * ACME server's API). The host image trusts it the way a real image trusts the
 * public CAs that sign Let's Encrypt's API. Made with Debian's openssl once per
 * machine and kept beside the image; never used for anything a customer sees.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';

export interface SandboxCa {
  dir: string;
  certPem: string;
  /** SHA-256 of the DER certificate: the image records which CA it trusts. */
  fingerprint: string;
}

export async function ensureSandboxCa(dir: string): Promise<SandboxCa> {
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.crt');
  if (!existsSync(key) || !existsSync(cert)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=mailplane sandbox CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    await chmod(key, 0o600);
  }
  const certPem = await readFile(cert, 'utf8');
  const der = new X509Certificate(certPem).raw;
  return { dir, certPem, fingerprint: createHash('sha256').update(der).digest('hex') };
}

/** A server certificate for an IP address, signed by the sandbox CA (written next to it). */
export async function issueIpCertificate(ca: { dir: string }, name: string, ip: string): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = join(ca.dir, `${name}.key`);
  const certPath = join(ca.dir, `${name}.crt`);
  const csrPath = join(ca.dir, `${name}.csr`);
  const extPath = join(ca.dir, `${name}.ext`);
  if (existsSync(keyPath) && existsSync(certPath)) return { certPath, keyPath };
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${ip}`,
    '-keyout',
    keyPath,
    '-out',
    csrPath,
  ]);
  await run('sh', ['-c', `printf 'subjectAltName=IP:%s\\nextendedKeyUsage=serverAuth\\n' "$1" > "$2"`, 'sh', ip, extPath]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    join(ca.dir, 'ca.crt'),
    '-CAkey',
    join(ca.dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '3650',
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
  await chmod(keyPath, 0o600);
  return { certPath, keyPath };
}
