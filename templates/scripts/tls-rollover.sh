#!/usr/bin/env bash
# tls-rollover.sh for {{hostname}}, rendered by mailplane: a planned change of the TLS
# key behind the TLSA record (a compromise, an algorithm change), in two moves the
# control plane separates by the TLSA records' TTL:
#   prepare ecdsa|rsa  makes the next key once (kept beside the lineage, never served) and
#                      prints its SPKI sha256, for the TLSA record published beside the current one
#   switch ecdsa|rsa   the certificate is renewed with the next key (of that type), deployed to
#                      the services, and the served key's SPKI sha256 printed (tls-spki.sh)
# issue-tls.sh renews with --reuse-key, so certbot signs its request with the lineage's
# current key: the next key takes that key's place just before a forced renewal, and
# the previous key is put back if the renewal fails (the services keep serving their
# own copies meanwhile: tls-deploy.sh only runs after a successful renewal). The key
# type is named on the command line: certbot refuses to reuse a key whose type differs
# from the one its renewal configuration holds, and records the new type for later renewals.
set -euo pipefail

readonly LIVE_KEY=/etc/letsencrypt/live/mailplane/privkey.pem
readonly NEXT=/etc/mailplane/tls-next/privkey.pem

spki() { openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1; }

case "${1:-}" in
  prepare)
    if [ ! -s "$NEXT" ]; then
      install -d -o root -g root -m 0700 "$(dirname "$NEXT")"
      case "${2:-ecdsa}" in
        ecdsa) (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$NEXT.new") ;;
        rsa) (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$NEXT.new") ;;
        *) echo 'usage: tls-rollover.sh prepare ecdsa|rsa' >&2; exit 2 ;;
      esac
      mv -f "$NEXT.new" "$NEXT"
    fi
    spki "$NEXT"
    ;;
  switch)
    if [ ! -s "$NEXT" ]; then
      # Switched already (the step runs again after a crash): the served key is the answer.
      exec bash /opt/mailplane/bin/tls-spki.sh
    fi
    case "${2:-}" in
      ecdsa) key_type=(--key-type ecdsa --elliptic-curve secp256r1) ;;
      rsa) key_type=(--key-type rsa --rsa-key-size 2048) ;;
      *) echo 'usage: tls-rollover.sh switch ecdsa|rsa' >&2; exit 2 ;;
    esac
    current="$(readlink -f "$LIVE_KEY")"
    cp -p "$current" "$current.before-rollover"
    cat "$NEXT" > "$current"
    if ! certbot renew --non-interactive --cert-name mailplane --force-renewal --reuse-key "${key_type[@]}" --no-random-sleep-on-renew >&2; then
      cat "$current.before-rollover" > "$current"
      rm -f "$current.before-rollover"
      echo 'tls-rollover: the renewal with the next key failed; the current key is back in place' >&2
      exit 1
    fi
    rm -f "$current.before-rollover" "$NEXT"
    bash /opt/mailplane/bin/tls-deploy.sh >&2
    exec bash /opt/mailplane/bin/tls-spki.sh
    ;;
  *)
    echo 'usage: tls-rollover.sh prepare ecdsa|rsa | switch ecdsa|rsa' >&2
    exit 2
    ;;
esac
