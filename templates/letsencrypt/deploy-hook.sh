#!/usr/bin/env bash
# certbot deploy hook, rendered by mailplane: runs after each renewal.
set -euo pipefail
exec bash /opt/mailplane/bin/tls-deploy.sh
