#!/usr/bin/env python3
"""Webmail auto-login token verifier (server side), installed by mailplane.

The control plane signs tokens in src/mailstack/webmail-token.ts; the format is
defined there and checked here:

    token   = base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))
    payload = UTF-8 JSON {"v": 1, "mbx": mailbox, "iat": unix s, "exp": unix s, "nonce": base64url}

base64url without padding; the MAC covers the encoded payload exactly as sent.
A token is accepted once: the MAC matches (constant-time), v is 1, the lifetime
exp - iat is at most 60 s, it has not expired, it was not issued in the future
(5 s clock skew), and its nonce was never seen before (SQLite, primary key).

`serve` answers nginx's auth_request for /autologin on 127.0.0.1: 204 with the
mailbox in X-Mailplane-Mailbox, or 403. `check` verifies one token from the
command line (same code path; --now exists for tests).
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import http.server
import json
import re
import sqlite3
import sys
import time
import urllib.parse

MAX_LIFETIME = 60
CLOCK_SKEW = 5
MAX_TOKEN_LENGTH = 1024
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
MAILBOX = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$")


class Rejected(Exception):
    """The token is not acceptable; the message says why (never the token itself)."""


def b64url_decode(text):
    if not B64URL.match(text):
        raise Rejected("malformed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise Rejected("malformed") from err


def read_key(path):
    with open(path, "r", encoding="ascii") as handle:
        key = base64.b64decode(handle.read().strip(), validate=True)
    if len(key) < 32:
        raise SystemExit("webmail key must be at least 32 bytes")
    return key


class NonceStore:
    """Nonces of accepted tokens, kept a little past their expiry, then pruned."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS used_nonces (nonce TEXT PRIMARY KEY, exp INTEGER NOT NULL)")

    def claim(self, nonce, exp, now):
        self.db.execute("DELETE FROM used_nonces WHERE exp < ?", (now - MAX_LIFETIME - CLOCK_SKEW,))
        try:
            self.db.execute("INSERT INTO used_nonces (nonce, exp) VALUES (?, ?)", (nonce, exp))
        except sqlite3.IntegrityError as err:
            raise Rejected("already used") from err


def verify(token, key, store, now, domain=None):
    """Returns the mailbox of a valid, unused token and records its nonce; raises Rejected otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise Rejected("malformed")
    payload_b64, mac_b64 = token.split(".")
    expected = hmac.new(key, payload_b64.encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64url_decode(mac_b64)):
        raise Rejected("bad signature")
    try:
        payload = json.loads(b64url_decode(payload_b64).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise Rejected("malformed payload") from err
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise Rejected("unknown version")
    mailbox, iat, exp, nonce = payload.get("mbx"), payload.get("iat"), payload.get("exp"), payload.get("nonce")
    if not isinstance(mailbox, str) or not MAILBOX.match(mailbox):
        raise Rejected("bad mailbox")
    if domain is not None and not mailbox.endswith("@" + domain):
        raise Rejected("mailbox of another domain")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
        raise Rejected("bad times")
    if exp <= iat or exp - iat > MAX_LIFETIME:
        raise Rejected("lifetime over 60 s")
    if iat > now + CLOCK_SKEW:
        raise Rejected("issued in the future")
    if now >= exp:
        raise Rejected("expired")
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64 or not B64URL.match(nonce):
        raise Rejected("bad nonce")
    store.claim(nonce, exp, now)
    return mailbox


def serve(args):
    key = read_key(args.key_file)
    store = NonceStore(args.nonce_db)
    host, port = args.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            if urllib.parse.urlsplit(self.path).path != "/verify":
                self.send_response(404)
                self.end_headers()
                return
            # nginx passes the client's request URI; the token is its "token" parameter.
            query = urllib.parse.urlsplit(self.headers.get("X-Original-URI", "")).query
            tokens = urllib.parse.parse_qs(query).get("token", [])
            try:
                if len(tokens) != 1:
                    raise Rejected("no token")
                mailbox = verify(tokens[0], key, store, int(time.time()), args.domain)
            except Rejected as err:
                sys.stderr.write("webmail-login: rejected (%s)\n" % err)
                self.send_response(403)
                self.end_headers()
                return
            sys.stderr.write("webmail-login: accepted for %s\n" % mailbox)
            self.send_response(204)
            self.send_header("X-Mailplane-Mailbox", mailbox)
            self.end_headers()

        def log_message(self, *_args):
            pass  # the request line holds no token, but the default log adds nothing useful

    # Single-threaded on purpose: nonce claims are serialised, and each answer is fast.
    http.server.HTTPServer((host, int(port)), Handler).serve_forever()


def check(args):
    try:
        now = args.now if args.now is not None else int(time.time())
        mailbox = verify(args.token, read_key(args.key_file), NonceStore(args.nonce_db), now, args.domain)
    except Rejected as err:
        print("rejected: %s" % err)
        return 1
    print(mailbox)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "check"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--key-file", required=True)
        cmd.add_argument("--nonce-db", required=True)
        cmd.add_argument("--domain")
        if name == "serve":
            cmd.add_argument("--listen", default="127.0.0.1:8025")
        else:
            cmd.add_argument("--now", type=int)
            cmd.add_argument("token")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
