/**
 * Where each file of `templates/` goes on a server, and with which mode. Files
 * whose path depends on the input (the DKIM key) or whose content is not a
 * template (keys, the MTA-STS policy) are added by render.ts.
 */
export interface TemplateEntry {
  /** Relative to templates/. */
  template: string;
  /** Absolute path on the server. */
  path: string;
  mode: number;
  /** Holds a secret: drift reports compare its digest but never show its content. */
  secret?: boolean;
}

export const SCRIPT_DIR = '/opt/mailplane/bin';

const config = (template: string, path: string, mode = 0o644): TemplateEntry => ({ template, path, mode });
const script = (name: string): TemplateEntry => ({ template: `scripts/${name}`, path: `${SCRIPT_DIR}/${name}`, mode: 0o755 });

export const TEMPLATE_MANIFEST: readonly TemplateEntry[] = [
  config('postfix/main.cf', '/etc/postfix/main.cf'),
  config('postfix/master.cf', '/etc/postfix/master.cf'),
  config('postfix/unauthenticated_senders', '/etc/postfix/unauthenticated_senders'),
  config('dovecot/dovecot.conf', '/etc/dovecot/dovecot.conf'),
  // Issue 23's mail guard: app passwords, spam filing and learning, quota (mailplane-guard.conf).
  config('dovecot/mailplane-guard.conf', '/etc/dovecot/mailplane-guard.conf'),
  config('dovecot/mailplane-auth-used.lua', '/etc/dovecot/mailplane-auth-used.lua'),
  config('dovecot/mailplane-auth-failed.lua', '/etc/dovecot/mailplane-auth-failed.lua'),
  config('dovecot/sieve/spam-to-junk.sieve', '/etc/dovecot/sieve/spam-to-junk.sieve'),
  config('dovecot/sieve/learn-spam.sieve', '/etc/dovecot/sieve/learn-spam.sieve'),
  config('dovecot/sieve/learn-ham.sieve', '/etc/dovecot/sieve/learn-ham.sieve'),
  config('mail-guard/rspamd-learn-spam.sh', '/opt/mailplane/libexec/sieve-pipe/rspamd-learn-spam.sh', 0o755),
  config('mail-guard/rspamd-learn-ham.sh', '/opt/mailplane/libexec/sieve-pipe/rspamd-learn-ham.sh', 0o755),
  config('mail-guard/quota-warning.sh', '/opt/mailplane/libexec/quota-warning.sh', 0o755),
  config('fail2ban/mailplane-auth.conf', '/etc/fail2ban/filter.d/mailplane-auth.conf'),
  config('dovecot/conf.d/addresses.conf', '/etc/dovecot/conf.d/mailplane-addresses.conf'),
  config('postsrsd/postsrsd', '/etc/default/postsrsd'),
  config('rspamd/worker-proxy.inc', '/etc/rspamd/local.d/worker-proxy.inc'),
  config('rspamd/dkim_signing.conf', '/etc/rspamd/local.d/dkim_signing.conf'),
  config('rspamd/redis.conf', '/etc/rspamd/local.d/redis.conf'),
  config('rspamd/ratelimit.conf', '/etc/rspamd/local.d/ratelimit.conf'),
  config('rspamd/actions.conf', '/etc/rspamd/local.d/actions.conf'),
  config('rspamd/milter_headers.conf', '/etc/rspamd/local.d/milter_headers.conf'),
  config('nginx/nginx.conf', '/etc/nginx/nginx.conf'),
  config('unbound/mailplane.conf', '/etc/unbound/unbound.conf.d/mailplane.conf'),
  config('ssh/sshd_config', '/etc/ssh/sshd_config'),
  config('nftables/nftables.conf', '/etc/nftables.conf', 0o755),
  config('fail2ban/mailplane.local', '/etc/fail2ban/jail.d/mailplane.local'),
  config('fail2ban/fail2ban.local', '/etc/fail2ban/fail2ban.d/mailplane.local'),
  config('mta-sts/mta-sts-daemon.yml', '/etc/mta-sts-daemon.yml'),
  config('journald/mailplane.conf', '/etc/systemd/journald.conf.d/mailplane.conf'),
  config('apt/20auto-upgrades', '/etc/apt/apt.conf.d/20auto-upgrades'),
  config('apt/52mailplane-unattended-upgrades', '/etc/apt/apt.conf.d/52mailplane-unattended-upgrades'),
  config('roundcube/mailplane.inc.php', '/etc/roundcube/mailplane.inc.php'),
  config('roundcube/mailplane_autologin.php', '/var/lib/roundcube/plugins/mailplane_autologin/mailplane_autologin.php'),
  config('systemd/mailplane-webmail-login.service', '/etc/systemd/system/mailplane-webmail-login.service'),
  config('systemd/mailplane-ipv6.service', '/etc/systemd/system/mailplane-ipv6.service'),
  config('network/ipv6-address', '/etc/mailplane/ipv6-address'),
  config('webmail/webmail-login.py', '/opt/mailplane/libexec/webmail-login.py', 0o755),
  config('letsencrypt/deploy-hook.sh', '/etc/letsencrypt/renewal-hooks/deploy/mailplane.sh', 0o755),
  config('backup/backup-manifest.py', '/opt/mailplane/libexec/backup-manifest.py', 0o755),
  config('fleet/host-state.py', '/opt/mailplane/libexec/host-state.py', 0o755),
  script('apt-lib.sh'),
  script('deploy-user.sh'),
  script('install-mail-stack.sh'),
  script('ipv6-address.sh'),
  script('harden.sh'),
  script('issue-tls.sh'),
  script('tls-deploy.sh'),
  script('tls-spki.sh'),
  script('tls-lineage.sh'),
  script('verify-services.sh'),
  script('dkim-apply.sh'),
  script('tls-rollover.sh'),
  script('apply-mailboxes.sh'),
  script('mailbox-usage.sh'),
  script('apply-addresses.sh'),
  script('backup.sh'),
  script('restore-mailbox.sh'),
  script('import-mailbox.sh'),
  script('restore-server.sh'),
  script('host-state.sh'),
];
