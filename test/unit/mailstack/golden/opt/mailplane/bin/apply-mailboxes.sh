#!/usr/bin/env bash
# apply-mailboxes.sh for mail.example.com, rendered by mailplane: after the control
# plane uploaded /etc/dovecot/users, /etc/postfix/virtual_mailboxes and
# /etc/postfix/sender_login_maps and /etc/postfix/virtual_aliases
# (src/mailstack/mailboxes.ts), check every line,
# rebuild the Postfix lookup tables and reload. Safe to run again.
set -euo pipefail

readonly DOMAIN='example.com'
readonly USERS=/etc/dovecot/users
readonly MAILBOXES=/etc/postfix/virtual_mailboxes
readonly SENDERS=/etc/postfix/sender_login_maps
readonly ALIASES=/etc/postfix/virtual_aliases
# App passwords (one file per service and slot) and the domain's junk score: mail-guard-files.ts.
readonly APP_PASSWORDS=/etc/dovecot/app-passwords
readonly APP_PASSWORD_SLOTS=10
readonly SPAM_SETTINGS=/etc/rspamd/local.d/settings.conf
readonly UUID='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# Same shapes as renderMailboxFiles: lowercase local part @ this domain.
readonly ADDRESS="[a-z0-9]([a-z0-9._+-]{0,62}[a-z0-9])?@${DOMAIN//./\\.}"
# shellcheck disable=SC2016 # literal $ of the hash syntax, not expansions
readonly HASH='\{(ARGON2ID\}\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|SHA512-CRYPT\}\$6\$(rounds=[0-9]+\$)?[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86})'

# check FILE REGEX: every line matches, or the script stops before anything changes.
check() {
  local file="$1" regex="$2" bad
  [ -f "$file" ] || { echo "apply-mailboxes: $file is missing" >&2; exit 1; }
  bad="$(grep -nvE "^${regex}\$" "$file" | head -n 3 | cut -d: -f1 | tr '\n' ' ' || true)"
  if [ -n "$bad" ]; then
    echo "apply-mailboxes: $file has malformed lines: $bad" >&2
    exit 1
  fi
}
check "$USERS" "${ADDRESS}:${HASH}::::::userdb_quota_rule=\\*:storage=[0-9]+M( allow_nets=127\\.0\\.0\\.1/32,::1/128)?"
for service in imap smtp; do
  for slot in $(seq 1 "$APP_PASSWORD_SLOTS"); do
    check "$APP_PASSWORDS/$service.$slot" "${ADDRESS}:${HASH}::::::mailplane_app=${UUID}"
  done
done
check "$SPAM_SETTINGS" '(#.*|mailplane_junk_score \{|  priority = high;|  rcpt = "@'"${DOMAIN//./\\.}"'";|  apply \{|    actions \{|      add_header = [0-9]{1,2}\.[0-9];|      greylist = null;|    }|  }|})'
check "$MAILBOXES" "${ADDRESS} OK"
check "$SENDERS" "${ADDRESS} ${ADDRESS}"
check "$ALIASES" "(postmaster|abuse|dmarc-reports)@${DOMAIN//./\\.} ${ADDRESS}"

chown root:dovecot "$USERS"
chmod 0640 "$USERS"
chown root:dovecot "$APP_PASSWORDS" "$APP_PASSWORDS"/*
chmod 0750 "$APP_PASSWORDS"
chmod 0640 "$APP_PASSWORDS"/*
chmod 0644 "$SPAM_SETTINGS"
chmod 0644 "$MAILBOXES" "$SENDERS" "$ALIASES"
postmap "hash:$MAILBOXES"
postmap "hash:$SENDERS"
postmap "hash:$ALIASES"
# Dovecot re-reads the passwd-file when it changes; flushing the auth cache makes
# a removed mailbox or a new password take effect at once.
doveadm auth cache flush >/dev/null 2>&1 || true
systemctl reload dovecot postfix
# Rspamd re-reads settings.conf (the junk score) on reload.
systemctl reload rspamd
echo "apply-mailboxes: $(grep -c . "$USERS" || true) mailbox(es) applied"
