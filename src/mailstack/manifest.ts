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
}

export const SCRIPT_DIR = '/opt/mailplane/bin';

const config = (template: string, path: string, mode = 0o644): TemplateEntry => ({ template, path, mode });
const script = (name: string): TemplateEntry => ({ template: `scripts/${name}`, path: `${SCRIPT_DIR}/${name}`, mode: 0o755 });

export const TEMPLATE_MANIFEST: readonly TemplateEntry[] = [
  config('postfix/main.cf', '/etc/postfix/main.cf'),
  config('postfix/master.cf', '/etc/postfix/master.cf'),
  config('postfix/unauthenticated_senders', '/etc/postfix/unauthenticated_senders'),
  config('dovecot/dovecot.conf', '/etc/dovecot/dovecot.conf'),
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
  config('webmail/webmail-login.py', '/opt/mailplane/libexec/webmail-login.py', 0o755),
  config('letsencrypt/deploy-hook.sh', '/etc/letsencrypt/renewal-hooks/deploy/mailplane.sh', 0o755),
  config('backup/backup-manifest.py', '/opt/mailplane/libexec/backup-manifest.py', 0o755),
  script('apt-lib.sh'),
  script('install-mail-stack.sh'),
  script('harden.sh'),
  script('issue-tls.sh'),
  script('tls-deploy.sh'),
  script('tls-spki.sh'),
  script('tls-lineage.sh'),
  script('verify-services.sh'),
  script('apply-mailboxes.sh'),
  script('apply-addresses.sh'),
  script('backup.sh'),
  script('restore-mailbox.sh'),
  script('restore-server.sh'),
];
