/**
 * Who may serve a domain. A domain and every name under it belong to one
 * mail server: a second server on `mail.example.com` while another serves
 * `example.com` would publish records inside the first one's zone (its own
 * `mail.example.com` A/AAAA, TLSA, MTA-STS names) and break them silently.
 * So a new domain may be neither equal to, above, nor below a live server's
 * domain, whichever workspace owns it; the refusal is the same `domain_taken`
 * either way, so it does not say which workspace holds what.
 *
 * Names the product itself answers for (its public host, the domain its own
 * mail comes from, the nameserver domains customers delegate to, the DNSBL
 * zones it queries) are refused
 * outright: a customer zone there would let one tenant shadow them.
 */
import { and, eq, ne, or, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { DbOrTx } from '../db/client.ts';
import { servers } from '../db/schema/index.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { DEFAULT_DNSBL_ZONES } from '../providers/lookup/dnsbl-zones.ts';

/** Cloudflare's nameservers (real) and the sandbox's stand-in for them. */
const NAMESERVER_DOMAINS = ['cloudflare.com', 'cloudflare-sandbox.test'];

const related = (a: string, b: string) => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

export function reservedDomains(config: Config): string[] {
  const dnsbl = config.dns.dnsblZones.length > 0 ? config.dns.dnsblZones : DEFAULT_DNSBL_ZONES;
  const names = [...NAMESERVER_DOMAINS, ...dnsbl];
  // The product's own mail domain: a customer server there could send as mailplane.
  const mailFrom = /@([^@\s>]+)>?\s*$/.exec(config.mail.from)?.[1]?.toLowerCase();
  if (mailFrom?.includes('.')) names.push(mailFrom);
  const host = new URL(config.http.publicUrl).hostname;
  // An IP literal or a single label (localhost) cannot collide with a customer domain.
  if (host.includes('.') && !/^[\d.]+$/.test(host) && !host.startsWith('[')) names.push(host);
  return names;
}

export async function assertDomainClaimable(db: DbOrTx, config: Config, domain: string): Promise<void> {
  if (reservedDomains(config).some((r) => related(domain, r))) {
    throw new ValidationError(`${domain} is reserved`, { errors: [{ path: 'json.domain', message: 'is a name the service itself uses' }] });
  }
  if (await domainOverlapsLiveServer(db, domain)) throw new ConflictError(`${domain} is already served by a mail server`, 'domain_taken');
}

/** True when a server that is not deleted serves this domain, a parent of it, or a name under it. */
export async function domainOverlapsLiveServer(db: DbOrTx, domain: string): Promise<boolean> {
  const [row] = await db
    .select({ id: servers.id })
    .from(servers)
    .where(
      and(
        ne(servers.status, 'deleted'),
        or(
          eq(servers.domain, domain),
          sql`right(${domain}::text, length(${servers.domain}) + 1) = '.' || ${servers.domain}`,
          sql`right(${servers.domain}, length(${domain}::text) + 1) = '.' || ${domain}::text`,
        ),
      ),
    )
    .limit(1);
  return row !== undefined;
}
