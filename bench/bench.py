#!/usr/bin/python3
"""cnnc's benchmark: the seed network, cnnc against PyTorch, in one run.

    bench/bench.py [--threads N] [--build DIR] [--quick]

Measures, on this machine and in this run:
  - compile time of examples/mnist.cnn to a trainer (best of 3, -O2);
  - steady-state training throughput: two runs of one epoch on different
    numbers of images; the difference in images over the difference in
    epoch seconds leaves out start-up and the first batches;
  - the same with each fusion pass turned off, and with none;
  - inference throughput over 1,000 images and single-image latency;
  - peak resident memory of the trainer;
  - where the training time goes, op by op: every op is a function of its
    own in the generated code, so `perf record -e cpu-clock` (when perf
    works here) names them;
  - the inference object (cnnc --infer): its single-image latency and its
    size, code and read-only data, against the raw weights;
  - achieved GFLOP/s (210.15 MFLOP per trained image, 70.35 per inferred
    image) and the share of the machine's peak (../shared/bench/peak.c);
  - PyTorch (Debian's python3-torch) on the same network, data, batch,
    optimizer and threads, when it imports: ../shared/bench/torch_seed.py.
Prints a table with the ratios. Needs the build (scripts/build.sh) and
MNIST (scripts/fetch-mnist.sh)."""
import argparse, csv, json, os, re, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(TOP), "shared", "bench")
MNIST = os.path.join(TOP, "data", "mnist")
TRAIN_MFLOP, INFER_MFLOP = 210.15, 70.35
FUSIONS = ["fuse-softmax-xent", "fuse-conv-relu", "fuse-dense-act",
           "fuse-pool-dropout"]
ALL = ["infer-shapes"] + FUSIONS + ["autodiff", "optimizer", "plan-memory"]


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


def compile_trainer(cnnc, tmp, name, passes=None):
    exe = os.path.join(tmp, name)
    cmd = [cnnc, os.path.join(TOP, "examples", "mnist.cnn"), "-o", exe]
    if passes is not None:
        cmd.insert(1, "--passes=" + ",".join(passes))
    _, secs, _ = run(cmd)
    return exe, secs


def epoch_seconds(exe, tmp, images, threads):
    log = os.path.join(tmp, "log.csv")
    _, _, rss = run([exe, "--data", MNIST, "--epochs", "1", "--limit",
                     str(images), "--validation", "0", "--threads",
                     str(threads), "--quiet", "--log", log])
    with open(log) as f:
        row = list(csv.DictReader(f))[0]
    return float(row["seconds"]), rss


def train_throughput(exe, tmp, threads, small, large, repeats=2):
    """The best of `repeats` measurements: on shared hardware the slow
    ones measure the neighbours."""
    best, rss = 0.0, 0.0
    for _ in range(repeats):
        s1, _ = epoch_seconds(exe, tmp, small, threads)
        s2, r = epoch_seconds(exe, tmp, large, threads)
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


def profile(exe, tmp, threads, images):
    """Share of training time per op kernel, from perf's cpu-clock samples
    (a software event: it works where hardware counters do not)."""
    data = os.path.join(tmp, "perf.data")
    try:
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", data,
                        exe, "--data", MNIST, "--epochs", "1", "--limit",
                        str(images), "--validation", "0", "--threads",
                        str(threads), "--quiet"], check=True,
                       capture_output=True)
        out = subprocess.run(["perf", "report", "-i", data, "--stdio",
                              "--sort", "symbol"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([0-9.]+)%\s+\[\.\]\s+(\S+)", line)
        if m and ".train." in m.group(2):
            rows.append((m.group(2).split(".train.", 1)[1], float(m.group(1))))
    return rows


def machine_peak(tmp):
    src = os.path.join(SHARED, "peak.c")
    exe = os.path.join(tmp, "peak")
    if not os.path.exists(src):
        return None
    run(["cc", "-O2", "-mavx512f", "-mfma", src, "-o", exe])
    procs = [subprocess.Popen([exe], stdout=subprocess.PIPE, text=True)
             for _ in range(os.cpu_count() or 1)]
    total = 0.0
    for p in procs:
        m = re.search(r"avx512: ([0-9.]+)", p.communicate()[0])
        total += float(m.group(1)) if m else 0
    return total


def torch_peer(threads, images):
    script = os.path.join(SHARED, "torch_seed.py")
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                           capture_output=True)
    if probe.returncode != 0 or not os.path.exists(script):
        return None
    out, _, rss = run(["/usr/bin/python3", script, MNIST, "--threads",
                       str(threads), "--channels-last", "--images",
                       str(images), "--json"])
    r = json.loads(out)
    r["rss_mib"] = rss
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true",
                    help="fewer images: a smoke test of the benchmark")
    a = ap.parse_args()
    cnnc = os.path.join(a.build, "cnnc")
    small, large = (500, 1500) if a.quick else (1000, 6000)
    res = {"date": time.strftime("%Y-%m-%d"), "threads": a.threads}
    with tempfile.TemporaryDirectory() as tmp:
        exe, _ = compile_trainer(cnnc, tmp, "train")
        res["compile_s"] = min(compile_trainer(cnnc, tmp, "train")[1]
                               for _ in range(3))
        res["train_img_s"], res["rss_mib"] = train_throughput(
            exe, tmp, a.threads, small, large)
        res["fusion_off"] = {}
        for off in FUSIONS + ["all"]:
            passes = [p for p in ALL if p != off and not
                      (off == "all" and p in FUSIONS)]
            e, _ = compile_trainer(cnnc, tmp, "train_" + off, passes)
            res["fusion_off"][off] = train_throughput(e, tmp, a.threads,
                                                      small, large)[0]
        res.update(inference(cnnc, a.build, tmp, a.threads))
        res.update(inference_object(cnnc, tmp))
        res["profile"] = profile(exe, tmp, a.threads, large)
        res["peak_gflops"] = machine_peak(tmp)
    res["torch"] = torch_peer(a.threads, 10000 if not a.quick else 2000)
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
        print("training time by op (perf cpu-clock samples of one run; "
              "the test-set evaluation is left out):")
        total = sum(p for _, p in r["profile"])
        for name, p in r["profile"][:12]:
            print(f"  {name:28} {100 * p / total:5.1f}%")
    print("fusion, training images/s with one fusion pass off:")
    for k, v in r["fusion_off"].items():
        gain = r["train_img_s"] / v - 1
        print(f"  without {k:20} {v:8.1f}  (fusion gains {100 * gain:+.1f}%)")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
