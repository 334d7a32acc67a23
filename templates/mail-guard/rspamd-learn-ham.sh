#!/usr/bin/env bash
# rspamd-learn-ham.sh, rendered by mailplane: Dovecot's imapsieve pipes a message moved out of
# Junk here (as vmail); Rspamd's controller on the loopback learns it as ham.
set -euo pipefail
exec /usr/bin/rspamc --connect 127.0.0.1:11334 learn_ham
