#!/usr/bin/python3
# host-state.py for mail.example.com, rendered by mailplane. Answers the control plane's drift check:
# the sha256 of each managed file, the versions of the mail-stack packages, the state of its
# services, pending package updates, whether a reboot is required, the running and installed
# kernels, and the content of the (non-secret) files the control plane asks to read for a diff.
# Read-only: it must be safe to run at any time on a live server.
import glob, hashlib, json, os, subprocess, sys

req = json.load(sys.stdin)
out = dict(files={}, packages={}, services={}, contents={})

for path in req.get("files", []):
    try:
        with open(path, "rb") as f:
            out["files"][path] = hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        out["files"][path] = None

for path in req.get("read", []):
    try:
        with open(path, "rb") as f:
            out["contents"][path] = f.read(256 * 1024).decode("utf-8", "replace")
    except FileNotFoundError:
        out["contents"][path] = None

names = req.get("packages", [])
for name in names:
    out["packages"][name] = None
if names:
    q = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Abbrev}\n", *names], capture_output=True, text=True)
    for line in q.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].startswith("ii"):
            out["packages"][parts[0]] = parts[1]

def systemctl(verb, unit):
    return subprocess.run(["systemctl", verb, unit], capture_output=True, text=True).stdout.strip() or "unknown"

for unit in req.get("services", []):
    out["services"][unit] = {"enabled": systemctl("is-enabled", unit), "active": systemctl("is-active", unit)}

# What `apt-get upgrade` would install from the package lists unattended-upgrades keeps fresh
# (a simulation: no lock taken, nothing changed).
sim = subprocess.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"], capture_output=True, text=True)
pending, security = [], []
for line in sim.stdout.splitlines():
    if line.startswith("Inst "):
        name = line.split()[1]
        pending.append(name)
        if "-security" in line:
            security.append(name)
out["updates"] = {"pending": pending, "security": security}

out["rebootRequired"] = os.path.exists("/run/reboot-required")
try:
    with open("/run/reboot-required.pkgs") as f:
        out["rebootPackages"] = sorted(set(f.read().split()))
except FileNotFoundError:
    out["rebootPackages"] = []

# The newest installed kernel image against the running one: unequal means the new kernel waits for a reboot.
images = [p[len("/boot/vmlinuz-"):] for p in glob.glob("/boot/vmlinuz-*")]
newest = None
for version in images:
    if newest is None or subprocess.run(["dpkg", "--compare-versions", version, "gt", newest]).returncode == 0:
        newest = version
out["kernel"] = {"running": os.uname().release, "installed": newest}
with open("/proc/sys/kernel/random/boot_id") as f:
    out["bootId"] = f.read().strip()
json.dump(out, sys.stdout)
sys.stdout.write("\n")
