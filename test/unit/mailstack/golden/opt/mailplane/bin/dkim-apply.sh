#!/usr/bin/env bash
# dkim-apply.sh for mail.example.com, rendered by mailplane.
# Puts in force the DKIM keys uploaded beside /etc/rspamd/local.d/dkim_signing.conf:
# readable by Rspamd only, and a key the configuration no longer names is removed (a
# rotated-out key must not stay on the disk). With selectors as arguments (a DKIM
# rotation) it then checks the configuration, reloads Rspamd and proves the reload: the
# running Rspamd must sign a test message with every one of them, else it exits 1.
# Usage: dkim-apply.sh [SELECTOR...]
set -euo pipefail

readonly KEY_DIR=/var/lib/rspamd/dkim
readonly CONF=/etc/rspamd/local.d/dkim_signing.conf
readonly DOMAIN='example.com'

log() { printf 'dkim-apply: %s\n' "$*"; }

install -d -o _rspamd -g _rspamd -m 0700 "$KEY_DIR"
for key in "$KEY_DIR"/*.key; do
  [ -e "$key" ] || continue
  if grep -qF "\"$key\"" "$CONF"; then
    chown _rspamd:_rspamd "$key"
    chmod 0600 "$key"
  else
    rm -f -- "$key"
    log "removed $key (no longer signs)"
  fi
done
[ "$#" -gt 0 ] || exit 0

rspamadm configtest -q
systemctl reload-or-restart rspamd
# A reload replaces Rspamd's workers; until the new ones answer, the old ones (or none) do.
# rspamc --user is mail from an authenticated sender, which dkim_signing.conf signs.
message() {
  printf 'From: <postmaster@%s>\r\nTo: <postmaster@%s>\r\nSubject: mailplane DKIM check\r\nDate: %s\r\nMessage-ID: <dkim-apply.%s@%s>\r\n\r\nDKIM check\r\n' \
    "$DOMAIN" "$DOMAIN" "$(date -R)" "$(date +%s%N)" "$DOMAIN"
}
for _ in $(seq 1 60); do
  if signed="$(message | rspamc --user "postmaster@$DOMAIN" --mime 2>/dev/null)"; then
    missing=()
    for selector in "$@"; do
      grep -qE "(^|[[:space:];])s=${selector};" <<<"$signed" || missing+=("$selector")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
      log "rspamd signs with $*"
      exit 0
    fi
  fi
  sleep 1
done
echo "dkim-apply: rspamd does not sign with ${missing[*]:-$*} after its reload" >&2
exit 1
