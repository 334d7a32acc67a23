/**
 * The mail stack's Debian packages: the one list install-mail-stack.sh,
 * harden.sh and the image bake (bake-image.sh) install, in their order
 * (php-fpm before Roundcube, so Roundcube's PHP is FPM and not Apache's
 * module). The digest names what an image holds: a server only boots from
 * an image whose digest is the current one, and a change to the list or to
 * the bake recipe makes a new digest, hence a new bake.
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
    'ca-certificates', 'openssl', 'unbound', 'dns-root-data', 'postfix', 'postfix-mta-sts-resolver', 'dovecot-core', 'dovecot-imapd',
    'dovecot-lmtpd', 'rspamd', 'redis-server', 'nginx', 'certbot', 'python3', 'nftables', 'logrotate', 'restic',
  ],
  php: ['php-fpm'],
  // roundcube-plugins: archive and zipdownload (only a Suggests).
  webmail: ['roundcube-core', 'roundcube-sqlite3', 'roundcube-plugins'],
  // python3-systemd: fail2ban reads the journal (Debian 12 has no auth.log).
  harden: ['nftables', 'fail2ban', 'python3-systemd', 'unattended-upgrades', 'openssh-server'],
} as const satisfies Record<string, readonly string[]>;

/** The placeholders the scripts use for each group (space-separated names). */
export function packageTemplateValues(): Record<string, string> {
  return {
    mailPackages: PACKAGE_GROUPS.mail.join(' '),
    phpPackages: PACKAGE_GROUPS.php.join(' '),
    webmailPackages: PACKAGE_GROUPS.webmail.join(' '),
    hardenPackages: PACKAGE_GROUPS.harden.join(' '),
  };
}

const BAKE_SCRIPT = new URL('../../templates/scripts/bake-image.sh', import.meta.url);

/**
 * 12 hex digits over the package groups and the bake recipe: what a baked image is tagged with.
 * The recipe is part of it because a change in what the bake removes or disables is a new image too.
 */
export function packageDigest(): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(PACKAGE_GROUPS));
  hash.update(readFileSync(BAKE_SCRIPT));
  return hash.digest('hex').slice(0, 12);
}
