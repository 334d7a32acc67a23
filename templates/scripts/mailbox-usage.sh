#!/usr/bin/env bash
# mailbox-usage.sh for {{hostname}}, rendered by mailplane: what the control plane shows about
# the mailboxes and that only the server knows (src/mailboxes/usage.ts reads these lines):
#   quota <address> <bytes in use>                       from Dovecot (doveadm quota get -A)
#   app-password <id> <unix time> <client address> <service>   last use, written by Dovecot's
#                                                        mailplane-auth-used.lua at each login
set -euo pipefail
readonly USE_DIR=/var/lib/mailplane-guard/app-password-use

# -f tab: "Username Quota name Type Value Limit %" with STORAGE in KiB.
doveadm -f tab quota get -A | awk -F '\t' 'NR > 1 && $3 == "STORAGE" { printf "quota %s %d\n", $1, $4 * 1024 }'

shopt -s nullglob
for file in "$USE_DIR"/*; do
  id="$(basename "$file")"
  [[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || continue
  read -r at ip service < "$file" || continue
  printf 'app-password %s %s %s %s\n' "$id" "$at" "${ip:--}" "${service:--}"
done
