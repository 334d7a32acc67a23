/**
 * The sandbox's emulated hosts answer the provisioning scripts but listen on
 * no mail ports, so probing them over TCP would always fail. This probe
 * answers from what provisioning recorded instead: ports answer once `verify`
 * (which ran verify-services.sh on the host) succeeded, the certificate is the
 * one `issue_tls` pinned, and the MTA-STS policy is the one mailplane rendered.
 * Results are flagged `simulated`, and the health page says so.
 *
 * One health run asks about the same host a dozen times at once (every mail port of both
 * addresses, two certificates, the policy): concurrent questions about one host share one
 * statement (the server and its three steps' times), instead of two or three statements each.
 */
import { type SQL, sql } from 'drizzle-orm';
import { isIP } from 'node:net';
import { mtaStsPolicy } from '../../provisioning/dns-records.ts';
import type { Db } from '../db/client.ts';
import type { CertificateInfo, PortState, ServiceProbe } from './probe.ts';

const CERT_LIFETIME_MS = 90 * 24 * 3600 * 1000;

interface Recorded {
  status: string;
  hostname: string;
  domain: string;
  tlsSpkiSha256: string | null;
  verifiedAt: Date | null;
  tlsIssuedAt: Date | null;
  stackInstalledAt: Date | null;
}

/**
 * The statement behind one question about a host (exported so a test can check its plan). Branches
 * in order of precedence, each stopping at its first row: one OR of the four with an ORDER BY read
 * every server each time (5-18 ms at 10,000 servers, bench/fleet.md).
 */
export function recordedServerQuery(host: string): SQL {
  const bare = host.replace(/^mta-sts\./, '');
  const finished = (step: string) => sql`(select max(st.finished_at) from provisioning_steps st
    join provisioning_runs r on r.id = st.run_id
    where r.server_id = s.id and st.name = ${step} and st.status = 'succeeded')`;
  const columns = sql`s.status, s.hostname, s.domain, s.tls_spki_sha256 as "tlsSpkiSha256",
    ${finished('verify')} as "verifiedAt", ${finished('issue_tls')} as "tlsIssuedAt", ${finished('install_mail_stack')} as "stackInstalledAt"`;
  // A deleted server answers nothing (its address may be another's now); the predicate matches the
  // partial indexes servers_live_*_idx.
  const live = sql`s.status <> 'deleted'`;
  // An address is only ever a server's address; a name only its hostname or domain.
  return isIP(host)
    ? sql`(select ${columns} from servers s where s.ipv4 = ${host} and ${live} limit 1)
        union all (select ${columns} from servers s where s.ipv6 = ${host} and ${live} limit 1)
        limit 1`
    : sql`(select ${columns} from servers s where s.hostname = ${host} and ${live} limit 1)
        union all (select ${columns} from servers s where s.domain = ${bare} and ${live} limit 1)
        limit 1`;
}

export class SandboxProbe implements ServiceProbe {
  readonly simulated = true;
  private readonly db: Db;
  /** Questions in flight, by host: dropped once answered, so nothing is cached beyond them. */
  private readonly inFlight = new Map<string, Promise<Recorded | null>>();

  constructor(opts: { db: Db }) {
    this.db = opts.db;
  }

  private recorded(host: string): Promise<Recorded | null> {
    let pending = this.inFlight.get(host);
    if (!pending) {
      pending = this.read(host).finally(() => this.inFlight.delete(host));
      this.inFlight.set(host, pending);
    }
    return pending;
  }

  /** The server at this address, else with this hostname, else this domain (mta-sts. stripped); and when its steps last succeeded. */
  private async read(host: string): Promise<Recorded | null> {
    const rows = await this.db.execute<{
      status: string;
      hostname: string;
      domain: string;
      tlsSpkiSha256: string | null;
      verifiedAt: string | null;
      tlsIssuedAt: string | null;
      stackInstalledAt: string | null;
    }>(recordedServerQuery(host));
    const row = [...rows][0];
    if (!row) return null;
    const date = (v: string | null) => (v === null ? null : new Date(v));
    return { ...row, verifiedAt: date(row.verifiedAt), tlsIssuedAt: date(row.tlsIssuedAt), stackInstalledAt: date(row.stackInstalledAt) };
  }

  async portState(host: string): Promise<PortState> {
    const server = await this.recorded(host);
    return server !== null && server.status === 'ready' && server.verifiedAt !== null ? 'open' : 'closed';
  }

  async certificate(host: string): Promise<CertificateInfo | null> {
    const server = await this.recorded(host);
    if (!server?.tlsSpkiSha256 || !server.tlsIssuedAt) return null;
    return {
      validTo: new Date(server.tlsIssuedAt.getTime() + CERT_LIFETIME_MS),
      spkiSha256: server.tlsSpkiSha256,
      names: [server.hostname, `mta-sts.${server.domain}`],
      untrusted: null,
    };
  }

  async mtaStsPolicy(domain: string): Promise<string | null> {
    const server = await this.recorded(domain);
    if (!server?.stackInstalledAt) return null;
    return mtaStsPolicy({ hostname: server.hostname });
  }
}
