/**
 * The sandbox's small internet for real hosts, built from network namespaces:
 *
 *   root namespace (mailplane, DNS emulator, ACME CA, package proxy on UPLINK.root)
 *        │ veth  198.18.255.1/30 ↔ .2
 *   "<prefix>-inet" namespace: a router with a bridge; the gateway 198.18.0.1 and fe80::1
 *        │ bridge port per host (veth)
 *   "<prefix>-h-<id>" namespace per instance: eth0 with the addresses Scaleway assigned (/32, /128)
 *
 * Hosts reach each other and the root namespace's services through the router;
 * the root namespace reaches the hosts through a route to the address pool. The
 * inet namespace is also where the e2e tests stand when they judge a server "from
 * the internet". No NAT and no route to anything outside these namespaces.
 * 198.18.0.0/15 (RFC 2544) is used for the plumbing so it can never collide with
 * the machine's own network or with the instances' documentation-range addresses.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bigIntToIpv6 } from '../../providers/compute/scaleway-ipv6.ts';
import { eui64InterfaceId } from '../scaleway/slaac.ts';
import { run, tryRun } from './exec.ts';

/** The link-local address the kernel gives a NIC from its MAC (modified EUI-64). */
export const linkLocalOf = (mac: string) => bigIntToIpv6((0xfe80n << 112n) | eui64InterfaceId(mac));

export const UPLINK = { root: '198.18.255.1', inet: '198.18.255.2', root6: '2001:db8:ffff:ffff::1', inet6: '2001:db8:ffff:ffff::2' } as const;
export const GATEWAY = { ipv4: '198.18.0.1', ipv6: 'fe80::1', inet6: '2001:db8:ffff:fffe::1' } as const;
/**
 * Where the sandbox's control plane reaches its servers from: loopback (emulated hosts) and the
 * root namespace's uplink (real hosts). The servers' SSH is open to these only.
 */
export const SANDBOX_CONTROL_PLANE_ADDRESSES = ['127.0.0.1', '::1', UPLINK.root, UPLINK.root6];
/** What the root namespace routes into the sandbox internet: the instances' pools. */
export const HOST_POOLS = { ipv4: '198.51.100.0/24', ipv6: '2001:db8::/32' } as const;

export interface HostLink {
  netns: string;
  ipv4: string[];
  ipv6: string[];
}

export class SandboxNetwork {
  readonly inetNs: string;
  private readonly prefix: string;

  constructor(prefix = 'mp') {
    if (!/^[a-z][a-z0-9]{0,3}$/.test(prefix)) throw new Error('network prefix: 1-4 lowercase letters or digits');
    this.prefix = prefix;
    this.inetNs = `${prefix}-inet`;
  }

  private get bridge() {
    return `${this.prefix}br0`;
  }
  private get uplinkRoot() {
    return `${this.prefix}-up`;
  }

  hostNetns(id: string): string {
    return `${this.prefix}-h-${short(id)}`;
  }

  /** Creates the router namespace and the uplink (idempotent: an existing one is rebuilt). */
  async up(): Promise<void> {
    await this.down();
    const ns = this.inetNs;
    await run('ip', ['netns', 'add', ns]);
    await nsSysctl(ns, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'link', 'add', this.bridge, 'type', 'bridge']);
    await run('ip', ['-n', ns, 'addr', 'add', `${GATEWAY.ipv4}/32`, 'dev', this.bridge]);
    await run('ip', ['-n', ns, 'addr', 'add', `${GATEWAY.ipv6}/64`, 'dev', this.bridge, 'nodad']);
    await run('ip', ['-n', ns, 'addr', 'add', `${GATEWAY.inet6}/128`, 'dev', this.bridge, 'nodad']);
    await run('ip', ['-n', ns, 'link', 'set', this.bridge, 'up']);
    // Uplink to the root namespace, where mailplane and the sandbox's services run.
    await run('ip', ['link', 'add', this.uplinkRoot, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', ns]);
    await run('ip', ['addr', 'add', `${UPLINK.root}/30`, 'dev', this.uplinkRoot]);
    await run('ip', ['addr', 'add', `${UPLINK.root6}/64`, 'dev', this.uplinkRoot, 'nodad']);
    await run('ip', ['link', 'set', this.uplinkRoot, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${UPLINK.inet}/30`, 'dev', 'uplink']);
    await run('ip', ['-n', ns, 'addr', 'add', `${UPLINK.inet6}/64`, 'dev', 'uplink', 'nodad']);
    await run('ip', ['-n', ns, 'link', 'set', 'uplink', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', UPLINK.root]);
    await run('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', UPLINK.root6]);
    await run('ip', ['route', 'replace', HOST_POOLS.ipv4, 'via', UPLINK.inet]);
    await run('ip', ['-6', 'route', 'replace', HOST_POOLS.ipv6, 'via', UPLINK.inet6]);
    // `ip netns exec` puts /etc/netns/<ns>/resolv.conf in place of /etc/resolv.conf: programs
    // run in the sandbox internet resolve through the DNS emulator, not the machine's resolver
    // (unreachable from there: every lookup would time out).
    await mkdir(this.etcDir, { recursive: true });
    await writeFile(join(this.etcDir, 'resolv.conf'), `nameserver ${UPLINK.root}\n`);
  }

  private get etcDir(): string {
    return `/etc/netns/${this.inetNs}`;
  }

  async down(): Promise<void> {
    await tryRun('ip', ['route', 'del', HOST_POOLS.ipv4, 'via', UPLINK.inet]);
    await tryRun('ip', ['-6', 'route', 'del', HOST_POOLS.ipv6, 'via', UPLINK.inet6]);
    await tryRun('ip', ['link', 'del', this.uplinkRoot]);
    if (existsSync(`/run/netns/${this.inetNs}`)) await tryRun('ip', ['netns', 'del', this.inetNs]);
    await rm(this.etcDir, { recursive: true, force: true });
  }

  /**
   * A namespace for one instance, plugged into the router, holding the instance's addresses.
   * `mac`: the instance's NIC address, kept across reboots as a real instance's is. A new one at
   * every boot left the router's neighbour entry pointing at the old NIC for a while after a
   * reboot, so the host was unreachable on an address nothing had spoken to since.
   */
  async attachHost(id: string, addresses: { ipv4: string[]; ipv6: string[]; ipv6Prefixes?: string[] }, mac: string): Promise<HostLink> {
    const netns = this.hostNetns(id);
    await this.detachHost(id);
    const port = `${this.prefix}p${short(id)}`;
    const inside = `${this.prefix}c${short(id)}`;
    await run('ip', ['netns', 'add', netns]);
    // No DAD: the router reaches the host through its link-local address as soon as the link is up.
    await nsSysctl(netns, [
      'net.ipv6.conf.all.accept_ra=0',
      'net.ipv6.conf.default.accept_ra=0',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ]);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', inside, 'address', mac]);
    await run('ip', ['link', 'set', port, 'netns', this.inetNs]);
    await run('ip', ['-n', this.inetNs, 'link', 'set', port, 'master', this.bridge, 'up']);
    await run('ip', ['link', 'set', inside, 'netns', netns]);
    await run('ip', ['-n', netns, 'link', 'set', inside, 'name', 'eth0']);
    await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    for (const a of addresses.ipv4) {
      await run('ip', ['-n', netns, 'addr', 'add', `${a}/32`, 'dev', 'eth0']);
      await run('ip', ['-n', this.inetNs, 'route', 'replace', `${a}/32`, 'dev', this.bridge]);
    }
    for (const a of addresses.ipv6) {
      await run('ip', ['-n', netns, 'addr', 'add', `${a}/128`, 'dev', 'eth0', 'nodad']);
      await run('ip', ['-n', this.inetNs, '-6', 'route', 'replace', `${a}/128`, 'dev', this.bridge]);
    }
    // A routed prefix goes to the instance's NIC (its link-local address, from the MAC) as
    // Scaleway routes it: any address the host configures in it answers, and after a rebuild
    // the route follows the prefix to the new instance.
    for (const prefix of addresses.ipv6Prefixes ?? []) {
      await run('ip', ['-n', this.inetNs, '-6', 'route', 'replace', prefix, 'via', linkLocalOf(mac), 'dev', this.bridge]);
    }
    await run('ip', ['-n', netns, 'route', 'add', `${GATEWAY.ipv4}/32`, 'dev', 'eth0']);
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', GATEWAY.ipv4, 'dev', 'eth0']);
    await run('ip', ['-n', netns, '-6', 'route', 'add', 'default', 'via', GATEWAY.ipv6, 'dev', 'eth0']);
    return { netns, ...addresses };
  }

  async detachHost(id: string): Promise<void> {
    const netns = this.hostNetns(id);
    // The bridge port disappears with its peer when the namespace goes; routes to it with it.
    if (existsSync(`/run/netns/${netns}`)) await tryRun('ip', ['netns', 'del', netns]);
    await tryRun('ip', ['-n', this.inetNs, 'link', 'del', `${this.prefix}p${short(id)}`]);
  }

  /**
   * The provider's outbound SMTP block, enforced where a cloud enforces it: on the way
   * out of the hosts' network. The router refuses connections to ports 25, 465 and 587
   * from the given hosts' addresses (those whose security group is blocked) and forwards
   * everyone else's.
   */
  async setOutboundSmtpBlocked(sources: { ipv4: string[]; ipv6: string[] }): Promise<void> {
    await tryRun('ip', ['netns', 'exec', this.inetNs, 'nft', 'delete', 'table', 'inet', 'provider_smtp_block']);
    if (sources.ipv4.length === 0 && sources.ipv6.length === 0) return;
    const rule = (family: 'ip' | 'ip6', addresses: string[]) =>
      addresses.length === 0
        ? []
        : [`    iifname "${this.bridge}" ${family} saddr { ${addresses.join(', ')} } tcp dport { 25, 465, 587 } reject with tcp reset`];
    const rules = [
      'table inet provider_smtp_block {',
      '  chain forward {',
      '    type filter hook forward priority 0; policy accept;',
      ...rule('ip', sources.ipv4),
      ...rule('ip6', sources.ipv6),
      '  }',
      '}',
      '',
    ].join('\n');
    await run('ip', ['netns', 'exec', this.inetNs, 'nft', '-f', '-'], { input: rules });
  }
}

/** Interface names are at most 15 bytes: 8 hex digits of the id identify a host well enough. */
function short(id: string): string {
  return id.replace(/-/g, '').slice(0, 8);
}

async function nsSysctl(netns: string, settings: string[]): Promise<void> {
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', ...settings]);
}
