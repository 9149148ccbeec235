#!/usr/bin/env python3
"""version_commit.py CNNC REPO - cnnc --version names the commit the
checkout REPO is at (the build's source; or one of its ancestors, for a
build older than the latest commits), or 'unknown' where REPO is not a
git checkout. Prints 'commit ok: ...' or why not, exit 1."""
import re, subprocess, sys

cnnc, repo = sys.argv[1], sys.argv[2]
out = subprocess.run([cnnc, "--version"], capture_output=True, text=True,
                     check=True).stdout
m = re.match(r"cnnc \S+ \(commit (\S+), LLVM \S+\)$", out.strip())
if not m:
    sys.exit(f"version_commit.py: unexpected --version: {out!r}")
git = subprocess.run(["git", "-C", repo, "rev-parse", "--short=12", "HEAD"],
                     capture_output=True, text=True)
want = git.stdout.strip() if git.returncode == 0 else "unknown"
said = m.group(1)
# a build from before the latest commits names one of their ancestors
# (the next build configures again and names HEAD)
older = want != "unknown" and said != "unknown" and subprocess.run(
    ["git", "-C", repo, "merge-base", "--is-ancestor", said, "HEAD"],
    capture_output=True).returncode == 0
if said != want and not older:
    sys.exit(f"version_commit.py: --version says commit {said}, "
             f"the source is at {want}")
print(f"commit ok: {said}")
