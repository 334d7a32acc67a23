# /etc/dovecot/sieve/spam-to-junk.sieve, rendered by mailplane: runs before the user's own
# Sieve rules (sieve_before). Rspamd's milter adds "X-Spam: Yes" at the domain's junk score;
# such mail goes to Junk and no later rule (forwarding, vacation) acts on it.
require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
  fileinto :create "Junk";
  stop;
}
