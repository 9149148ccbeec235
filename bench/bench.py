#!/usr/bin/python3
"""cnnc's benchmark: the seed network, cnnc against PyTorch, in one run.

    bench/bench.py [--threads N] [--build DIR] [--quick] [--pairs K]
                   [--no-torch]

Measures, on this machine and in this run:
  - compile time of examples/mnist.cnn to a trainer (best of 3, -O2);
  - steady-state training throughput: two runs of one epoch on different
    numbers of images; the difference in images over the difference in
    epoch seconds leaves out start-up and the first batches;
  - what each fusion pass (every `fuse-*` of `cnnc --list-passes`) gains,
    and all of them together, two ways, each from back-to-back pairs of
    runs with the pass on and off, taken in rounds over the passes, with
    the median and the range of the pairs (the noise): the whole training
    step; and the CPU time per image spent in the functions the pass
    changes, from perf's cpu-clock samples at a fixed period, scaled by
    the time of the functions it leaves alone: much less noisy on a
    shared machine;
  - inference throughput over 1,000 images and single-image latency;
  - peak resident memory of the trainer;
  - where the training time goes, op by op: every op is a function of its
    own in the generated code, so `perf record -e cpu-clock` (when perf
    works here) names them (the all-on runs of the fusion measurements);
  - the inference object (cnnc --infer): its single-image latency and its
    size, code and read-only data, against the raw weights;
  - achieved GFLOP/s (210.15 MFLOP per trained image, 70.35 per inferred
    image) and the share of the machine's peak (bench/fma_peak.c, in the
    same run);
  - PyTorch (Debian's python3-torch) on the same network, data, batch,
    optimizer and threads: bench/torch_peer.py, on the module
    `cnnc --emit=torch` writes for the .cnn. Without torch the benchmark stops and says
    so (--no-torch leaves the column out on purpose).
Prints a table with the ratios. Needs the build (scripts/build.sh) and
MNIST (scripts/fetch-mnist.sh)."""
import argparse, collections, csv, gzip, json, math, os, re, statistics
import struct, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(TOP, "bench")
MNIST = os.path.join(TOP, "data", "mnist")
MODEL = os.path.join(TOP, "examples", "mnist.cnn")
TRAIN_MFLOP, INFER_MFLOP = 210.15, 70.35
PERIOD_NS = 50000   # perf's cpu-clock period, ns; shorter ones cost time


def run(cmd, **kw):
    """Runs cmd; returns (stdout, seconds, peak RSS in MiB)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, **kw)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode})")
    return out, time.monotonic() - t0, usage.ru_maxrss / 1024


def compile_trainer(cnnc, tmp, name, passes=None, model=MODEL):
    exe = os.path.join(tmp, name)
    cmd = [cnnc, model, "-o", exe]
    if passes is not None:
        cmd.insert(1, "--passes=" + ",".join(passes))
    _, secs, _ = run(cmd)
    return exe, secs


def epoch_seconds(exe, tmp, images, threads, data=MNIST):
    log = os.path.join(tmp, "log.csv")
    _, _, rss = run([exe, "--data", data, "--epochs", "1", "--limit",
                     str(images), "--validation", "0", "--threads",
                     str(threads), "--quiet", "--log", log])
    with open(log) as f:
        row = list(csv.DictReader(f))[0]
    return float(row["seconds"]), rss


def train_throughput(exe, tmp, threads, small, large, repeats=2, data=MNIST):
    """The best of `repeats` measurements: on shared hardware the slow
    ones measure the neighbours."""
    best, rss = 0.0, 0.0
    for _ in range(repeats):
        s1, _ = epoch_seconds(exe, tmp, small, threads, data)
        s2, r = epoch_seconds(exe, tmp, large, threads, data)
        best, rss = max(best, (large - small) / (s2 - s1)), max(rss, r)
    return best, rss


def inference(cnnc, build, tmp, threads):
    obj = os.path.join(tmp, "mnist.o")
    exe = os.path.join(tmp, "infer_bench")
    run([cnnc, "--emit=obj", os.path.join(TOP, "examples", "mnist.cnn"),
         "-o", obj])
    run(["cc", "-O2", "-I", os.path.join(TOP, "runtime"), obj,
         os.path.join(TOP, "bench", "infer_bench.c"),
         os.path.join(build, "runtime", "libcnnrt.a"), "-lz", "-lm",
         "-pthread", "-o", exe])
    out, _, _ = run([exe, str(threads), "1000", "5"])
    return json.loads(out)


def inference_object(cnnc, tmp):
    """Latency of mnist_cnn_infer and the object's sections, in bytes."""
    d = os.path.join(tmp, "obj")
    os.makedirs(d, exist_ok=True)
    w = os.path.join(d, "w.safetensors")
    run([sys.executable, os.path.join(TOP, "test", "Infer", "Inputs",
                                      "make_mnist_weights.py"), w])
    obj = os.path.join(d, "mnist_cnn.o")
    run([cnnc, "--infer", "--weights=" + w,
         os.path.join(TOP, "examples", "mnist.cnn"), "-o", obj])
    exe = os.path.join(d, "latency")
    run(["cc", "-O2", "-I", d, os.path.join(TOP, "bench", "latency.c"), obj,
         "-lm", "-o", exe])
    r = json.loads(run([exe])[0])
    sections = run(["size", "-A", obj])[0]
    r["object_text"] = sum(int(l.split()[1]) for l in sections.splitlines()
                           if l.startswith(".text"))
    r["object_rodata"] = sum(int(l.split()[1]) for l in sections.splitlines()
                             if l.startswith(".rodata"))
    return r


def pipeline(cnnc):
    """All passes in order, and the fusions among them: asked of cnnc, so
    that a new fuse-* pass is measured without editing this file."""
    passes = run([cnnc, "--list-passes"])[0].split()
    return passes, [p for p in passes if p.startswith("fuse-")]


def without(passes, fusions, off):
    """The pipeline less the fusion `off`, or less every fusion ("all")."""
    gone = fusions if off == "all" else [off]
    return [p for p in passes if p not in gone]


def cut_idx(src, dst, count):
    """The IDX file src (plain or gzip) with its first `count` items only."""
    with (gzip.open if src.endswith(".gz") else open)(src, "rb") as f:
        raw = f.read()
    ndims = raw[3]
    dims = struct.unpack(f">{ndims}I", raw[4:4 + 4 * ndims])
    count = min(count, dims[0])
    with open(dst, "wb") as f:
        f.write(raw[:4] + struct.pack(">I", count) + raw[8:4 + 4 * ndims])
        f.write(raw[4 + 4 * ndims:][:count * math.prod(dims[1:])])


def small_test_data(tmp, images=500):
    """MNIST with the test set cut to `images`: every trainer run ends by
    testing, and the 10,000 test images cost seconds of each fusion run
    outside the epoch it measures. The training files are links."""
    d = os.path.join(tmp, "mnist_small_test")
    if os.path.isdir(d):
        return d
    os.makedirs(d)
    for f in os.listdir(MNIST):
        if f.startswith("train-"):
            os.symlink(os.path.join(MNIST, f), os.path.join(d, f))
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        src = os.path.join(MNIST, name)
        cut_idx(src if os.path.exists(src) else src + ".gz",
                os.path.join(d, name), images)
    return d


def ir_nodes(cnnc, passes):
    """(name, computation) of each IR node after `passes`; a node is the
    function <model>.train.<name>. The computation is the op, operand
    count, attributes and type: not the names, which the fusions shift
    (d.conv2d_4 is pool_dropout_bwd fused, act_bwd unfused)."""
    out = run([cnnc, "--print-ir", "--passes=" + ",".join(passes), MODEL])[0]
    nodes = []
    for line in out.splitlines():
        m = re.match(r"\s*%(\S+) = (\S+)(.*) : (\S+)", line)
        if m:
            name, op, rest, ty = m.groups()
            args, _, attrs = rest.partition("{")
            nodes.append((name, (op, args.count("%"), attrs, ty)))
    return nodes


def pattern_functions(on, off):
    """The functions a fusion touches, fused and unfused: the nodes of
    each variant whose computation the other lacks (counted as multisets,
    so a node that was only renamed drops out)."""
    def only(a, b):
        left = collections.Counter(c for _, c in b)
        names = []
        for name, c in a:
            if left[c]:
                left[c] -= 1
            else:
                names.append(name)
        return names
    return only(on, off), only(off, on)


def perf_samples(exe, tmp, data, threads, images):
    """cpu-clock samples per training function (the name after .train.)
    over one epoch of `images`; at a fixed period samples * period is CPU
    time, all threads counted. None where perf does not work."""
    every = perf_symbols(exe, tmp, data, threads, images)
    if every is None:
        return None
    samples = collections.Counter()
    for name, n in every.items():
        if ".train." in name:
            samples[name.split(".train.", 1)[1]] += n
    return samples


def perf_symbols(exe, tmp, data, threads, images):
    """cpu-clock samples per symbol of the whole trainer run (one epoch of
    `images`, then the test set), --no-bpf-event: a second less start-up.
    None where perf does not work."""
    out = os.path.join(tmp, "perf.data")
    try:
        subprocess.run(["perf", "record", "-q", "--no-bpf-event", "-e",
                        "cpu-clock", "-c", str(PERIOD_NS), "-o", out, exe,
                        "--data", data, "--epochs", "1", "--limit",
                        str(images), "--validation", "0", "--threads",
                        str(threads), "--quiet"], check=True,
                       capture_output=True)
        rep = subprocess.run(["perf", "report", "-i", out, "--stdio", "-n",
                              "--sort", "symbol"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    samples = collections.Counter()
    for line in rep.splitlines():
        m = re.match(r"\s*[0-9.]+%\s+(\d+)\s+\[[.k]\]\s+(\S+)", line)
        if m:
            samples[m.group(2)] += int(m.group(1))
    return samples


def us_per_image(samples, names, images):
    """CPU microseconds per image spent in the functions `names`."""
    return sum(samples[n] for n in names) * PERIOD_NS / 1e3 / images


def spread(xs):
    """Median, least and most: the figure and the noise around it."""
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def step_gains(pairs):
    """Whole-step gains of the (on, off) training images/s pairs."""
    r = {"on_img_s": [x for x, _ in pairs],
         "off_img_s": [y for _, y in pairs],
         "gains": [x / y - 1 for x, y in pairs]}
    return dict(r, **spread(r["gains"]))


def op_run(exe, names, tmp, data, threads, images):
    """One perf run: (microseconds per image in `names`, in the other
    training functions, samples per function); None without perf."""
    s = perf_samples(exe, tmp, data, threads, images)
    if s is None:
        return None
    pat = us_per_image(s, names, images)
    return pat, us_per_image(s, list(s), images) - pat, s


def op_gains(runs, images, fused, unfused):
    """The pattern's CPU time per image, fused and unfused, from (on, off)
    pairs of op_run. A shared VM's speed moves by 10-25% from run to run,
    mostly in all functions alike, so each run's pattern time is scaled
    by its time in the functions the pattern leaves alone (the same code
    in both variants): that cancels most of the drift. Not when they are
    too few to be a clock (under 2,000 samples a run: "all" leaves almost
    nothing alone). Also each function's time, unscaled, for a look at
    where the difference is."""
    flat = [r for pair in runs for r in pair]
    ref = statistics.median(r[1] for r in flat)
    scale = min(r[1] for r in flat) * images * 1e3 / PERIOD_NS >= 2000
    f, u = ([r[0] * ref / r[1] if scale else r[0] for r in side]
            for side in zip(*runs))
    gains = [x / y - 1 for x, y in zip(f, u) if y > 0] or [0.0]

    def by_function(side, names):
        return {n: statistics.mean(us_per_image(r[2], [n], images)
                                   for r in side) for n in names}
    on, off = zip(*runs)
    return dict(spread(gains), images=images, scaled=scale, ref_us=ref,
                fused_us=statistics.median(f),
                unfused_us=statistics.median(u), gains=gains,
                raw_us=[r[0] for r in flat], ref_run_us=[r[1] for r in flat],
                min_samples=min(r[0] for r in flat) * images * 1e3 / PERIOD_NS,
                fused_by_function=by_function(on, fused),
                unfused_by_function=by_function(off, unfused))


def profile(samples):
    """Share of the training functions' time per op, most first."""
    total = sum(samples.values())
    return [(n, 100 * s / total) for n, s in samples.most_common()]


def machine_peak(tmp):
    """all cores' FMA peak, GFLOP/s, measured now (bench/fma_peak.c)"""
    exe = os.path.join(tmp, "fma_peak")
    run(["cc", "-O2", "-march=native", os.path.join(BENCH, "fma_peak.c"),
         "-o", exe, "-pthread"])
    out, _, _ = run([exe, str(os.cpu_count() or 1)])
    return json.loads(out)["peak_gflops"]


def require_torch():
    """before minutes of measuring: the figures are ratios to PyTorch"""
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                           capture_output=True)
    if probe.returncode != 0:
        sys.exit("bench.py: PyTorch does not import in /usr/bin/python3 "
                 "(apt-get install python3-torch python3-numpy), and the "
                 "figures are ratios to it; --no-torch leaves it out")


def torch_peer(cnnc, threads, images, model=MODEL, data=MNIST):
    out, _, rss = run(["/usr/bin/python3", os.path.join(BENCH, "torch_peer.py"),
                       model, data, "--cnnc", cnnc,
                       "--threads", str(threads), "--channels-last",
                       "--images", str(images), "--json"])
    r = json.loads(out)
    r["rss_mib"] = rss
    return r


def fusion_variants(cnnc, tmp, fusions, passes):
    """Per fusion (and "all"): the functions it touches, and the trainer
    without it, when it changes anything in this model."""
    on = ir_nodes(cnnc, passes)
    res, exes = {}, {}
    for off in fusions + ["all"]:
        p = without(passes, fusions, off)
        fused, unfused = pattern_functions(on, ir_nodes(cnnc, p))
        res[off] = {"fused_functions": fused, "unfused_functions": unfused}
        if fused or unfused:
            exes[off] = compile_trainer(cnnc, tmp, "train_" + off, p)[0]
    return res, exes


def step_rounds(exe, exes, tmp, data, threads, sizes, k):
    """k rounds over the fusions of (on, off) training images/s pairs."""
    steps = {off: [] for off in exes}
    for _ in range(k):
        for off, e in exes.items():
            steps[off].append(tuple(train_throughput(
                x, tmp, threads, *sizes, 1, data)[0] for x in (exe, e)))
    return steps


def op_rounds(exe, exes, res, tmp, data, threads, images, k):
    """k rounds over the fusions of (on, off) op_run pairs; None without
    perf."""
    ops = {off: [] for off in exes}
    for _ in range(k):
        for off, e in exes.items():
            pair = [op_run(x, res[off][side + "_functions"], tmp, data,
                           threads, images)
                    for x, side in ((exe, "fused"), (e, "unfused"))]
            if None in pair:
                return None
            ops[off].append(pair)
    return ops


def fusions_measured(cnnc, tmp, exe, a):
    """What each fusion, and all of them, gains: whole step and pattern
    ops, each from on/off pairs of runs taken in rounds over the fusions,
    so that a fusion's pairs spread over the run and a slow spell of the
    machine does not fall on one fusion's pairs only. Also the op profile
    from all the all-on perf runs together."""
    passes, fusions = pipeline(cnnc)
    data = small_test_data(tmp)
    small, large, images, op_k = ((500, 1500, 500, 1) if a.quick
                                  else (500, 3500, 1500, 5))
    res, exes = fusion_variants(cnnc, tmp, fusions, passes)
    steps = step_rounds(exe, exes, tmp, data, a.threads, (small, large),
                        a.pairs)
    ops = op_rounds(exe, exes, res, tmp, data, a.threads, images, op_k)
    on = collections.Counter()
    for off in exes:
        res[off].update(step_gains(steps[off]))
        if ops:
            res[off]["ops"] = op_gains(ops[off], images,
                                       res[off]["fused_functions"],
                                       res[off]["unfused_functions"])
            for pair in ops[off]:
                on.update(pair[0][2])
    return res, profile(on) if on else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true",
                    help="fewer images: a smoke test of the benchmark")
    ap.add_argument("--pairs", type=int, default=None,
                    help="on/off pairs of whole-step runs per fusion "
                    "(3; --quick: 1)")
    ap.add_argument("--no-torch", action="store_true",
                    help="leave PyTorch out (it takes minutes)")
    a = ap.parse_args()
    a.pairs = a.pairs or (1 if a.quick else 3)
    if not a.no_torch:
        require_torch()
    cnnc = os.path.join(a.build, "cnnc")
    small, large = (500, 1500) if a.quick else (1000, 6000)
    res = {"date": time.strftime("%Y-%m-%d"), "threads": a.threads}
    with tempfile.TemporaryDirectory() as tmp:
        exe, _ = compile_trainer(cnnc, tmp, "train")
        res["compile_s"] = min(compile_trainer(cnnc, tmp, "train")[1]
                               for _ in range(3))
        res["train_img_s"], res["rss_mib"] = train_throughput(
            exe, tmp, a.threads, small, large)
        res["fusion"], res["profile"] = fusions_measured(cnnc, tmp, exe, a)
        res.update(inference(cnnc, a.build, tmp, a.threads))
        res.update(inference_object(cnnc, tmp))
        res["peak_gflops"] = machine_peak(tmp)
    res["torch"] = None if a.no_torch else torch_peer(
        cnnc, a.threads, 10000 if not a.quick else 2000)
    report(res)


def report(r):
    t = r.get("torch") or {}
    tt = t.get("epochs", [{}])[0].get("train_img_s")
    train_gf = r["train_img_s"] * TRAIN_MFLOP / 1e3
    infer_gf = r["infer_img_s"] * INFER_MFLOP / 1e3
    peak = r["peak_gflops"]

    def ratio(a, b, inverse=False):
        if not a or not b:
            return ""
        return f"{(b / a if inverse else a / b):.2f}x"

    def pct(gf):
        return f"{100 * gf / peak:.0f}% of peak" if peak else ""

    print(f"cnnc benchmark, {r['date']}, {r['threads']} threads, "
          f"{os.uname().nodename}")
    print(f"{'':34}{'cnnc':>12}{'PyTorch':>12}{'ratio':>9}")
    rows = [
        ("training, images/s", r["train_img_s"], tt, ratio(r["train_img_s"], tt)),
        ("inference (1000 images), images/s", r["infer_img_s"],
         t.get("infer_img_s"), ratio(r["infer_img_s"], t.get("infer_img_s"))),
        ("single-image latency, ms", r["infer_batch1_ms"],
         t.get("infer_batch1_ms"),
         ratio(r["infer_batch1_ms"], t.get("infer_batch1_ms"), True)),
        ("trainer peak memory, MiB", r["rss_mib"], t.get("rss_mib"),
         ratio(r["rss_mib"], t.get("rss_mib"), True)),
        ("inference object latency, ms", r["object_latency_ms"],
         t.get("infer_batch1_ms"),
         ratio(r["object_latency_ms"], t.get("infer_batch1_ms"), True)),
    ]
    for name, a, b, q in rows:
        bs = f"{b:12.1f}" if b else f"{'-':>12}"
        print(f"{name:34}{a:12.1f}{bs}{q:>9}")
    print(f"compile time of examples/mnist.cnn: {r['compile_s']:.2f} s")
    print(f"inference object: .text {r['object_text']:,} bytes, .rodata "
          f"{r['object_rodata']:,} bytes (raw weights {469514 * 4:,})")
    print(f"training: {train_gf:.1f} GFLOP/s {pct(train_gf)}; inference: "
          f"{infer_gf:.1f} GFLOP/s {pct(infer_gf)}"
          + (f" (peak {peak:.0f} GFLOP/s, all cores)" if peak else ""))
    if r.get("profile"):
        print("training time by op (perf cpu-clock samples of the all-on "
              "runs below; the test-set evaluation is left out):")
        total = sum(p for _, p in r["profile"])
        for name, p in r["profile"][:12]:
            print(f"  {name:28} {100 * p / total:5.1f}%")
    report_fusion(r["fusion"])
    print(json.dumps(r))


def gain_range(g):
    """A gain, and its range over the pairs, "within noise" when the
    pairs disagree in sign."""
    n = len(g["gains"])
    if n == 1:
        return f"{100 * g['median']:+.1f}%", "1 pair"
    noise = ", within noise" if g["min"] < 0 < g["max"] else ""
    return (f"{100 * g['median']:+.1f}%", f"median of {n} pairs, "
            f"{100 * g['min']:+.1f}%..{100 * g['max']:+.1f}%{noise}")


def report_fusion(fusion):
    """Per fusion: the whole step's gain with its spread over the pairs,
    and the time of the ops it changes, fused against unfused."""
    print("fusion gains, one fusion pass off at a time (median, and range "
          "over back-to-back on/off pairs of runs):\n"
          "  whole step: training images/s, on over off;\n"
          "  pattern ops: CPU time per image in the functions the pass "
          "changes (perf cpu-clock,\n  all threads), scaled by the time of "
          "those it leaves alone to cancel the VM's drift:")
    for name, f in fusion.items():
        if not f["fused_functions"] and not f["unfused_functions"]:
            print(f"  {name}: the pass changes nothing in this model")
            continue
        print(f"  {name}: whole step %s (%s)" % gain_range(f))
        o = f.get("ops")
        if o:
            few = "; few samples" if o["min_samples"] < 200 else ""
            raw = "" if o["scaled"] else "; not scaled: it leaves too little"
            print(f"  {name}: pattern ops {o['fused_us']:.1f} us/image fused "
                  f"vs {o['unfused_us']:.1f} unfused (%s; %s{few}{raw})"
                  % gain_range(o))


if __name__ == "__main__":
    main()
