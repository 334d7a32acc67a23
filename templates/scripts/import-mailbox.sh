#!/usr/bin/env bash
# import-mailbox.sh for {{hostname}}, rendered by mailplane: copies a mailbox from another
# provider's IMAP server into a mailbox of this server with Dovecot's own migration tool
# (dsync over imapc), and can be run again to copy only what arrived there since.
#
# One-way and additive, never a mirror: `doveadm sync -1 -R` pulls from the old server and
# changes nothing there; `doveadm backup -R` would make this mailbox an exact copy of the old
# one and so delete any mail that exists only here (mail delivered here since the DNS moved).
# dsync's state from the previous run (-s) lets a re-run start where that one ended: without
# it, a one-way sync that finds mail here which the old server lacks renumbers and can copy
# the same messages again.
#
# The connection: TLS always (imaps, or STARTTLS), the certificate verified against the host
# name the customer gave, and only ever to the address the control plane checked (public) and
# pinned: doveadm runs in a mount namespace of its own whose /etc/hosts names that address,
# and resolves in-process (an empty base_dir leaves Dovecot's dns-client service, which would
# ask DNS again, out of it). So a DNS answer that changed since the check is never followed.
#
# The old password arrives on stdin, is written only into a root-only config file under /run
# (tmpfs) for doveadm to read, and is removed with it when the script exits, whatever happens;
# it is never an argument (a process list shows those) and never printed.
#
# stdin, one value a line: ADDRESS HOST PINNED_ADDRESS PORT imaps|starttls USER STATE|- PASSWORD
# stderr: progress lines "import-mailbox: …". stdout, last line: {"folders":[{"name","before","after"}],"state"}.
set -euo pipefail
umask 077

log() { printf 'import-mailbox: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

IFS= read -r address || fail 'no request on stdin'
IFS= read -r host
IFS= read -r pinned
IFS= read -r port
IFS= read -r security
IFS= read -r user
IFS= read -r state
IFS= read -r password || true

# Checked before use: they become paths, config values and doveadm arguments.
[[ "$address" =~ ^[a-z0-9]([a-z0-9._+-]{0,62}[a-z0-9])?@[a-z0-9.-]+$ ]] || fail 'bad address'
[[ "$host" =~ ^[a-z0-9.:-]{1,253}$ ]] || fail 'bad host'
[[ "$pinned" =~ ^[0-9a-f.:]{2,45}$ ]] || fail 'bad pinned address'
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then fail 'bad port'; fi
[[ "$security" =~ ^(imaps|starttls)$ ]] || fail 'bad security (imaps or starttls)'
[[ "$user" =~ ^[^[:cntrl:]]{1,320}$ ]] || fail 'bad user'
[[ "$state" = - || ( "$state" =~ ^[A-Za-z0-9+/=]+$ && ${#state} -le 200000 ) ]] || fail 'bad state'
[ -n "$password" ] || fail 'no password'
[[ "$password" =~ [[:cntrl:]] ]] && fail 'the password holds a control character'
doveadm user "$address" >/dev/null 2>&1 || fail "no mailbox $address on this server"

work="$(mktemp -d /run/mailplane-import.XXXXXXXX)"
trap 'rm -rf "$work"' EXIT

# Dovecot config values in double quotes take \" and \\ as escapes and nothing else
# (no %variables, no $settings, no <file): the password reaches imapc as given.
quote() { local v="${1//\\/\\\\}"; printf '"%s"' "${v//\"/\\\"}"; }
{
  printf '!include /etc/dovecot/dovecot.conf\n'
  # In-process name resolution (see above); the auth socket by its full path.
  printf 'base_dir =\nauth_socket_path = /run/dovecot/auth-userdb\n'
  printf 'imapc_host = %s\nimapc_port = %s\nimapc_ssl = %s\nimapc_ssl_verify = yes\n' "$host" "$port" "$security"
  printf 'ssl_client_ca_dir = /etc/ssl/certs\n'
  printf 'imapc_user = %s\nimapc_password = %s\n' "$(quote "$user")" "$(quote "$password")"
  printf 'imapc_features = rfc822.size fetch-headers\nmail_prefetch_count = 20\n'
} >"$work/import.conf"
unset password
printf '127.0.0.1 localhost\n::1 localhost\n%s %s\n' "$pinned" "$host" >"$work/hosts"
# Read as /etc/hosts by doveadm after it has become the mail user; only the config stays root's.
chmod 0644 "$work/hosts"

# mailbox<TAB>messages per folder of the mailbox here.
counts() { doveadm -f tab mailbox status -u "$address" messages '*' | tail -n +2 | sort; }
counts >"$work/before"

log "connecting to $host ($pinned) port $port over $security as $user"
sync_once() {
  local in_state="$1"
  # shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
  unshare --mount --propagation private -- sh -c 'mount --bind "$1" /etc/hosts && exec doveadm -c "$2" sync -1 -R -s "$3" -u "$4" imapc:' \
    sh "$work/hosts" "$work/import.conf" "$in_state" "$address" >"$work/state" 2>"$work/errors"
}
[ "$state" = - ] && state=''
log 'copying'
code=0
sync_once "$state" || code=$?
# 2: done, but some changes could not be made (a mailbox changed meanwhile); dsync says to run again.
if [ "$code" -eq 2 ]; then
  log 'the old server changed during the copy; once more'
  code=0
  sync_once "$(tail -n 1 "$work/state")" || code=$?
fi
if [ "$code" -ne 0 ]; then
  # doveadm's own words ("Authentication failed", "SSL certificate doesn't match …"), without its prefixes.
  reason="$(sed -n 's/^.*Error: //p' "$work/errors" | grep -v -e '^Raw backtrace' -e '^Failed to initialize user: imapc: Login to' | tail -n 2 | tr '\n' ' ')"
  fail "the copy failed: ${reason:-doveadm sync exited with $code}"
fi
counts >"$work/after"
log 'copied; counting'

python3 - "$work/before" "$work/after" "$(tail -n 1 "$work/state")" <<'PY'
import json, sys
def read(path):
    out = {}
    for line in open(path, encoding='utf-8', errors='replace'):
        name, _, n = line.rstrip('\n').rpartition('\t')
        if name and n.isdigit():
            out[name] = int(n)
    return out
before, after = read(sys.argv[1]), read(sys.argv[2])
folders = [{"name": k, "before": before.get(k, 0), "after": after[k]} for k in sorted(after)]
print(json.dumps({"folders": folders, "state": sys.argv[3]}))
PY
