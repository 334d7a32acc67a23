#!/usr/bin/env bash
# quota-warning.sh for {{hostname}}, rendered by mailplane: Dovecot's quota-warning service runs
# it (as vmail) when a mailbox crosses 80 % or 95 % of its quota: PERCENT USER. The notice is
# delivered into the mailbox itself, past the quota (noenforcing), so it always arrives.
set -euo pipefail
PERCENT="$1"
USER="$2"
case "$PERCENT" in *[!0-9]*|'') exit 64 ;; esac
/usr/lib/dovecot/dovecot-lda -d "$USER" -o "plugin/quota=maildir:User quota:noenforcing" <<MAIL
From: postmaster@{{domain}}
To: $USER
Subject: Your mailbox is ${PERCENT}% full
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=utf-8

Your mailbox $USER uses ${PERCENT}% of its storage quota.
When it is full, new mail to it is refused. Delete or archive old mail (and empty the Trash),
or ask the administrator of {{domain}} for more space.
MAIL
