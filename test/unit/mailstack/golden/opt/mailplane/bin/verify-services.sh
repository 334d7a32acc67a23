#!/usr/bin/env bash
# verify-services.sh for mail.example.com, rendered by mailplane: each service is
# running and answers with TLS where a client expects it. Prints one line per
# check; exits 75 (EX_TEMPFAIL: the control plane checks again later) when any fails,
# since a service that was just (re)started may still be on its way up.
set -euo pipefail

readonly HOST='mail.example.com'
readonly EX_TEMPFAIL=75
failures=0

# Rspamd reports "active" before its workers listen (it loads its rules first: seconds from the
# image, whose bake compiled them, minutes on a small machine that compiles them); until the
# milter listens, Postfix tempfails every connection. Give it that time before judging anything.
# Its listening socket is looked up in the kernel's table (ss) every 0.1 s, not connected to
# (a connection is a milter session Rspamd would log), so the checks start as soon as it is there.
for _ in $(seq 1 1800); do
  if [ -n "$(ss -Hltn 'sport = :11332' 2>/dev/null)" ]; then break; fi
  sleep 0.1
done
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; failures=$((failures + 1)); }

for unit in postfix postfix-mta-sts-resolver postsrsd dovecot rspamd redis-server unbound nginx php8.2-fpm mailplane-webmail-login nftables fail2ban; do
  if systemctl is-active -q "$unit"; then ok "$unit active"; else fail "$unit not active"; fi
done

banner="$(timeout 15 bash -c 'exec 3<>/dev/tcp/127.0.0.1/25; head -n1 <&3' 2>/dev/null || true)"
case "$banner" in
  "220 $HOST "*) ok 'smtp 25 banner' ;;
  *) fail "smtp 25 banner: ${banner:-no answer}" ;;
esac

# tls_check NAME -- s_client arguments: the handshake completes and names the host's certificate.
tls_check() {
  local name="$1" out
  shift
  out="$(timeout 15 openssl s_client -brief -verify_hostname "$HOST" "$@" </dev/null 2>&1 || true)"
  if printf '%s' "$out" | grep -q 'Protocol version: TLSv1\.[23]'; then ok "$name"; else fail "$name: $(printf '%s' "$out" | tail -n1)"; fi
}
tls_check 'smtp 25 STARTTLS' -connect 127.0.0.1:25 -starttls smtp -servername "$HOST"
tls_check 'submission 587 STARTTLS' -connect 127.0.0.1:587 -starttls smtp -servername "$HOST"
tls_check 'submissions 465 TLS' -connect 127.0.0.1:465 -servername "$HOST"
tls_check 'imaps 993 TLS' -connect 127.0.0.1:993 -servername "$HOST"
tls_check 'https 443 TLS' -connect 127.0.0.1:443 -servername "$HOST"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit "$EX_TEMPFAIL"
fi
echo 'all services answer'
