#!/usr/bin/env python3
"""version_commit.py CNNC REPO - cnnc --version names the commit the
checkout REPO is at (the build's source), or 'unknown' where REPO is not
a git checkout. Prints 'commit ok: ...' or why not, exit 1."""
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
if m.group(1) != want:
    sys.exit(f"version_commit.py: --version says commit {m.group(1)}, "
             f"the source is at {want}")
print(f"commit ok: {want}")
