/**
 * The server side of its health: the certificate's remaining validity and the mail ports
 * answering (its IPs against the DNSBL zones: blacklist-check.ts).
 */
import { result, type CheckResult } from './check-types.ts';
import type { DnsFacts } from './dns-checks.ts';
import type { ServiceProbe } from './probe.ts';

export const MAIL_PORTS = [25, 465, 587, 993, 443] as const;
const MIN_CERT_DAYS = 14;

export async function certificateCheck(probe: ServiceProbe, f: DnsFacts, now: Date): Promise<CheckResult> {
  const host = f.server.ipv4;
  const cert = host ? await probe.certificate(host, 465, f.server.hostname) : null;
  if (!cert) return result('certificate', 'fail', 'No certificate could be read on port 465.', 'Ask support to re-run the issue_tls step.');
  const days = Math.floor((cert.validTo.getTime() - now.getTime()) / 86_400_000);
  const covers = cert.names.map((n) => n.toLowerCase()).includes(f.server.hostname.toLowerCase());
  if (!covers)
    return result('certificate', 'fail', `The certificate does not name ${f.server.hostname}.`, 'Ask support to re-run the issue_tls step.', {
      names: cert.names,
    });
  // Mail clients check the chain as browsers do: a self-signed or staging certificate fails them whatever its dates.
  if (cert.untrusted) {
    return result(
      'certificate',
      'fail',
      `Mail clients would refuse the certificate on port 465 (${cert.untrusted}).`,
      'Ask support to re-run the issue_tls step.',
      { untrusted: cert.untrusted, names: cert.names },
    );
  }
  return result(
    'certificate',
    days > MIN_CERT_DAYS ? 'pass' : 'fail',
    `Valid for ${days} more days (until ${cert.validTo.toISOString().slice(0, 10)}).`,
    'Renewal should have happened by now: ask support to re-run the issue_tls step.',
    { validTo: cert.validTo.toISOString(), days },
  );
}

export async function portsCheck(probe: ServiceProbe, f: DnsFacts): Promise<CheckResult> {
  // Both families: the MX name has an AAAA too, and a firewall can block one family only.
  const hosts = [f.server.ipv4, f.server.ipv6].filter((h): h is string => Boolean(h));
  if (hosts.length === 0) return result('ports', 'unknown', 'The server has no IP address yet.', 'Wait for provisioning to allocate addresses.');
  const tried = await Promise.all(hosts.flatMap((host) => MAIL_PORTS.map(async (port) => ({ host, port, state: await probe.portState(host, port) }))));
  const shut = tried.filter((t) => t.state === 'closed');
  const unasked = [...new Set(tried.filter((t) => t.state === 'no-route').map((t) => t.host))];
  const closed = [...new Set(shut.map((t) => t.port))];
  const where = (port: number) => {
    const on = shut.filter((t) => t.port === port).map((t) => t.host);
    return on.length === hosts.length ? `${port}` : `${port} (on ${on.join(', ')})`;
  };
  const details = { closed, closedOn: shut.map((t) => `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`), notChecked: unasked };
  if (closed.length > 0) {
    return result(
      'ports',
      'fail',
      `Port${closed.length > 1 ? 's' : ''} ${closed.map(where).join(', ')} do${closed.length > 1 ? '' : 'es'} not answer.`,
      'Contact support: a mail service on the server is down or the firewall blocks it.',
      details,
    );
  }
  const answered = hosts.filter((h) => !unasked.includes(h));
  // No route from the control plane (an IPv4-only host asking IPv6) is our blind spot, not the server's fault: never a failure, never mailed.
  if (unasked.length > 0) {
    return result(
      'ports',
      'unknown',
      `Ports ${MAIL_PORTS.join(', ')} answer on ${answered.join(' and ') || 'no address we can reach'}; ${unasked.join(' and ')} could not be asked (no route from mailplane).`,
      "Nothing to do on your side: mailplane's own network cannot reach that address family.",
      details,
    );
  }
  return result('ports', 'pass', `Ports ${MAIL_PORTS.join(', ')} answer on ${hosts.join(' and ')}.`, null, details);
}
