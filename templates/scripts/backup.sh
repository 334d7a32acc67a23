#!/usr/bin/env bash
# backup.sh for {{hostname}}, rendered by mailplane: one restic backup of what a
# rebuilt server needs and the control plane does not hold — every mailbox home
# under /var/vmail (Maildir and Sieve scripts) and the webmail's own data
# (Roundcube's SQLite: contacts, identities, settings) — plus a manifest of every
# message, written first and backed up with them. Keys kept in mailplane's vault
# (DKIM, TLS, SSH host key) are not backed up: a rebuild takes them from there.
#
# Credentials: /etc/mailplane/backup.env (root only), pushed by the control plane:
# this server's own key, which can add to its repository but not delete history.
# Retention, `restic check` and restore drills run on the control plane.
#
# stdout: one JSON object {"snapshotId", "summary", "manifest", "passes", "vanished"};
# progress goes to stderr. Exit 75 (EX_TEMPFAIL): the storage could not be reached.
set -euo pipefail
umask 077

readonly ENV_FILE=/etc/mailplane/backup.env
readonly MAIL_ROOT=/var/vmail
readonly STATE_DIR=/var/lib/mailplane-backup
readonly MANIFEST_TOOL=/opt/mailplane/libexec/backup-manifest.py
readonly ROUNDCUBE_DB=/var/lib/dbconfig-common/sqlite3/roundcube/roundcube
readonly MAX_PASSES=3

log() { printf 'backup: %s\n' "$*" >&2; }

[ -r "$ENV_FILE" ] || { log "$ENV_FILE is missing (the control plane writes it)"; exit 1; }
set -a
# shellcheck source=/dev/null # written by the control plane: RESTIC_* and AWS_* only
source "$ENV_FILE"
set +a

# Servers installed before backups existed get restic here (apt output kept off stdout).
if ! command -v restic >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck source=/dev/null # uploaded beside this script (APT_OPTS, installed, apt_retry)
  source /opt/mailplane/bin/apt-lib.sh
  { apt_retry update -q && apt_retry install "${APT_OPTS[@]}" restic; } >&2
fi

install -d -o root -g root -m 0700 "$STATE_DIR"
# One backup at a time: the daily one and a backup before a change may meet.
exec 9>"$STATE_DIR/.lock"
flock -w 3600 9 || { log 'another backup still runs'; exit 75; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! restic cat config >/dev/null 2>"$work/config.err"; then
  if grep -qiE 'does not exist|no such file|not found|404' "$work/config.err"; then
    log 'initialising the repository'
    restic init >&2
  else
    cat "$work/config.err" >&2
    log 'the repository could not be reached'
    exit 75
  fi
fi

# Roundcube's database, copied consistently (SQLite's online backup), not read mid-write.
if [ -f "$ROUNDCUBE_DB" ]; then
  python3 -c 'import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' \
    "$ROUNDCUBE_DB" "$STATE_DIR/roundcube.sqlite3"
fi

[ -d "$MAIL_ROOT" ] || install -d -m 0750 "$MAIL_ROOT"
python3 "$MANIFEST_TOOL" scan "$MAIL_ROOT" > "$STATE_DIR/manifest.json"
log "manifest written: $(grep -o '"count":[0-9]*' "$STATE_DIR/manifest.json" | awk -F: '{ n += $2 } END { print n + 0 }') message(s)"

# Maildir is written file by file and Dovecot renames messages as their flags change:
# a message can move between restic reading one directory and the next. After each
# pass the snapshot is compared with the manifest; a message still on disk but not in
# the snapshot means another (incremental, cheap) pass.
pass=0
while :; do
  pass=$((pass + 1))
  restic backup --json --tag mailplane --host '{{hostname}}' --exclude "$STATE_DIR/.lock" \
    "$MAIL_ROOT" "$STATE_DIR" > "$work/backup.json"
  grep '"message_type":"summary"' "$work/backup.json" | tail -n 1 > "$work/summary.json"
  [ -s "$work/summary.json" ] || { log 'restic printed no summary'; exit 1; }
  snapshot="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$work/summary.json")"
  restic ls --json "$snapshot" > "$work/listing.json"
  python3 "$MANIFEST_TOOL" settle "$STATE_DIR/manifest.json" "$MAIL_ROOT" "$work/listing.json" > "$work/settled.json"
  missing="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["missing"])' "$work/settled.json")"
  log "pass $pass: snapshot $snapshot, $missing message(s) moved during the pass"
  [ "$missing" -eq 0 ] && break
  if [ "$pass" -ge "$MAX_PASSES" ]; then
    log "messages kept moving for $MAX_PASSES passes"
    exit 75
  fi
done

python3 - "$work/summary.json" "$work/settled.json" "$pass" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
settled = json.load(open(sys.argv[2]))
json.dump({'snapshotId': summary['snapshot_id'], 'summary': summary, 'manifest': settled['manifest'],
           'passes': int(sys.argv[3]), 'vanished': settled['vanished']}, sys.stdout, separators=(',', ':'))
print()
PY
