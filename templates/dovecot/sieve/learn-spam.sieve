# /etc/dovecot/sieve/learn-spam.sieve, rendered by mailplane (imapsieve): a message put into
# Junk is learned as spam by Rspamd.
require ["vnd.dovecot.pipe", "copy", "imapsieve"];
pipe :copy "rspamd-learn-spam.sh";
