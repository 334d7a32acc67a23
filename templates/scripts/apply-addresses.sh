#!/usr/bin/env bash
# apply-addresses.sh for {{hostname}}, rendered by mailplane: after the control
# plane uploaded /etc/postfix/address_aliases, /etc/postfix/alias_senders,
# /etc/mailplane/sieve-scripts and the Sieve scripts it lists
# (src/mailstack/addresses.ts), check every line, compile every script with
# Pigeonhole's own compiler, drop the scripts of mailboxes that are gone and
# rebuild the Postfix lookup tables. Runs before apply-mailboxes.sh, which reloads.
set -euo pipefail

readonly DOMAIN='{{domain}}'
readonly ALIASES=/etc/postfix/address_aliases
readonly SENDERS=/etc/postfix/alias_senders
readonly LIST=/etc/mailplane/sieve-scripts
readonly SIEVE_DIR=/var/lib/dovecot/mailplane-sieve
readonly ADDRESS="[a-z0-9]([a-z0-9._+-]{0,62}[a-z0-9])?@${DOMAIN//./\\.}"

check() {
  local file="$1" regex="$2" bad
  [ -f "$file" ] || { echo "apply-addresses: $file is missing" >&2; exit 1; }
  bad="$(grep -nvE "^${regex}\$" "$file" | head -n 3 | cut -d: -f1 | tr '\n' ' ' || true)"
  if [ -n "$bad" ]; then
    echo "apply-addresses: $file has malformed lines: $bad" >&2
    exit 1
  fi
}
check "$ALIASES" "(${ADDRESS}|@${DOMAIN//./\\.}) ${ADDRESS}"
check "$SENDERS" "${ADDRESS} ${ADDRESS}"
check "$LIST" "${ADDRESS}"

install -d -o root -g vmail -m 0750 "$SIEVE_DIR"
declare -A wanted=()
while IFS= read -r address; do
  script="$SIEVE_DIR/$address.sieve"
  [ -f "$script" ] || { echo "apply-addresses: $script is missing" >&2; exit 1; }
  # Compiled here as root (Dovecot's vmail user cannot write the directory): a script
  # Pigeonhole refuses stops the run with its own error message.
  sievec "$script"
  chown root:vmail "$script" "${script%.sieve}.svbin"
  chmod 0640 "$script" "${script%.sieve}.svbin"
  wanted["$address"]=1
done < "$LIST"
for script in "$SIEVE_DIR"/*.sieve; do
  [ -e "$script" ] || continue
  address="$(basename "$script" .sieve)"
  [ -n "${wanted[$address]:-}" ] || rm -f "$script" "${script%.sieve}.svbin"
done

chmod 0644 "$ALIASES" "$SENDERS"
postmap "hash:$ALIASES"
postmap "hash:$SENDERS"
echo "apply-addresses: $(grep -c . "$ALIASES" || true) alias line(s), ${#wanted[@]} Sieve script(s) applied"
