#!/usr/bin/env bash
# tls-spki.sh, rendered by mailplane: prints only the hex SHA-256 of the TLS
# key's SubjectPublicKeyInfo (TLSA 3 1 1), after checking that the services
# serve the ACME key and not the placeholder.
set -euo pipefail

readonly ISSUED=/etc/letsencrypt/live/mailplane/privkey.pem
readonly SERVED=/etc/mailplane/tls/fullchain.pem

if [ ! -s "$ISSUED" ]; then
  echo 'tls-spki: no ACME certificate yet (run issue-tls.sh)' >&2
  exit 1
fi
issued="$(openssl pkey -in "$ISSUED" -pubout -outform DER | sha256sum | cut -d' ' -f1)"
served="$(openssl x509 -in "$SERVED" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
if [ "$issued" != "$served" ]; then
  echo 'tls-spki: the served certificate does not carry the ACME key (run tls-deploy.sh)' >&2
  exit 1
fi
printf '%s\n' "$issued"
