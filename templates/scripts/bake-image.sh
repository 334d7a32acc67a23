#!/usr/bin/env bash
# bake-image.sh, rendered by mailplane: turns a fresh Debian 12 instance into the
# mail-server image (packages {{packageDigest}}). Everything install-mail-stack.sh and
# harden.sh would fetch is installed; nothing is configured for a server; no service
# of the stack is enabled (install-mail-stack.sh and harden.sh enable and start them
# on their own configuration); and every secret a package or the first boot made for
# this one instance is removed, so no two servers from the image share one. What is
# removed is listed in /var/lib/mailplane/regenerate-secrets for install-mail-stack.sh,
# which makes new ones. Safe to run again.
set -euo pipefail
umask 022

log() { printf 'bake-image: %s\n' "$*"; }

export DEBIAN_FRONTEND=noninteractive
# shellcheck source=/dev/null # uploaded beside this script (APT_OPTS, installed, apt_retry)
source /opt/mailplane/bin/apt-lib.sh

# The answers install-mail-stack.sh gives, so the packages configure as they would there.
debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select No configuration
roundcube-core roundcube/dbconfig-install boolean true
roundcube-core roundcube/database-type select sqlite3
SEL

# The bake's own cost (the first real-host test file pays it, and every rebake): dpkg writes
# without an fsync per file (the instance is powered off cleanly before its disk is snapshotted,
# and a bake cut short starts again on a new instance), and man-db does not reindex the manual
# pages after every package (a mail server never runs apropos).
readonly BAKE_APT_OPTS=("${APT_OPTS[@]}" -o Dpkg::Options::=--force-unsafe-io)
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections

# No service starts while packages install: an image is files, not running daemons.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT

apt_retry update -q
# The updates published since the stock image was made, security ones included: harden.sh applies
# the security updates again on every new server (unattended-upgrade), and from a fresh image it
# finds nothing to do. The image is rebaked weekly for the same reason (image-refresh.ts).
apt_retry upgrade "${BAKE_APT_OPTS[@]}"
for group in '{{mailPackages}}' '{{phpPackages}}' '{{webmailPackages}}' '{{addressesPackages}}' '{{guardPackages}}' '{{hardenPackages}}'; do
  # shellcheck disable=SC2086 # a group is a space-separated list of package names
  apt_retry install "${BAKE_APT_OPTS[@]}" $group
done
apt-get clean

# Rspamd's compiled caches, made once here instead of at every server's first start: the
# hyperscan databases of its rules' regular expressions (hs_helper, about 10 s of CPU) and
# of the 9,600 public suffixes its URL parser matches (done before its workers listen: 10 s
# on an idle machine here, 25 s on a loaded one), both kept in /var/lib/rspamd (hs_cache_dir)
# and read back at the next start when the rules and the CPU's features are the same (a
# server's own local.d files add no expression; a different CPU makes Rspamd compile them
# again, as without the cache). Waited for on Rspamd's own log line, not on a guess.
readonly RSPAMD_LOG=/var/log/rspamd/rspamd.log
log 'compiling the Rspamd caches'
exec {follow}< <(exec tail -n +1 -F "$RSPAMD_LOG" 2>/dev/null)
follow_pid=$!
systemctl start rspamd
if ! timeout 600 grep -m1 -q 'to the hyperscan tree' <&"$follow"; then
  log 'Rspamd did not compile its hyperscan databases within 10 minutes'
  exit 1
fi
kill "$follow_pid" 2>/dev/null || true
exec {follow}<&-
systemctl stop rspamd
# Its history (the log, the statistics of the bake's instance) is not the image's.
rm -f /var/lib/rspamd/rspamd.rrd /var/lib/rspamd/stats.ucl /var/lib/rspamd/*.sock "$RSPAMD_LOG"*
log "Rspamd caches kept: $(find /var/lib/rspamd -maxdepth 1 -name '*.hs*' | wc -l) files"

# Disabled: the scripts that configure them enable them (a server from the image
# boots with none of them listening on its package defaults).
for unit in unbound redis-server rspamd dovecot postfix-mta-sts-resolver postsrsd postfix php8.2-fpm nginx nftables fail2ban unattended-upgrades; do
  systemctl disable -q "$unit" 2>/dev/null || true
done

# The first boot of a server from the image fetches the package lists and asks apt which upgrades
# are pending while the control plane installs the mail stack (harden.sh reads the answer instead of
# fetching and weighing them after install: 7 to 10 s on a loaded machine). Only that first boot: it
# leaves a mark once it succeeded (systemd's ConditionFirstBoot does not serve: an empty machine-id,
# as the image has, is not a first boot to it). /run is a tmpfs, so no answer outlives the boot, and
# harden.sh uses it only while it is under an hour old. Not a secret: the same for every server.
cat > /etc/systemd/system/mailplane-apt-check.service <<'UNIT'
[Unit]
Description=mailplane: package lists and pending upgrades at first boot (read by harden.sh)
ConditionPathExists=!/var/lib/mailplane/apt-checked-at-first-boot
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/apt-get update -q
ExecStart=/bin/sh -c 'mkdir -p /run/mailplane && apt-get -s -q -o Debug::NoLocking=1 dist-upgrade > /run/mailplane/apt-pending.new && mv -f /run/mailplane/apt-pending.new /run/mailplane/apt-pending'
ExecStartPost=/usr/bin/touch /var/lib/mailplane/apt-checked-at-first-boot

[Install]
WantedBy=multi-user.target
UNIT
SYSTEMCTL_SKIP_SYSV=1 systemctl enable -q mailplane-apt-check.service

# Per-instance secrets, each listed for install-mail-stack.sh to make anew.
install -d -m 0755 /var/lib/mailplane
regenerate=()
if grep -q "^\$config\['des_key'\] = '[^']" /etc/roundcube/config.inc.php; then
  sed -i "s|^\$config\['des_key'\] = .*|\$config['des_key'] = '';|" /etc/roundcube/config.inc.php
  regenerate+=(roundcube-des-key)
fi
if [ -e /etc/ssl/private/ssl-cert-snakeoil.key ]; then
  # With make-ssl-cert's hash link to it (a new certificate gets its own).
  find /etc/ssl/certs -maxdepth 1 -lname ssl-cert-snakeoil.pem -delete
  rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
  regenerate+=(snakeoil)
fi
# postsrsd's postinst made the key that signs SRS addresses: shared, one server could forge
# bounces to another's forwarded addresses.
if [ -e /etc/postsrsd.secret ]; then
  rm -f /etc/postsrsd.secret
  regenerate+=(postsrsd-secret)
fi
if compgen -G '/etc/unbound/unbound_*.key' >/dev/null || compgen -G '/etc/unbound/unbound_*.pem' >/dev/null; then
  rm -f /etc/unbound/unbound_server.key /etc/unbound/unbound_server.pem /etc/unbound/unbound_control.key /etc/unbound/unbound_control.pem
  regenerate+=(unbound-control-keys)
fi
if [ "${#regenerate[@]}" -gt 0 ]; then
  printf '%s\n' "${regenerate[@]}" > /var/lib/mailplane/regenerate-secrets
fi
log "removed per-instance secrets: ${regenerate[*]:-none}"

# What this instance's first boot made: its host keys, the bake's deploy key, cloud-init's
# state and copy of the user data, the machine id (systemd makes a new one at the next boot).
# The random seed and systemd's credential key are this machine's too; the journal is its history.
rm -f /etc/ssh/ssh_host_*
rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys
cloud-init clean --logs --seed
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed /var/lib/systemd/credential.secret
rm -rf /var/log/journal/*
rm -rf /opt/mailplane
log 'image ready to be snapshotted'
