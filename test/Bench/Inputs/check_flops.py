#!/usr/bin/env python3
"""check_flops.py BENCH_DIR BUILD_DIR MODEL... - for each model, the forward
FLOPs bench/networks.py counts pass by pass against the total cnnc
--summary prints; 'OK NAME N' when they agree, else a message and exit 1."""
import re, subprocess, sys

bench, build, models = sys.argv[1], sys.argv[2], sys.argv[3:]
status = 0
for m in models:
    ours = subprocess.run([sys.executable, f"{bench}/networks.py", "--build",
                           build, "--flops", m], check=True,
                          capture_output=True, text=True).stdout
    total = int(re.search(r"^forward total (\d+)$", ours, re.M).group(1))
    summary = subprocess.run([f"{build}/cnnc", "--summary", m], check=True,
                             capture_output=True, text=True).stdout
    theirs = int(re.search(r"Forward FLOPs per image: ([\d,]+)", summary)
                 .group(1).replace(",", ""))
    name = m.rsplit("/", 1)[-1]
    if total == theirs:
        print(f"OK {name} {total}")
    else:
        print(f"{name}: networks.py counts {total}, cnnc --summary {theirs}")
        status = 1
sys.exit(status)
