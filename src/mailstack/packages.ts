/**
 * The Debian packages and services of the mail stack, as install-mail-stack.sh and harden.sh
 * install and start them (a unit test keeps these lists and the scripts in step). They are part
 * of a stack version's digest, and the drift check asks each host for their versions and states.
 */
export const MAIL_STACK_PACKAGES = [
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
  'php-fpm',
  'roundcube-core',
  'roundcube-sqlite3',
  'roundcube-plugins',
  'fail2ban',
  'python3-systemd',
  'unattended-upgrades',
  'openssh-server',
  // Issue 23: Sieve (filing, learning, forwarding, vacation), ManageSieve, Lua passdbs (app passwords), SRS.
  'dovecot-sieve',
  'dovecot-managesieved',
  'dovecot-auth-lua',
  'postsrsd',
] as const;

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
