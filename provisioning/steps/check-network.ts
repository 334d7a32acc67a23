/**
 * check_network: proves, from the server itself, what a receiver will see.
 *
 * 1. The host holds the addresses mailplane published (A, AAAA, SPF, PTR): for
 *    a routed IPv6 that is the SLAAC address, never an address nothing
 *    configured. A mismatch fails the step (retried a few times while the
 *    network comes up).
 * 2. Outbound SMTP gets through. Scaleway blocks ports 25/465/587 outbound
 *    per security group (`enable_default_security: true`). The block can be
 *    lifted only once the account's identity is verified, and lifting it is
 *    asked per group ("Enable SMTP" in the console, or the API): a group
 *    created before the account was verified stays blocked. So when the probe
 *    finds port 25 shut, the step asks again on the server's own group and
 *    probes once more; if Scaleway still refuses, the server is not `ready`:
 *    the step waits (ops are alerted with what to do), re-checks and re-asks
 *    periodically, and continues by itself, spending no retries meanwhile.
 */
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import { sameIpv6 } from '../../src/providers/compute/scaleway-ipv6.ts';
import type { StepContext, StepDefinition } from '../context.ts';
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

const smtpOpen = (probe: { code: number; stdout: string }) => probe.code === 0 && probe.stdout.startsWith('220');

/**
 * Asks the provider to lift the SMTP block on the server's own security group (the one the
 * instance really uses). Returns the group id and whether it is still blocked; null when the
 * instance has no group mailplane can ask about.
 */
async function requestSmtpOnGroup({ deps, server, log }: StepContext): Promise<{ groupId: string; blocked: boolean } | null> {
  const zone = server.zone as Zone;
  const instance = server.providerServerId ? await deps.compute.getServer(zone, server.providerServerId) : null;
  const groupId = instance?.securityGroupId ?? null;
  if (!groupId) return null;
  try {
    const group = await deps.compute.requestOutboundSmtp(zone, groupId);
    log(
      `asked Scaleway to enable SMTP on security group ${groupId}: ${group.smtpBlockedByProvider ? 'still blocked (the account may not send mail yet)' : 'enabled'}`,
    );
    return { groupId, blocked: group.smtpBlockedByProvider };
  } catch (err) {
    // A refusal (e.g. the project's default group, not ours to change) is not a verdict on the server: keep waiting.
    if (err instanceof ProviderError && !err.retryable) {
      log(`could not ask for SMTP on security group ${groupId}: ${err.detail}`);
      return { groupId, blocked: true };
    }
    throw err;
  }
}

export const checkNetwork: StepDefinition = {
  name: 'check_network',
  maxAttempts: 5,
  async run(ctx) {
    const { deps, server, log } = ctx;
    const ips = (await currentIps(deps, server.id)).filter((ip) => ip.state === 'active');
    const first = await withSession(deps, server, async (session) => ({
      held: parseAddresses((await session.exec('ip -o addr show scope global', { timeoutMs: 30_000 })).stdout),
      probe: await session.exec(PROBE, { timeoutMs: 30_000, check: false }),
    }));
    const { held } = first;
    let { probe } = first;
    const missing = ips.filter((ip) => !held.some((a) => (ip.family === 'ipv6' ? sameIpv6(a, ip.address) : a === ip.address)));
    if (missing.length > 0) {
      throw new ProviderError({
        provider: 'host',
        retryable: true,
        code: 'address_not_on_host',
        detail: `the server does not hold ${missing.map((m) => m.address).join(', ')} (it holds ${held.join(', ') || 'nothing'})`,
      });
    }
    log(`the host holds ${ips.map((ip) => ip.address).join(' and ')}`);
    let group: { groupId: string; blocked: boolean } | null = null;
    if (!smtpOpen(probe)) {
      group = await requestSmtpOnGroup(ctx);
      if (group && !group.blocked) probe = await withSession(deps, server, (session) => session.exec(PROBE, { timeoutMs: 30_000, check: false }));
    }
    if (smtpOpen(probe)) {
      log(`outbound SMTP open: ${SMTP_PROBE_HOST} answered ${probe.stdout.trim().slice(0, 60)}`);
      return { addresses: held, outboundSmtp: 'open' };
    }
    const where = group ? `security group ${group.groupId} in ${server.zone}` : `the server's security group in ${server.zone}`;
    // What Scaleway's console offers: the identity check, then "Enable SMTP" on each security group.
    const consoleSteps = `complete the Organization's identity verification in the Scaleway console, then tick "Enable SMTP" on ${where} (Console → CPU & GPU Instances → Security groups); mailplane asks for it through the API at every check`;
    throw new WaitingError({
      code: 'outbound_smtp_blocked',
      party: 'ops',
      message: `Outbound SMTP (port 25) is blocked for this server: mail cannot leave it yet.`,
      action: `Scaleway blocks outbound SMTP per security group until the account's identity is verified: ${consoleSteps}. Provisioning continues by itself once it is open.`,
      recheckMs: deps.settings.waitRecheckMs,
      details: { probe: SMTP_PROBE_HOST, exitCode: probe.code, securityGroupId: group?.groupId ?? null, groupStillBlocked: group?.blocked ?? null },
      alert: {
        kind: 'outbound_smtp_blocked',
        severity: 'warning',
        dedupeKey: `outbound_smtp_blocked:${server.id}`,
        message: `Server ${server.hostname} cannot send mail: Scaleway blocks outbound SMTP on ${where} and refused to enable SMTP there. To let Scaleway enable SMTP, ${consoleSteps}. The server continues by itself.`,
        details: { serverId: server.id, zone: server.zone, securityGroupId: group?.groupId ?? null },
      },
    });
  },
};
