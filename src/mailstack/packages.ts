/**
 * The mail stack's Debian packages and services. PACKAGE_GROUPS is the one list
 * install-mail-stack.sh, harden.sh and the image bake (bake-image.sh) install,
 * group by group in this order (php-fpm before Roundcube, so Roundcube's PHP is
 * FPM and not Apache's module); the scripts get each group through a placeholder.
 * The list is part of a stack version's digest (stack.ts), the drift check asks
 * each host for its packages' versions, and packageDigest() names what an image
 * holds: a server only boots from an image whose digest is the current one, and
 * a change to the list or to the bake recipe makes a new digest, hence a new bake.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const PACKAGE_GROUPS = {
  /*
   * dns-root-data: unbound's root trust anchor (only a Recommends, and installs skip those).
   * postfix-mta-sts-resolver: outbound MTA-STS (main.cf smtp_tls_policy_maps). logrotate: nginx's
   * and Roundcube's log files rotate by their packages' rules (minimal images lack it).
   */
  mail: [
    'ca-certificates',
    'openssl',
    'unbound',
    'dns-root-data',
    'postfix',
    'postfix-mta-sts-resolver',
    'dovecot-core',
    'dovecot-imapd',
    'dovecot-lmtpd',
    'rspamd',
    'redis-server',
    'nginx',
    'certbot',
    'python3',
    'nftables',
    'logrotate',
    'restic',
  ],
  php: ['php-fpm'],
  // roundcube-plugins: archive and zipdownload (only a Suggests).
  webmail: ['roundcube-core', 'roundcube-sqlite3', 'roundcube-plugins'],
  // Addresses: Sieve at delivery, ManageSieve (forwarding, vacation, filters), SRS for forwarded mail.
  addresses: ['dovecot-sieve', 'dovecot-managesieved', 'postsrsd'],
  // The mail guard: Sieve files spam into Junk and learns from moves; Lua passdbs (app passwords).
  guard: ['dovecot-sieve', 'dovecot-auth-lua'],
  // python3-systemd: fail2ban reads the journal (Debian 12 has no auth.log).
  harden: ['nftables', 'fail2ban', 'python3-systemd', 'unattended-upgrades', 'openssh-server'],
} as const satisfies Record<string, readonly string[]>;

/** Every package of the stack once, in install order. */
export const MAIL_STACK_PACKAGES: readonly string[] = [...new Set(Object.values(PACKAGE_GROUPS).flat())];

/** Units that run (or, for nftables, stay loaded) on every server: verify-services.sh checks the same list. */
export const MAIL_STACK_SERVICES = [
  'postfix',
  'postfix-mta-sts-resolver',
  'dovecot',
  'rspamd',
  'redis-server',
  'unbound',
  'nginx',
  'php8.2-fpm',
  'mailplane-webmail-login',
  'nftables',
  'fail2ban',
  'postsrsd',
] as const;

/** The placeholders the scripts use for each group (space-separated names): {{mailPackages}}, … */
export function packageTemplateValues(): Record<string, string> {
  return Object.fromEntries(Object.entries(PACKAGE_GROUPS).map(([group, names]) => [`${group}Packages`, names.join(' ')]));
}

const BAKE_SCRIPT = new URL('../../templates/scripts/bake-image.sh', import.meta.url);

/**
 * 12 hex digits over the package groups and the bake recipe: what a baked image is tagged with.
 * The recipe is part of it because a change in what the bake removes or disables is a new image too.
 */
export function packageDigest(
  groups: Readonly<Record<string, readonly string[]>> = PACKAGE_GROUPS,
  recipe: string | Buffer = readFileSync(BAKE_SCRIPT),
): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(groups));
  hash.update(recipe);
  return hash.digest('hex').slice(0, 12);
}
