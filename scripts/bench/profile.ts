/**
 * Latency profiles for the emulators. REALISTIC is the real world scaled
 * down (server boot and package install in seconds instead of minutes, API
 * round trips as seen from a European data centre), so a provisioning run
 * takes seconds while keeping the shape of the real one: which steps are
 * long, which are short, and what can overlap.
 */
export interface LatencyProfile {
  /** Added to every Scaleway API request. */
  scalewayApiMs: number;
  /** Instance starting → running. */
  bootDelayMs: number;
  /** Added to every Cloudflare API request. */
  cloudflareApiMs: number;
  /** Every DNS answer (forward records, PTR) outside the DNSBL zones. */
  dnsMs: number;
  /** Per DNSBL zone: lists answer at very different speeds. */
  dnsblZoneMs: Readonly<Record<string, number>>;
  /** Every SSH command (a round trip to the host). */
  sshCommandMs: number;
  /** Added for each provisioning script, by file name. */
  scriptMs: Readonly<Record<string, number>>;
}

export const REALISTIC: LatencyProfile = {
  scalewayApiMs: 40,
  bootDelayMs: 2_000,
  cloudflareApiMs: 60,
  dnsMs: 5,
  dnsblZoneMs: {
    'zen.spamhaus.org': 40,
    'b.barracudacentral.org': 120,
    'bl.spamcop.net': 60,
    'psbl.surriel.com': 90,
    'bl.mailspike.net': 150,
    'ix.dnsbl.manitu.net': 200,
    'dnsbl-1.uceprotect.net': 250,
  },
  sshCommandMs: 20,
  scriptMs: {
    'install-mail-stack.sh': 3_000,
    'harden.sh': 800,
    'issue-tls.sh': 1_500,
    'tls-spki.sh': 30,
    'verify-services.sh': 300,
  },
};

export const ZERO: LatencyProfile = {
  scalewayApiMs: 0,
  bootDelayMs: 0,
  cloudflareApiMs: 0,
  dnsMs: 0,
  dnsblZoneMs: {},
  sshCommandMs: 0,
  scriptMs: {},
};
