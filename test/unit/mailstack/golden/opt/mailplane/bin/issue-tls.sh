#!/usr/bin/env bash
# issue-tls.sh for mail.example.com, rendered by mailplane: one ACME certificate
# (HTTP-01 through nginx) for the mail host, webmail, MTA-STS and the mail-client
# setup names (autoconfig for Thunderbird, autodiscover for Outlook).
# --reuse-key is stored in the renewal configuration, so every renewal keeps the
# same private key and the TLSA 3 1 1 record (SPKI hash) stays valid.
set -euo pipefail

certbot certonly --non-interactive --agree-tos --no-eff-email \
  --server 'https://acme-v02.api.letsencrypt.org/directory' \
  --email 'postmaster@example.com' \
  --webroot --webroot-path /var/www/acme \
  --cert-name mailplane \
  --domain 'mail.example.com' --domain 'webmail.example.com' --domain 'mta-sts.example.com' \
  --domain 'autoconfig.example.com' --domain 'autodiscover.example.com' \
  --key-type ecdsa --elliptic-curve secp256r1 --reuse-key \
  --keep-until-expiring --expand
bash /opt/mailplane/bin/tls-deploy.sh
