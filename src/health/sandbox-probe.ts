/**
 * The sandbox's emulated hosts answer the provisioning scripts but listen on
 * no mail ports, so probing them over TCP would always fail. This probe
 * answers from what provisioning recorded instead: ports answer once `verify`
 * (which ran verify-services.sh on the host) succeeded, the certificate is the
 * one `issue_tls` pinned, and the MTA-STS policy is the one mailplane rendered.
 * Results are flagged `simulated`, and the health page says so.
 */
import { and, desc, eq, or } from 'drizzle-orm';
import { mtaStsPolicy } from '../../provisioning/dns-records.ts';
import type { Db } from '../db/client.ts';
import { provisioningRuns, provisioningSteps, servers } from '../db/schema/index.ts';
import type { CertificateInfo, PortState, ServiceProbe } from './probe.ts';

const CERT_LIFETIME_MS = 90 * 24 * 3600 * 1000;

export class SandboxProbe implements ServiceProbe {
  readonly simulated = true;
  private readonly db: Db;

  constructor(opts: { db: Db }) {
    this.db = opts.db;
  }

  private async serverOf(host: string) {
    const bare = host.replace(/^mta-sts\./, '');
    const [byIp] = await this.db
      .select()
      .from(servers)
      .where(or(eq(servers.ipv4, host), eq(servers.ipv6, host)))
      .limit(1);
    if (byIp) return byIp;
    const [byName] = await this.db.select().from(servers).where(eq(servers.hostname, host)).limit(1);
    if (byName) return byName;
    const [byDomain] = await this.db.select().from(servers).where(eq(servers.domain, bare)).limit(1);
    return byDomain ?? null;
  }

  private async stepFinishedAt(serverId: string, step: string): Promise<Date | null> {
    const [row] = await this.db
      .select({ finishedAt: provisioningSteps.finishedAt })
      .from(provisioningSteps)
      .innerJoin(provisioningRuns, eq(provisioningRuns.id, provisioningSteps.runId))
      .where(and(eq(provisioningRuns.serverId, serverId), eq(provisioningSteps.name, step), eq(provisioningSteps.status, 'succeeded')))
      .orderBy(desc(provisioningSteps.finishedAt))
      .limit(1);
    return row?.finishedAt ?? null;
  }

  async portState(host: string): Promise<PortState> {
    const server = await this.serverOf(host);
    return server !== null && server.status === 'ready' && (await this.stepFinishedAt(server.id, 'verify')) !== null ? 'open' : 'closed';
  }

  async certificate(host: string): Promise<CertificateInfo | null> {
    const server = await this.serverOf(host);
    if (!server?.tlsSpkiSha256) return null;
    const issued = await this.stepFinishedAt(server.id, 'issue_tls');
    if (!issued) return null;
    return {
      validTo: new Date(issued.getTime() + CERT_LIFETIME_MS),
      spkiSha256: server.tlsSpkiSha256,
      names: [server.hostname, `mta-sts.${server.domain}`],
      untrusted: null,
    };
  }

  async mtaStsPolicy(domain: string): Promise<string | null> {
    const server = await this.serverOf(domain);
    if (!server || !(await this.stepFinishedAt(server.id, 'install_mail_stack'))) return null;
    return mtaStsPolicy({ hostname: server.hostname });
  }
}
