#!/usr/bin/env bash
# ipv6-address.sh for mail.example.com, rendered by mailplane; run at boot by mailplane-ipv6.service.
# Holds the IPv6 address mailplane fixed in this server's routed /64 (the prefix's ::1) beside the
# SLAAC address the instance configures by itself. DNS names this one (AAAA, SPF ip6:, PTR) and it
# moves with the flexible IP, so a rebuilt server answers on it too; Postfix sends from it
# (smtp_bind_address6).
set -euo pipefail

readonly ADDRESS_FILE=/etc/mailplane/ipv6-address

log() { printf 'ipv6-address: %s\n' "$*"; }

address=$(tr -d '[:space:]' < "$ADDRESS_FILE")
[[ "$address" =~ ^[0-9A-Fa-f:]+$ ]] || { log "no IPv6 address in $ADDRESS_FILE" >&2; exit 1; }

# The interface that carries the default route: at boot DHCP may not have answered yet.
dev=''
for _ in $(seq 1 60); do
  dev=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  [ -n "$dev" ] && break
  sleep 1
done
[ -n "$dev" ] || { log "no default route to hold $address on" >&2; exit 1; }

# /128: the prefix's on-link route is the instance's own business (SLAAC); nodad: the prefix is
# routed to this instance alone, nobody else can hold the address.
ip -6 addr replace "$address/128" dev "$dev" nodad
log "$address on $dev"
