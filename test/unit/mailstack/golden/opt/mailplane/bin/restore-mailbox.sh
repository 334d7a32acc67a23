#!/usr/bin/env bash
# restore-mailbox.sh for mail.example.com, rendered by mailplane: restores one mailbox
# (or one folder of it) from a restic snapshot into a new folder such as
# "Restored 2026-12-07", beside the current mail, never over it. A message already
# in that folder (same Maildir base name) is not copied twice, so running it again
# is harmless. Dovecot then indexes the folder (doveadm force-resync).
#
# stdin: one line "SNAPSHOT ADDRESS TARGET_DATE [FOLDER]" (FOLDER: Maildir++ name,
# e.g. Sent; absent: every folder). stdout: one JSON object {"restored", "skipped", "folder"}.
set -euo pipefail
umask 077

readonly ENV_FILE=/etc/mailplane/backup.env
readonly MAIL_ROOT=/var/vmail

log() { printf 'restore-mailbox: %s\n' "$*" >&2; }

[ -r "$ENV_FILE" ] || { log "$ENV_FILE is missing (the control plane writes it)"; exit 1; }
set -a
# shellcheck source=/dev/null # written by the control plane: RESTIC_* and AWS_* only
source "$ENV_FILE"
set +a

read -r snapshot address target_date folder || true
# Checked before use: they become paths and restic arguments.
[[ "$snapshot" =~ ^[0-9a-f]{8,64}$ ]] || { log 'bad snapshot id'; exit 1; }
[[ "$address" =~ ^[a-z0-9]([a-z0-9._+-]{0,62}[a-z0-9])?@[a-z0-9.-]+$ ]] || { log 'bad address'; exit 1; }
[[ "$target_date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || { log 'bad date'; exit 1; }
[[ -z "${folder:-}" || "$folder" =~ ^[A-Za-z0-9\ _\&,+-]{1,100}$ ]] || { log 'bad folder'; exit 1; }

readonly user="${address%@*}" domain="${address#*@}"
readonly maildir="$MAIL_ROOT/$domain/$user/Maildir"
readonly target_name="Restored $target_date"
[ -d "$maildir" ] || { log "no mailbox $address on this server"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
includes=(--include "$maildir")
if [ "${folder:-}" = INBOX ]; then includes=(--include "$maildir/cur" --include "$maildir/new")
elif [ -n "${folder:-}" ]; then includes=(--include "$maildir/.$folder"); fi
restic restore "$snapshot" --target "$work" "${includes[@]}" >&2

restored=0
skipped=0
# copy_folder SOURCE_DIR TARGET_DIR: every message of cur/ and new/ into TARGET_DIR/cur, once.
copy_folder() {
  local src="$1" dst="$2" file name key
  install -d -o vmail -g vmail -m 0700 "$dst" "$dst/cur" "$dst/new" "$dst/tmp"
  for file in "$src"/cur/* "$src"/new/*; do
    [ -f "$file" ] || continue
    name="${file##*/}"
    key="${name%%:*}"
    if compgen -G "$dst/cur/$key*" >/dev/null || compgen -G "$dst/new/$key*" >/dev/null; then
      skipped=$((skipped + 1))
      continue
    fi
    # Into cur/ with the flags it had (a message restored as unread would be a surprise of its own).
    install -o vmail -g vmail -m 0600 "$file" "$dst/cur/$name"
    restored=$((restored + 1))
  done
}

restored_root="$work$maildir"
if [ -d "$restored_root" ]; then
  # INBOX (the Maildir itself) becomes the restore folder; other folders go beneath it.
  if [ -z "${folder:-}" ] || [ "$folder" = INBOX ]; then
    copy_folder "$restored_root" "$maildir/.$target_name"
  fi
  for dir in "$restored_root"/.*/; do
    dir="${dir%/}"
    base="${dir##*/}"
    case "$base" in .|..) continue ;; esac
    [ -d "$dir/cur" ] || [ -d "$dir/new" ] || continue
    copy_folder "$dir" "$maildir/.$target_name.${base#.}"
  done
fi
chown vmail:vmail "$maildir"

doveadm force-resync -u "$address" "$target_name*" >&2 || doveadm force-resync -u "$address" '*' >&2
doveadm mailbox subscribe -u "$address" "$target_name" >/dev/null 2>&1 || true
log "$restored message(s) restored into \"$target_name\", $skipped already there"
printf '{"restored":%d,"skipped":%d,"folder":"%s"}\n' "$restored" "$skipped" "$target_name"
