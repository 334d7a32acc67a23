#!/usr/bin/env python3
# backup-manifest.py for mail.example.com, rendered by mailplane: the message manifest
# that backup.sh writes before each restic backup, and the check after it.
#
#   scan ROOT                      every mailbox under ROOT (<domain>/<user>/Maildir):
#                                  per folder, each message's sha256 keyed by its Maildir
#                                  base name without the flags (":2,…": they change with
#                                  \Seen, the content does not)
#   settle MANIFEST ROOT SNAPSHOT  SNAPSHOT is `restic ls --json` of the new snapshot. A
#                                  message in the manifest but not in the snapshot is
#                                  "missing" while it is still on disk (Dovecot moved it
#                                  between restic reading cur/ and new/: back up again) and
#                                  "vanished" once deleted (dropped from the manifest)
#
# The control plane computes the same keys and digests over a restored snapshot
# (src/backups/manifest.ts); a drill compares the two.
import hashlib
import json
import os
import sys
import time


def message_key(name):
    return name.split(':', 1)[0]


def folders(maildir):
    yield 'INBOX', maildir
    for entry in sorted(os.listdir(maildir)):
        path = os.path.join(maildir, entry)
        if entry.startswith('.') and len(entry) > 1 and os.path.isdir(path):
            yield entry[1:], path


def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def maildirs(root):
    for domain in sorted(os.listdir(root)):
        ddir = os.path.join(root, domain)
        if domain.startswith('.') or not os.path.isdir(ddir):
            continue
        for user in sorted(os.listdir(ddir)):
            maildir = os.path.join(ddir, user, 'Maildir')
            if os.path.isdir(maildir):
                yield f'{user}@{domain}', maildir


def scan(root, hashes=True):
    mailboxes = {}
    for address, maildir in maildirs(root):
        box = {}
        for folder, path in folders(maildir):
            messages = {}
            # new/ before cur/: Dovecot moves new → cur, so a message moving meanwhile is seen once at least.
            for sub in ('new', 'cur'):
                try:
                    names = os.listdir(os.path.join(path, sub))
                except FileNotFoundError:
                    continue
                for name in names:
                    try:
                        messages[message_key(name)] = digest(os.path.join(path, sub, name)) if hashes else ''
                    except FileNotFoundError:
                        continue  # moved or deleted while we looked: the other directory, or gone
            box[folder] = {'count': len(messages), 'messages': dict(sorted(messages.items()))}
        mailboxes[address] = box
    return mailboxes


def snapshot_keys(listing, root):
    """(mailbox, folder, key) of every message file in a `restic ls --json` listing."""
    keys = set()
    prefix = root.rstrip('/') + '/'
    for line in listing:
        try:
            node = json.loads(line)
        except ValueError:
            continue
        path = node.get('path', '')
        if node.get('type') != 'file' or not path.startswith(prefix):
            continue
        parts = path[len(prefix):].split('/')
        # <domain>/<user>/Maildir/[.<folder>/](cur|new)/<file>
        if len(parts) == 5 and parts[2] == 'Maildir' and parts[3] in ('cur', 'new'):
            keys.add((f'{parts[1]}@{parts[0]}', 'INBOX', message_key(parts[4])))
        elif len(parts) == 6 and parts[2] == 'Maildir' and parts[3].startswith('.') and parts[4] in ('cur', 'new'):
            keys.add((f'{parts[1]}@{parts[0]}', parts[3][1:], message_key(parts[5])))
    return keys


def settle(manifest_path, root, listing_path):
    with open(manifest_path, encoding='utf-8') as f:
        manifest = json.load(f)
    with open(listing_path, encoding='utf-8') as f:
        in_snapshot = snapshot_keys(f, root)
    on_disk = scan(root, hashes=False)
    missing = vanished = 0
    for address, box in manifest['mailboxes'].items():
        for folder, entry in box.items():
            kept = {}
            for key, sha in entry['messages'].items():
                if (address, folder, key) in in_snapshot:
                    kept[key] = sha
                elif key in on_disk.get(address, {}).get(folder, {}).get('messages', {}):
                    missing += 1
                    kept[key] = sha
                else:
                    vanished += 1
            entry['messages'] = kept
            entry['count'] = len(kept)
    json.dump({'missing': missing, 'vanished': vanished, 'manifest': manifest}, sys.stdout, separators=(',', ':'))


def main(argv):
    if len(argv) == 2 and argv[0] == 'scan':
        created = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        json.dump({'version': 1, 'createdAt': created, 'root': os.path.abspath(argv[1]), 'mailboxes': scan(argv[1])}, sys.stdout, separators=(',', ':'))
        return 0
    if len(argv) == 4 and argv[0] == 'settle':
        settle(argv[1], argv[2], argv[3])
        return 0
    print('usage: backup-manifest.py scan ROOT | settle MANIFEST ROOT SNAPSHOT_LISTING', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
