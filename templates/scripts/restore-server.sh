#!/usr/bin/env bash
# restore-server.sh for {{hostname}}, rendered by mailplane: a rebuilt server gets its
# mail back whole (every mailbox home under /var/vmail, Maildir and Sieve scripts, and
# the webmail's data, Roundcube's SQLite) from a snapshot of its own repository, read
# with its own key. Keys (DKIM, TLS, SSH host key) come from mailplane's vault instead.
#
# Whole, not additive: it runs on a new host before mail is delivered there, so a host
# whose mail store already holds a message is refused (restore-mailbox.sh is the
# additive restore). Running it again for the same snapshot is harmless.
#
# stdin: one line "SNAPSHOT". stdout: one JSON object {"snapshot", "messages"}.
set -euo pipefail
umask 077

readonly ENV_FILE=/etc/mailplane/backup.env
readonly MAIL_ROOT=/var/vmail
readonly STATE_DIR=/var/lib/mailplane-backup
readonly ROUNDCUBE_DB=/var/lib/dbconfig-common/sqlite3/roundcube/roundcube

log() { printf 'restore-server: %s\n' "$*" >&2; }
messages() { find "$MAIL_ROOT" -type f \( -path '*/cur/*' -o -path '*/new/*' \) 2>/dev/null | wc -l; }

[ -r "$ENV_FILE" ] || { log "$ENV_FILE is missing (the control plane writes it)"; exit 1; }
set -a
# shellcheck source=/dev/null # written by the control plane: RESTIC_* and AWS_* only
source "$ENV_FILE"
set +a

read -r snapshot || true
# Checked before use: it becomes a restic argument and a file name.
[[ "${snapshot:-}" =~ ^[0-9a-f]{8,64}$ ]] || { log 'bad snapshot id'; exit 1; }

install -d -o root -g root -m 0700 "$STATE_DIR"
readonly started="$STATE_DIR/restore-$snapshot.started"
if [ ! -e "$started" ] && [ "$(messages)" -gt 0 ]; then
  log 'this host already holds mail: a whole restore never writes over it (restore-mailbox.sh adds instead)'
  exit 1
fi
touch "$started"

restic restore "$snapshot" --target / --include "$MAIL_ROOT" --include "$STATE_DIR/roundcube.sqlite3" >&2
# Owners by name, not by the old host's numbers (vmail's uid is whatever useradd gave it here).
chown -R vmail:vmail "$MAIL_ROOT"
chmod 0750 "$MAIL_ROOT"

# Roundcube's data (contacts, identities, settings), copied in with SQLite's online backup.
if [ -f "$STATE_DIR/roundcube.sqlite3" ] && [ -f "$ROUNDCUBE_DB" ]; then
  python3 -c 'import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' \
    "$STATE_DIR/roundcube.sqlite3" "$ROUNDCUBE_DB"
  log 'webmail data restored'
fi

# The backed-up Dovecot indexes may lag the messages they index: rebuilt from the files.
doveadm force-resync -A '*' >&2 || log 'doveadm force-resync reported problems (Dovecot rebuilds indexes as folders are opened)'
count="$(messages)"
log "$count message(s) restored from snapshot $snapshot"
printf '{"snapshot":"%s","messages":%s}\n' "$snapshot" "$count"
