#!/usr/bin/env python3
"""man_covers.py PAGE COMMAND... - every option COMMAND --help lists
appears in the man page PAGE as rendered (man -l): 'covers N options', or
the ones missing, exit 1."""
import os, re, subprocess, sys

page, command = sys.argv[1], sys.argv[2:]
helptext = subprocess.run(command + ["--help"], capture_output=True,
                          text=True, check=True).stdout
options = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", helptext)))
env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
rendered = subprocess.run(["man", "-l", page], capture_output=True,
                          text=True, check=True, env=env).stdout
rendered = re.sub(r".\x08", "", rendered)  # overstrike bold and underline
rendered = rendered.replace("\u2010", "-").replace("\u2212", "-")
missing = [o for o in options if o not in rendered]
if missing:
    sys.exit(f"man_covers.py: {page} lacks {', '.join(missing)}")
print(f"covers {len(options)} options")
