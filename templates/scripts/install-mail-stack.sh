#!/usr/bin/env bash
# install-mail-stack.sh for {{hostname}}, rendered by mailplane.
# Installs the mail stack on Debian 12 and (re)starts it on the configuration the
# control plane uploaded just before. Safe to run again: every step checks the
# current state first, and nothing is appended blindly.
set -euo pipefail
umask 022

readonly MAIL_HOSTNAME='{{hostname}}'
readonly DKIM_KEY='{{dkimKeyPath}}'
readonly TLS_DIR=/etc/mailplane/tls
readonly WEBMAIL_KEY=/etc/mailplane/webmail/hmac.key
readonly MASTER_USER=webmail-autologin

# Each line says how long after the script's start it was written (support reads where the time went).
readonly STARTED_US="${EPOCHREALTIME/[.,]/}"
log() {
  local ms=$(((${EPOCHREALTIME/[.,]/} - STARTED_US) / 1000))
  printf 'install-mail-stack: %s (+%d.%03d s)\n' "$*" $((ms / 1000)) $((ms % 1000))
}

export DEBIAN_FRONTEND=noninteractive
# Our files are already in place: keep them when a package ships the same conffile.
export UCF_FORCE_CONFFOLD=1
# shellcheck source=/dev/null # uploaded beside this script
source /opt/mailplane/bin/apt-lib.sh

# Packages install with their services held back (Debian's policy-rc.d): our
# configuration is already in place and refers to users, keys and certificates
# that exist only once this script has made them; services start at the end.
hold_services() { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; }
release_services() { rm -f /usr/sbin/policy-rc.d; }
trap release_services EXIT

install_packages() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    hold_services
    apt_retry update -q
    apt_retry install "${APT_OPTS[@]}" "${missing[@]}"
    release_services
  fi
}

# A run cut short (the machine died mid-install) leaves dpkg half-done: finish it first.
if [ -n "$(dpkg --audit 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]; then
  log 'finishing an interrupted package installation'
  hold_services
  dpkg --configure -a || true
  # A package cut off while unpacking is half-installed or marked reinstall-required
  # ("very bad inconsistent state"): configuring cannot finish it, reinstalling does.
  mapfile -t reinstall < <(dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' 2>/dev/null \
    | awk 'substr($1, 2, 1) == "H" || substr($1, 3, 1) == "R" { print $2 }')
  if [ "${#reinstall[@]}" -gt 0 ]; then
    log "reinstalling ${reinstall[*]}"
    apt_retry install --reinstall "${APT_OPTS[@]}" "${reinstall[@]}"
  fi
  apt_retry install -f "${APT_OPTS[@]}"
  release_services
fi

# What the packages' configuration refers to exists before they are installed:
# the mail storage user (Dovecot), the certificate (Postfix, Dovecot, nginx).
if ! id vmail >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/vmail --no-create-home --shell /usr/sbin/nologin vmail
fi
install -d -o vmail -g vmail -m 0750 /var/vmail
# A placeholder certificate until issue-tls.sh has one from ACME: the services
# need a certificate to start, and nginx must run to answer the HTTP-01 challenge.
install -d -o root -g root -m 0755 /etc/mailplane
install -d -o root -g root -m 0700 "$TLS_DIR"
if [ ! -s "$TLS_DIR/privkey.pem" ] || [ ! -s "$TLS_DIR/fullchain.pem" ]; then
  log 'creating a placeholder self-signed certificate'
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=$MAIL_HOSTNAME" -addext "subjectAltName=DNS:$MAIL_HOSTNAME" \
    -keyout "$TLS_DIR/privkey.pem.new" -out "$TLS_DIR/fullchain.pem.new" 2>/dev/null
  chmod 0600 "$TLS_DIR/privkey.pem.new"
  mv -f "$TLS_DIR/privkey.pem.new" "$TLS_DIR/privkey.pem"
  mv -f "$TLS_DIR/fullchain.pem.new" "$TLS_DIR/fullchain.pem"
fi
install -d -o root -g root -m 0755 /var/www/acme /var/www/mta-sts

# Postfix must not write a configuration of its own; Roundcube keeps its data in SQLite.
debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select No configuration
roundcube-core roundcube/dbconfig-install boolean true
roundcube-core roundcube/database-type select sqlite3
SEL

# The package list lives in src/mailstack/packages.ts (the image bake installs the same). On a
# server from mailplane's pre-baked image they are all installed already and nothing is fetched.
install_packages {{mailPackages}}
# Rspamd's check loads every Lua module (seconds): it runs from here, beside what follows, and is
# waited for before Rspamd starts. Its configuration (uploaded before this script) is all there.
rspamadm configtest -q &
rspamd_check=$!

# The host resolves through its own validating resolver (unbound on the loopback):
# DANE needs validated answers and the DNS blacklists refuse public resolvers.
# Switched only once unbound answers, so a broken resolver never cuts the host off.
readonly RESOLV_CONF=$'# mailplane: the local DNSSEC-validating resolver (unbound)\nnameserver 127.0.0.1\nnameserver ::1\noptions trust-ad edns0'
# What unbound.service's ExecStartPre does: root.key from dns-root-data, so the check below finds it.
/usr/libexec/unbound-helper root_trust_anchor_update >/dev/null 2>&1 || true
unbound-checkconf >/dev/null
# --no-reload: an enable only links the unit for the next boot; starting it now needs no reload of
# systemd's whole unit set (a second or more on a loaded machine), done once below for our own units.
SYSTEMCTL_SKIP_SYSV=1 systemctl enable -q --no-reload unbound
systemctl reload-or-restart unbound
if [ "$(cat /etc/resolv.conf 2>/dev/null)" != "$RESOLV_CONF" ]; then
  for _ in $(seq 1 100); do
    # Debian's unbound enables remote control on /run/unbound.ctl.
    if unbound-control status >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  if unbound-control status >/dev/null 2>&1; then
    log 'resolving through the local validating resolver'
    # DHCP must not put the provider's resolvers back.
    if [ -d /etc/dhcp/dhclient-enter-hooks.d ]; then
      printf 'make_resolv_conf() { :; }\n' > /etc/dhcp/dhclient-enter-hooks.d/mailplane-resolver
    fi
    rm -f /etc/resolv.conf
    printf '%s\n' "$RESOLV_CONF" > /etc/resolv.conf
  else
    log 'unbound does not answer yet: keeping the current resolvers (DANE falls back to opportunistic TLS)'
  fi
fi
# Postfix's chroot keeps a copy of resolv.conf that only a restart refreshes (a reload does not).
if [ -d /var/spool/postfix/etc ] && ! cmp -s /etc/resolv.conf /var/spool/postfix/etc/resolv.conf; then
  install -m 0644 /etc/resolv.conf /var/spool/postfix/etc/resolv.conf
fi
# php-fpm first, so Roundcube's PHP dependency is satisfied by FPM and not by Apache's module.
install_packages {{phpPackages}}
install_packages {{webmailPackages}}

# Addresses: Sieve at delivery and ManageSieve (forwarding, vacation, filters), and SRS for
# forwarded mail (postsrsd, configured by /etc/default/postsrsd before it is installed). The files
# apply-addresses.sh manages are created empty once, never overwritten here.
install_packages {{addressesPackages}}
install -d -o root -g vmail -m 0750 /var/lib/dovecot/mailplane-sieve
[ -e /etc/mailplane/sieve-scripts ] || install -o root -g root -m 0644 /dev/null /etc/mailplane/sieve-scripts
for f in /etc/postfix/address_aliases /etc/postfix/alias_senders; do
  [ -e "$f" ] || install -o root -g root -m 0644 /dev/null "$f"
  postmap "hash:$f"
done

# A server from the pre-baked image has none of the per-instance secrets its packages made when
# the image was baked (bake-image.sh removed them and listed them here): each is made now, for
# this server only. Each check looks at the file itself, so a run cut short redoes what is missing.
readonly REGENERATE=/var/lib/mailplane/regenerate-secrets
if [ -s "$REGENERATE" ]; then
  if grep -qx roundcube-des-key "$REGENERATE" && grep -q "^\$config\['des_key'\] = '';" /etc/roundcube/config.inc.php; then
    log "new Roundcube des_key"
    des_key="$(openssl rand -hex 12)"
    sed -i "s|^\$config\['des_key'\] = '';|\$config['des_key'] = '$des_key';|" /etc/roundcube/config.inc.php
    unset des_key
  fi
  if grep -qx snakeoil "$REGENERATE" && [ ! -s /etc/ssl/private/ssl-cert-snakeoil.key ]; then
    log 'new snakeoil certificate'
    make-ssl-cert generate-default-snakeoil --force-overwrite
  fi
  if grep -qx postsrsd-secret "$REGENERATE" && [ ! -s /etc/postsrsd.secret ]; then
    log 'new postsrsd secret'
    # As postsrsd's postinst makes it on a fresh install: 24 random bytes, base64.
    ( umask 0077; head -c 24 /dev/urandom | base64 -w0 > /etc/postsrsd.secret.new )
    mv -f /etc/postsrsd.secret.new /etc/postsrsd.secret
  fi
  if grep -qx unbound-control-keys "$REGENERATE" && [ ! -s /etc/unbound/unbound_server.key ]; then
    log "new unbound control keys"
    unbound-control-setup -d /etc/unbound >/dev/null 2>&1
  fi
  rm -f "$REGENERATE"
fi

# DKIM private keys: readable by Rspamd only; keys of rotated-out selectors are removed.
bash /opt/mailplane/bin/dkim-apply.sh
[ -s "$DKIM_KEY" ]

# Rspamd first, once its own configuration passes its check: it is the slowest service to come
# up (it loads every Lua module and its compiled regular expressions; from the image they are
# compiled already, bake-image.sh), and Postfix tempfails mail until its milter answers, so it
# comes up while the rest is configured. Redis (its Bayes, rate limits and greylisting) with it.
# It is not restarted again below; a failing check of another service further down stops the
# script with Rspamd on its new, checked configuration, which needs nothing of theirs.
log 'starting Rspamd once its configuration check passed'
wait "$rspamd_check"
SYSTEMCTL_SKIP_SYSV=1 systemctl enable -q --no-reload redis-server rspamd
systemctl reload-or-restart redis-server rspamd

# Mailbox files the control plane manages: created empty once, never overwritten here.
postmap hash:/etc/postfix/unauthenticated_senders
for f in /etc/postfix/virtual_mailboxes /etc/postfix/sender_login_maps /etc/postfix/virtual_aliases; do
  [ -e "$f" ] || install -o root -g root -m 0644 /dev/null "$f"
  postmap "hash:$f"
done
[ -e /etc/dovecot/users ] || install -o root -g dovecot -m 0640 /dev/null /etc/dovecot/users
newaliases

# Webmail auto-login: the verifier's user, its key, and the Dovecot master user
# that opens the session. The master password is made here once and never leaves the server.
if ! id mailplane-webmail >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin mailplane-webmail
fi
install -d -o root -g mailplane-webmail -m 0750 "$(dirname "$WEBMAIL_KEY")"
chown mailplane-webmail:mailplane-webmail "$WEBMAIL_KEY"
chmod 0400 "$WEBMAIL_KEY"
if [ ! -s /etc/dovecot/master-users ] || [ ! -s /etc/roundcube/mailplane-master.inc.php ]; then
  log 'creating the webmail master credentials'
  master_password="$(openssl rand -hex 32)"
  master_hash="$(doveadm pw -s ARGON2ID -p "$master_password")"
  install -o root -g dovecot -m 0640 /dev/null /etc/dovecot/master-users.new
  printf '%s:%s::::::allow_nets=127.0.0.0/8,::1\n' "$MASTER_USER" "$master_hash" > /etc/dovecot/master-users.new
  install -o root -g www-data -m 0640 /dev/null /etc/roundcube/mailplane-master.inc.php.new
  printf "<?php\n\$config['mailplane_master_user'] = '%s';\n\$config['mailplane_master_password'] = '%s';\n" \
    "$MASTER_USER" "$master_password" > /etc/roundcube/mailplane-master.inc.php.new
  mv -f /etc/dovecot/master-users.new /etc/dovecot/master-users
  mv -f /etc/roundcube/mailplane-master.inc.php.new /etc/roundcube/mailplane-master.inc.php
  unset master_password master_hash
fi
chown root:www-data /etc/roundcube/mailplane.inc.php
chmod 0640 /etc/roundcube/mailplane.inc.php
# Debian's config.inc.php (database, des_key) includes ours last, once.
readonly RC_INCLUDE="include '/etc/roundcube/mailplane.inc.php';"
if ! grep -qxF "$RC_INCLUDE" /etc/roundcube/config.inc.php; then
  printf '%s\n' "$RC_INCLUDE" >> /etc/roundcube/config.inc.php
fi

# Issue 23's mail guard (dovecot/mailplane-guard.conf): Sieve files spam into Junk and learns
# from moves through imapsieve; Lua passdbs record app-password use and log failed logins.
install_packages {{guardPackages}}
install -d -o root -g dovecot -m 0750 /etc/dovecot/app-passwords
install -d -o dovecot -g dovecot -m 0750 /var/lib/mailplane-guard /var/lib/mailplane-guard/app-password-use
# fail2ban's roundcube-auth jail reads Roundcube's log, which must exist before the jail starts.
[ -d /var/log/roundcube ] || install -d -o www-data -g adm -m 0750 /var/log/roundcube
[ -e /var/log/roundcube/errors.log ] || install -o www-data -g adm -m 0640 /dev/null /var/log/roundcube/errors.log
# The global scripts are compiled here (root): vmail cannot write next to them at delivery time.
for script in spam-to-junk learn-spam learn-ham; do
  sievec "/etc/dovecot/sieve/$script.sieve"
done

# Validate everything before any service sees it: a bad file stops here, the
# running services keep their previous configuration.
log 'checking the configuration'
postfix check
doveconf -n >/dev/null
nginx -t -q

# The journal's retention (journald.conf.d/mailplane.conf) takes effect when journald restarts;
# it keeps the running services' log streams across the restart.
systemctl restart systemd-journald

systemctl daemon-reload
# Enabled in one call and without the implicit reload (each systemctl enable reloads systemd's
# whole unit set, a second or more on a small machine; the daemon-reload above has read our own
# units, and links for the next boot need no reload to start a unit now). SYSTEMCTL_SKIP_SYSV:
# these units are native systemd units, so the links Debian's systemctl also makes for their
# SysV init scripts (update-rc.d, two Perl runs per unit) serve nothing under systemd.
SYSTEMCTL_SKIP_SYSV=1 systemctl enable -q --no-reload mailplane-ipv6 dovecot postfix-mta-sts-resolver postsrsd postfix php8.2-fpm nginx mailplane-webmail-login
log 'starting the services'
# The IPv6 address DNS names, before Postfix sends from it (smtp_bind_address6).
systemctl restart mailplane-ipv6
# Each group's units start (or reload) together and systemctl waits for all of them; one at a
# time, the slow starters (PHP-FPM, Dovecot) added up. The MTA-STS resolver
# and SRS daemon are up before Postfix: until the resolver answers, Postfix defers mail rather
# than send it without a destination's policy.
systemctl reload-or-restart dovecot postfix-mta-sts-resolver postsrsd php8.2-fpm
systemctl reload-or-restart postfix nginx mailplane-webmail-login
log 'mail stack installed'
