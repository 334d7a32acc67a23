#!/usr/bin/env bash
# tls-deploy.sh for mail.example.com, rendered by mailplane: installs the ACME
# certificate where Postfix, Dovecot and nginx read it, and reloads them. Runs
# after issuance (issue-tls.sh) and after every renewal (certbot deploy hook).
set -euo pipefail

readonly LIVE=/etc/letsencrypt/live/mailplane
readonly TLS_DIR=/etc/mailplane/tls

changed=0
for f in fullchain.pem privkey.pem; do
  if ! cmp -s "$LIVE/$f" "$TLS_DIR/$f"; then
    install -o root -g root -m 0600 "$LIVE/$f" "$TLS_DIR/$f.new"
    mv -f "$TLS_DIR/$f.new" "$TLS_DIR/$f"
    changed=1
  fi
done
if [ "$changed" = 1 ]; then
  systemctl reload postfix dovecot nginx
  echo 'tls-deploy: certificate installed, services reloaded'
fi
