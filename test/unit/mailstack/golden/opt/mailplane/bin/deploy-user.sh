#!/usr/bin/env bash
# deploy-user.sh for mail.example.com, rendered by mailplane: the unprivileged account the control
# plane logs in as from now on (usage: deploy-user.sh USER, its public key on stdin). Run as
# root, once, by the first session to a server that still has only root; safe to run again.
# It does not turn root login off: the sshd_config that does so is uploaded only by a session
# that already logged in as USER (provisioning/remote.ts), and applied by harden.sh.
set -euo pipefail

log() { printf 'deploy-user: %s\n' "$*"; }

user="${1:?usage: deploy-user.sh USER}"
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || { log "invalid user name: $user"; exit 2; }
key="$(cat)"
[[ "$key" =~ ^ssh-ed25519\ [A-Za-z0-9+/=]+(\ [^$'\n']*)?$ ]] || { log 'stdin must be one ssh-ed25519 public key line'; exit 2; }

export DEBIAN_FRONTEND=noninteractive
# shellcheck source=/dev/null # uploaded beside this script (APT_OPTS, installed, apt_retry)
source /opt/mailplane/bin/apt-lib.sh
# Cloud images usually carry sudo; the minimal ones do not.
if ! installed sudo; then
  log 'installing sudo'
  apt_retry update -q
  apt_retry install "${APT_OPTS[@]}" sudo
fi

if ! id -u "$user" >/dev/null 2>&1; then
  # A concurrent first session may have created it a moment ago: that is as good.
  useradd --create-home --shell /bin/bash --comment 'mailplane control plane' "$user" || id -u "$user" >/dev/null
  log "created $user"
fi
# No password at all ('*', not the '!' of a locked account): the key is the only way in.
usermod -p '*' "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
# Replaced, never appended: a server from a snapshot must not keep another server's key.
tmp="$(mktemp "$home/.ssh/.authorized_keys.XXXXXX")"
printf '%s\n' "$key" >"$tmp"
chown "$user:$user" "$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$home/.ssh/authorized_keys"

# Everything mailplane does on the server needs root (packages, /etc, services, mail): the
# rule is root-equivalent by design; what the account changes is who may log in (see README).
sudoers=/etc/sudoers.d/mailplane
tmp="$(mktemp /etc/sudoers.d/.mailplane.XXXXXX)"
printf '# %s: the control plane runs its scripts and uploads as root (mailplane).\n%s ALL=(root) NOPASSWD: ALL\n' "$user" "$user" >"$tmp"
chmod 0440 "$tmp"
visudo -cqf "$tmp"
mv -f "$tmp" "$sudoers"

# Uploads go over SFTP: its server runs under sudo, so files land owned by root as before.
sftp='Subsystem sftp /usr/bin/sudo -n /usr/lib/openssh/sftp-server'
if ! grep -qxF "$sftp" /etc/ssh/sshd_config; then
  sed -i -E "s|^[[:space:]]*Subsystem[[:space:]]+sftp[[:space:]].*$|$sftp|" /etc/ssh/sshd_config
  grep -qxF "$sftp" /etc/ssh/sshd_config || printf '%s\n' "$sftp" >>/etc/ssh/sshd_config
  install -d -m 0755 /run/sshd
  sshd -t -f /etc/ssh/sshd_config
  systemctl reload ssh
  log 'sftp runs under sudo'
fi
log "$user can log in"
