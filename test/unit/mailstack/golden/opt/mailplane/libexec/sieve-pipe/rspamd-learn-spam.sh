#!/usr/bin/env bash
# rspamd-learn-spam.sh, rendered by mailplane: Dovecot's imapsieve pipes a message put into
# Junk here (as vmail); Rspamd's controller on the loopback learns it as spam.
set -euo pipefail
exec /usr/bin/rspamc --connect 127.0.0.1:11334 learn_spam
