/**
 * Probing a mail server from outside: does a TCP port answer, and what
 * certificate does it present. The real probe uses node:net and node:tls; the
 * sandbox's emulated hosts have no listening mail stack, so the composition
 * root gives them SandboxProbe instead (src/health/sandbox-probe.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface CertificateInfo {
  validTo: Date;
  /** SHA-256 of the SubjectPublicKeyInfo, hex: what a TLSA 3 1 1 record pins. */
  spkiSha256: string;
  names: string[];
}

export interface ServiceProbe {
  /** True when a TCP connection to host:port opens within the timeout. */
  portOpen(host: string, port: number): Promise<boolean>;
  /** The certificate served with SNI `servername` on an implicit-TLS port; null when none could be read. */
  certificate(host: string, port: number, servername: string): Promise<CertificateInfo | null>;
  /** The MTA-STS policy text served at https://mta-sts.<domain>/.well-known/mta-sts.txt; null when not served. */
  mtaStsPolicy(domain: string): Promise<string | null>;
  /** Probe results are simulated (sandbox): the health page says so. */
  readonly simulated: boolean;
}

export class NetProbe implements ServiceProbe {
  readonly simulated = false;
  private readonly timeoutMs: number;

  constructor(opts: { timeoutMs?: number } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  portOpen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = netConnect({ host, port, timeout: this.timeoutMs });
      const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });
  }

  certificate(host: string, port: number, servername: string): Promise<CertificateInfo | null> {
    return new Promise((resolve) => {
      // rejectUnauthorized false: we want to read an expired or mismatched certificate to report it.
      const socket = tlsConnect({ host, port, servername, rejectUnauthorized: false, timeout: this.timeoutMs });
      const done = (v: CertificateInfo | null) => { socket.destroy(); resolve(v); };
      socket.once('secureConnect', () => {
        const raw = socket.getPeerX509Certificate();
        if (!raw) return done(null);
        done(certificateInfo(raw));
      });
      socket.once('timeout', () => done(null));
      socket.once('error', () => done(null));
    });
  }

  async mtaStsPolicy(domain: string): Promise<string | null> {
    try {
      const res = await fetch(`https://mta-sts.${domain}/.well-known/mta-sts.txt`, { redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
      return res.ok ? (await res.text()).slice(0, 10_000) : null;
    } catch {
      return null;
    }
  }
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const names = (cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^DNS:/, '')).filter(Boolean);
  return { validTo: new Date(cert.validTo), spkiSha256: createHash('sha256').update(spki).digest('hex'), names };
}
