/**
 * What a machine learns from its provider's network rather than from its image
 * (DHCP's resolver, the mirror's address), written onto a new machine's disk
 * before its first boot. Kept out of the image so the sandbox's plumbing can
 * change without rebuilding it, and never on later boots: by then the server
 * owns these files (install-mail-stack.sh points resolv.conf at its own unbound).
 */
import { APT_PROXY_PORT, DNS_PORT } from './image.ts';
import { UPLINK } from './network.ts';

export interface ProviderFile {
  path: string;
  content: string;
  mode: number;
}

export function providerFiles(): ProviderFile[] {
  return [
    { path: 'etc/resolv.conf', content: `nameserver ${UPLINK.root}\n`, mode: 0o644 },
    { path: 'etc/apt/apt.conf.d/01sandbox-proxy', content: `Acquire::http::Proxy "http://${UPLINK.root}:${APT_PROXY_PORT}";\n`, mode: 0o644 },
    // The server's own resolver (unbound) recurses from the root servers in production.
    // The sandbox has no root servers and its zones are unsigned: forward every question
    // to the DNS emulator and run unbound without its validator (with it, every unsigned
    // answer below the real root's trust anchor would be bogus).
    {
      path: 'etc/unbound/unbound.conf.d/zz-sandbox-upstream.conf',
      mode: 0o644,
      content: [
        '# Sandbox only: written by the sandbox onto the machine, not by mailplane.',
        // The sandbox's domains are under .test, which unbound answers NXDOMAIN by default (RFC 6761),
        // and its hosts' addresses are documentation ranges (198.51.100.0/24, 2001:db8::/32) whose
        // reverse zones unbound also answers itself (RFC 6303): without these, no server could read
        // another's PTR, and Postfix and Rspamd would see every peer as "unknown".
        'server:',
        '    module-config: "iterator"',
        '    do-not-query-localhost: no',
        '    local-zone: "test." nodefault',
        '    local-zone: "100.51.198.in-addr.arpa." nodefault',
        '    local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault',
        'forward-zone:',
        '    name: "."',
        `    forward-addr: ${UPLINK.root}@${DNS_PORT}`,
        '',
      ].join('\n'),
    },
    // cloud-init reads mailplane's user data from a NoCloud seed; the provider's network gives the addresses.
    { path: 'etc/cloud/cloud.cfg.d/90-sandbox.cfg', content: 'datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\n', mode: 0o644 },
  ];
}
