#!/usr/bin/env bash
# harden.sh for {{hostname}}, rendered by mailplane: sshd key-only, nftables,
# fail2ban, unattended security upgrades, no root password, and the cloud-init
# user data (it carried the SSH host private key) gone from the disk.
# Safe to run again: each step checks before it changes anything.
set -euo pipefail

# Each line says how long after the script's start it was written (as install-mail-stack.sh's).
readonly STARTED_US="${EPOCHREALTIME/[.,]/}"
log() {
  local ms=$(((${EPOCHREALTIME/[.,]/} - STARTED_US) / 1000))
  printf 'harden: %s (+%d.%03d s)\n' "$*" $((ms / 1000)) $((ms % 1000))
}

export DEBIAN_FRONTEND=noninteractive
# shellcheck source=/dev/null # uploaded beside this script (APT_OPTS, installed, apt_retry)
source /opt/mailplane/bin/apt-lib.sh
missing=()
# The list lives in src/mailstack/packages.ts; a server from the pre-baked image has them all.
for p in {{hardenPackages}}; do
  installed "$p" || missing+=("$p")
done
# What apt says is pending: from a server's first boot on the image, mailplane-apt-check.service
# (bake-image.sh) fetched the lists and asked at boot, beside the install; its answer serves while
# it is under an hour old. `systemctl start` waits for it if it is still running and runs it if it
# has not (a oneshot that stays active); on any other boot its condition skips it.
readonly BOOT_PENDING=/run/mailplane/apt-pending
boot_answer_fresh() { [ -s "$BOOT_PENDING" ] && [ $(($(date +%s) - $(stat -c %Y "$BOOT_PENDING"))) -lt 3600 ]; }
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_retry update -q
  apt_retry install "${APT_OPTS[@]}" "${missing[@]}"
  rm -f "$BOOT_PENDING"
  # The lists were fetched a moment ago: the security check below uses them (no second update).
  ( : ) &
else
  # Otherwise the package lists for the security check below are fetched while the rest is applied.
  (
    if systemctl cat mailplane-apt-check.service >/dev/null 2>&1; then systemctl start mailplane-apt-check.service || true; fi
    boot_answer_fresh || apt_retry update -q >/dev/null
  ) &
fi
lists=$!

# sshd: the uploaded configuration is checked before the running daemon reloads it,
# so a mistake cannot lock the control plane out.
install -d -m 0755 /run/sshd
sshd -t -f /etc/ssh/sshd_config
# That configuration lets only the deploy user in (no root): never apply it before that user
# can log in (deploy-user.sh, run by the control plane's first session).
deploy_home="$(getent passwd mailplane | cut -d: -f6 || true)"
if [ -z "$deploy_home" ] || [ ! -s "$deploy_home/.ssh/authorized_keys" ]; then
  log 'the deploy user mailplane cannot log in yet: sshd not reloaded'
  exit 1
fi
# Host keys other than the pinned ed25519 one are not offered; remove stray ones.
for key in /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_dsa_key; do
  rm -f "$key" "$key.pub"
done
systemctl reload ssh
log 'sshd reloaded: key-only, the deploy user only'

# No password for root either (root does not log in over SSH at all).
if [ "$(passwd -S root | cut -d' ' -f2)" != L ]; then
  passwd -l root >/dev/null
  log 'root password locked'
fi

# Firewall: check the ruleset, then load it now and at every boot. Through the unit
# (a oneshot that stays active), so systemctl and verify-services.sh see it loaded.
# fail2ban has its own nftables table (ours does not flush it). Unattended security upgrades are
# configured by 20auto-upgrades and 52mailplane-unattended-upgrades. One enable for all of them,
# without the implicit reload of systemd's whole unit set (links for the next boot need none to
# start a unit now) and without SysV links (see install-mail-stack.sh).
nft -c -f /etc/nftables.conf
SYSTEMCTL_SKIP_SYSV=1 systemctl enable -q --no-reload nftables fail2ban unattended-upgrades apt-daily.timer apt-daily-upgrade.timer
systemctl restart nftables
log 'firewall loaded'
# fail2ban's check and start (a Python program reading its jails, twice) run while the updates are
# looked for; it is restarted only on a configuration that passed the check, and a failed check
# fails the script at the wait below.
( fail2ban-client -t >/dev/null && systemctl restart fail2ban ) &
jails=$!
systemctl start unattended-upgrades

# A new server must not go live with the security updates published since its image was
# made (a day's wait for the timer): apply them now, under the same policy (Debian-Security
# only). unattended-upgrade itself takes seconds to weigh every package even when nothing is
# due, so it runs only when apt's simulation lists a Debian-Security upgrade; from a fresh
# image (its bake applied the updates) and on a re-run there is none.
# (apt prints each upgrade's origins by label: "Inst pkg [old] (new Debian-Security:12/stable-security [amd64])".)
wait "$lists"
if boot_answer_fresh; then
  log "package lists fetched and weighed at boot ($(($(date +%s) - $(stat -c %Y "$BOOT_PENDING"))) s ago)"
  pending="$(cat "$BOOT_PENDING")"
else
  log 'package lists fetched'
  pending="$(apt-get -s -q -o Debug::NoLocking=1 dist-upgrade)"
fi
if grep -q '^Inst .*Debian-Security:' <<<"$pending"; then
  log 'applying security updates'
  unattended-upgrade
else
  log 'no security update pending'
fi
wait "$jails"
log 'fail2ban started'

# cloud-init kept a copy of the user data (with the host private key); it has
# done its work and must not run again with a stale copy.
if [ -d /var/lib/cloud ]; then
  find /var/lib/cloud -name 'user-data.txt*' -type f -delete
  find /var/lib/cloud -name 'cloud-config.txt' -type f -delete
  # A NoCloud seed (images that read user data from disk) holds the same key.
  find /var/lib/cloud/seed -name 'user-data' -type f -delete 2>/dev/null || true
fi
if [ -d /etc/cloud ] && [ ! -e /etc/cloud/cloud-init.disabled ]; then
  touch /etc/cloud/cloud-init.disabled
  log 'cloud-init disabled'
fi

# Local additions kept on this server (executables named [A-Za-z0-9_-]+, run in name order) run
# after every apply, provisioning and rollouts alike; a failing hook fails the apply.
if [ -d /etc/mailplane/post-apply.d ]; then
  run-parts --exit-on-error /etc/mailplane/post-apply.d
fi
log 'host hardened'
