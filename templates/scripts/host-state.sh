#!/usr/bin/env bash
# host-state.sh for {{hostname}}, rendered by mailplane: what this host holds, for the drift
# check. Reads a JSON request on stdin (files, packages, services, files to read) and answers
# one JSON document (see host-state.py). Changes nothing.
set -euo pipefail
exec python3 /opt/mailplane/libexec/host-state.py
