#!/usr/bin/env bash
# apt-lib.sh for {{hostname}}, rendered by mailplane: the package helpers that
# install-mail-stack.sh and harden.sh share. Sourced, never run; the caller defines log().
# The same strict mode as its callers, so it holds whichever of them sources it.
set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
readonly EX_TEMPFAIL=75

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# A transient failure (mirror, network, lock) is retried here; if it outlasts the
# retries the script exits EX_TEMPFAIL so the control plane retries the step later.
apt_retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if apt-get "$@"; then return 0; fi
    log "apt-get $1 failed (attempt $attempt), retrying"
    sleep $((attempt * 5))
  done
  log "apt-get $1 kept failing"
  exit "$EX_TEMPFAIL"
}
