#!/usr/bin/env bash
# tls-lineage.sh for mail.example.com, rendered by mailplane: the certbot lineage (the
# certificate, its chain, the private key behind the TLSA 3 1 1 record, its renewal
# settings and the ACME account) moved out of and into the host as one base64 tar.gz,
# so the control plane keeps it in its vault and a rebuilt server serves the same key:
# its TLSA record stays valid and DANE senders never see a mismatch.
#   export  prints the lineage on stdout
#   import  reads one on stdin, installs it and deploys it to the services
set -euo pipefail

readonly LE=/etc/letsencrypt
readonly PARTS=(accounts archive/mailplane live/mailplane renewal/mailplane.conf)

case "${1:-}" in
  export)
    if [ ! -s "$LE/live/mailplane/privkey.pem" ]; then
      echo 'tls-lineage: no ACME certificate yet (run issue-tls.sh)' >&2
      exit 1
    fi
    tar -C "$LE" -czf - "${PARTS[@]}" | base64 -w0
    echo
    ;;
  import)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    base64 -d > "$tmp/lineage.tgz"
    # Only the lineage's own paths: an archive naming anything else is refused whole.
    if tar -tzf "$tmp/lineage.tgz" | grep -Ev '^(accounts|archive/mailplane|live/mailplane|renewal/mailplane\.conf)(/|$)'; then
      echo 'tls-lineage: the archive holds paths outside the lineage; nothing installed' >&2
      exit 1
    fi
    install -d -m 0755 "$LE"
    umask 077
    tar -C "$LE" --no-same-owner -xzf "$tmp/lineage.tgz"
    bash /opt/mailplane/bin/tls-deploy.sh
    echo 'tls-lineage: lineage installed'
    ;;
  *)
    echo 'usage: tls-lineage.sh export|import' >&2
    exit 2
    ;;
esac
