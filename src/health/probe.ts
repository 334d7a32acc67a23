/**
 * Probing a mail server from outside: does a TCP port answer, what
 * certificate does it present (and would a client trust it), and which
 * MTA-STS policy does it serve. The real probe uses node:net and node:tls and
 * resolves names through the product's own resolvers, as every other check
 * does; the sandbox's emulated hosts have no listening mail stack, so the
 * composition root gives them SandboxProbe instead (src/health/sandbox-probe.ts).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { get as httpsGet } from 'node:https';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { rootCertificates, connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import { smtpStartTls } from './starttls.ts';

export interface CertificateInfo {
  validTo: Date;
  /** SHA-256 of the SubjectPublicKeyInfo, hex: what a TLSA 3 1 1 record pins. */
  spkiSha256: string;
  names: string[];
  /** Why a client would refuse it for the name asked (chain, expiry or name); null when it would accept it. */
  untrusted: string | null;
}

export interface ServiceProbe {
  /**
   * 'open' when a TCP connection to host:port opens within the timeout; 'no-route' when this
   * machine has no route to the address's network at all (an IPv4-only control plane asking an
   * IPv6 address): that says nothing about the server.
   */
  portState(host: string, port: number): Promise<PortState>;
  /**
   * The certificate served with SNI `servername`, on connect ('implicit') or after SMTP
   * STARTTLS ('starttls': port 25, what DANE senders see). Null when none could be read.
   */
  certificate(host: string, port: number, servername: string, tls?: 'implicit' | 'starttls'): Promise<CertificateInfo | null>;
  /** The MTA-STS policy text served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461: valid certificate, no redirect); null when not served. */
  mtaStsPolicy(domain: string): Promise<string | null>;
  /** Probe results are simulated (sandbox): the health page says so. */
  readonly simulated: boolean;
}

export type PortState = 'open' | 'closed' | 'no-route';

const MAX_POLICY_BYTES = 64 * 1024;
/** Answers from our own network stack that the address cannot be reached from here at all. */
const NO_ROUTE = new Set(['ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

export class NetProbe implements ServiceProbe {
  readonly simulated = false;
  private readonly timeoutMs: number;
  private readonly lookup: DnsLookup;
  private readonly ca: string[];
  private readonly heloName: string;

  /** `extraCa`: PEM roots trusted besides Node's (a staging or sandbox ACME CA). `heloName`: how the probe introduces itself over SMTP. */
  constructor(opts: { lookup: DnsLookup; extraCa?: string[]; heloName: string; timeoutMs?: number }) {
    this.lookup = opts.lookup;
    this.ca = [...rootCertificates, ...(opts.extraCa ?? [])];
    this.heloName = opts.heloName;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  portState(host: string, port: number): Promise<PortState> {
    return new Promise((resolve) => {
      const socket = netConnect({ host, port, timeout: this.timeoutMs });
      const done = (state: PortState) => {
        socket.destroy();
        resolve(state);
      };
      socket.once('connect', () => done('open'));
      socket.once('timeout', () => done('closed'));
      socket.once('error', (err: NodeJS.ErrnoException) => done(NO_ROUTE.has(err.code ?? '') ? 'no-route' : 'closed'));
    });
  }

  async certificate(host: string, port: number, servername: string, tls: 'implicit' | 'starttls' = 'implicit'): Promise<CertificateInfo | null> {
    let plain: Socket | undefined;
    if (tls === 'starttls') {
      try {
        plain = await smtpStartTls(host, port, this.timeoutMs, this.heloName);
      } catch {
        return null;
      }
    }
    return new Promise((resolve) => {
      // rejectUnauthorized false: an expired, mismatched or untrusted certificate is read and reported, not just refused.
      const socket: TLSSocket = tlsConnect({
        ...(plain ? { socket: plain } : { host, port }),
        servername,
        ca: this.ca,
        rejectUnauthorized: false,
        timeout: this.timeoutMs,
      });
      const done = (v: CertificateInfo | null) => {
        socket.destroy();
        plain?.destroy();
        resolve(v);
      };
      socket.once('secureConnect', () => {
        const raw = socket.getPeerX509Certificate();
        if (!raw) return done(null);
        // authorizationError is OpenSSL's or Node's code: CERT_HAS_EXPIRED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID…
        done({ ...certificateInfo(raw), untrusted: socket.authorized ? null : String(socket.authorizationError ?? 'not trusted') });
      });
      socket.once('timeout', () => done(null));
      socket.once('error', () => done(null));
    });
  }

  async mtaStsPolicy(domain: string): Promise<string | null> {
    const name = `mta-sts.${domain}`;
    const address = await this.address(name);
    if (!address) return null;
    return new Promise((resolve) => {
      // Connect to the address our resolvers gave, but verify the certificate for the name (servername), as a sending MTA does.
      // agent false: no pooled keep-alive socket left open between two health runs.
      const req = httpsGet(
        { host: address, servername: name, path: '/.well-known/mta-sts.txt', headers: { host: name }, ca: this.ca, agent: false, timeout: this.timeoutMs },
        (res) => {
          // RFC 8461 3.3: a redirect is not followed, and only a 200 is a policy.
          if (res.statusCode !== 200) {
            res.resume();
            return resolve(null);
          }
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
            if (body.length > MAX_POLICY_BYTES) {
              req.destroy();
              resolve(null);
            }
          });
          res.on('end', () => resolve(body));
          res.on('error', () => resolve(null));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(null));
    });
  }

  private async address(name: string): Promise<string | null> {
    for (const type of ['A', 'AAAA'] as const) {
      const r = await this.lookup.lookup(name, type);
      const found = r.status === 'ok' ? r.answers.find((a) => isIP(a) !== 0) : undefined;
      if (found) return found;
    }
    return null;
  }
}

/** The certificate's facts; `untrusted` is null here, for the caller to fill in from the chain it saw. */
export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const names = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^DNS:/, ''))
    .filter(Boolean);
  return { validTo: new Date(cert.validTo), spkiSha256: createHash('sha256').update(spki).digest('hex'), names, untrusted: null };
}
