/**
 * check_network: proves, from the server itself, what a receiver will see.
 *
 * 1. The host holds the addresses mailplane published (A, AAAA, SPF, PTR): for
 *    a routed IPv6 that is the SLAAC address, never an address nothing
 *    configured. A mismatch fails the step (retried a few times while the
 *    network comes up).
 * 2. Outbound SMTP gets through. Scaleway blocks ports 25/465/587 outbound on
 *    an account until its identity is verified and SMTP is enabled, and only
 *    Scaleway can lift it (`enable_default_security` is read-only through the
 *    API). A server that cannot send is not `ready`: the step waits (ops are
 *    alerted with what to do), re-checks periodically, and continues by itself
 *    once the block is lifted, spending no retries meanwhile.
 */
import { ProviderError } from '../../src/errors.ts';
import { sameIpv6 } from '../../src/providers/compute/scaleway-ipv6.ts';
import type { StepDefinition } from '../context.ts';
import { currentIps } from '../ips.ts';
import { withSession } from '../remote.ts';
import { WaitingError } from '../waiting.ts';

/** A well-known receiving MX that answers on 25 from anywhere not blocked. */
export const SMTP_PROBE_HOST = 'gmail-smtp-in.l.google.com';
// One line, the greeting, whatever its length: a fixed byte count waits out the timeout on a
// short banner and would report an open port as blocked (found on a real host).
const PROBE = `timeout 10 bash -c 'exec 3<>/dev/tcp/${SMTP_PROBE_HOST}/25 && head -n 1 <&3'`;

/** Addresses in `ip -o addr show scope global` output ("2: ens2    inet6 2001:db8::5/64 scope global …"). */
export function parseAddresses(output: string): string[] {
  return [...output.matchAll(/\binet6?\s+([0-9a-f.:]+)\//gi)].map((m) => m[1]!);
}

export const checkNetwork: StepDefinition = {
  name: 'check_network',
  maxAttempts: 5,
  async run({ deps, server, log }) {
    const ips = (await currentIps(deps, server.id)).filter((ip) => ip.state === 'active');
    const { held, probe } = await withSession(deps, server, async (session) => ({
      held: parseAddresses((await session.exec('ip -o addr show scope global', { timeoutMs: 30_000 })).stdout),
      probe: await session.exec(PROBE, { timeoutMs: 30_000, check: false }),
    }));
    const missing = ips.filter((ip) => !held.some((a) => (ip.family === 'ipv6' ? sameIpv6(a, ip.address) : a === ip.address)));
    if (missing.length > 0) {
      throw new ProviderError({ provider: 'host', retryable: true, code: 'address_not_on_host',
        detail: `the server does not hold ${missing.map((m) => m.address).join(', ')} (it holds ${held.join(', ') || 'nothing'})` });
    }
    log(`the host holds ${ips.map((ip) => ip.address).join(' and ')}`);
    if (probe.code === 0 && probe.stdout.startsWith('220')) {
      log(`outbound SMTP open: ${SMTP_PROBE_HOST} answered ${probe.stdout.trim().slice(0, 60)}`);
      return { addresses: held, outboundSmtp: 'open' };
    }
    throw new WaitingError({
      code: 'outbound_smtp_blocked', party: 'ops',
      message: `Outbound SMTP (port 25) is blocked for this server: mail cannot leave it yet.`,
      action: 'Scaleway blocks outbound SMTP until the account is verified: ops must complete the identity check and ask Scaleway support to enable SMTP (Console → Instances → Security groups). Provisioning continues by itself once it is open.',
      recheckMs: deps.settings.waitRecheckMs,
      details: { probe: SMTP_PROBE_HOST, exitCode: probe.code },
      alert: {
        kind: 'outbound_smtp_blocked', severity: 'warning', dedupeKey: `outbound_smtp_blocked:${server.id}`,
        message: `Server ${server.hostname} cannot send mail: Scaleway blocks outbound SMTP on the account. Verify the account's identity and ask Scaleway to enable SMTP; the server continues by itself.`,
        details: { serverId: server.id, zone: server.zone },
      },
    });
  },
};
