#!/usr/bin/python3
"""cnnc's benchmark set: five networks of different shapes, each against
its PyTorch twin, in one run.

    bench/networks.py [--threads N] [--build DIR] [--only NAME,...]
                      [--quick] [--no-torch] [--json FILE]
    bench/networks.py --flops MODEL.cnn [--build DIR]
        prints the multiply-add passes' FLOPs per image, and their
        forward total (which cnnc --summary also gives: the suite checks
        that they agree, test/Bench)

The networks (NETWORKS below): the seed network (examples/mnist.cnn),
LeNet-5 (bench/nets/lenet5.cnn: 6 and 16 channels, 5x5 kernels), the
ResNet example (examples/resnet.cnn: batchnorm, residual adds, strides
2), a network of odd channel counts (bench/nets/odd_channels.cnn) and a
colour network (bench/nets/colour.cnn, on a synthetic CIFAR-10 folder in
the real layout: no CIFAR-10 is needed, and the speed does not depend on
the pixels). For each, measured on this machine, now:
  - compile time of the trainer (best of 3);
  - steady-state training throughput (bench.py's: the difference of two
    one-epoch runs, best of 2), and PyTorch's (bench/torch_peer.py,
    channels-last, the same threads, batch and optimizer);
  - where a step's time goes, op by op: perf's cpu-clock samples per
    function (every op is one in the generated code), in a run of each of
    the two sizes, the small run's taken from the large one's, so that
    start-up and the test set drop out as they do from the throughput;
  - for every conv and dense layer, each pass (forward, backward-data,
    backward-weight): its CPU time per image, its FLOP rate per core and
    that as a share of one core's FMA peak (bench/fma_peak.c, in the same
    run). The FLOPs of a pass are the direct convolution's multiply-adds
    (2 each), from the shapes cnnc --print-ir gives: the usual "effective"
    count. A pass that runs by Winograd's algorithm (3x3, stride 1) does
    4/9 of them, so that its rate may pass the peak.
Needs the build (scripts/build.sh), MNIST (scripts/fetch-mnist.sh) and
perf for the profiles (linux-perf; without it they are left out)."""
import argparse, collections, json, math, os, re, subprocess, sys, tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "bench"))
from bench import (PERIOD_NS, compile_trainer, machine_peak,  # noqa: E402
                   perf_symbols, require_torch, run, small_test_data,
                   torch_peer, train_throughput)

NETWORKS = [  # name, model, data kind
    ("seed", "examples/mnist.cnn", "mnist"),
    ("lenet5", "bench/nets/lenet5.cnn", "mnist"),
    ("resnet", "examples/resnet.cnn", "mnist"),
    ("odd_channels", "bench/nets/odd_channels.cnn", "mnist"),
    ("colour", "bench/nets/colour.cnn", "cifar10"),
]
# the passes whose FLOPs are multiply-adds, by IR op: (pass, how to count)
PASSES = {"conv2d": "forward", "conv2d_bn": "forward",
          "conv2d_bwd_data": "backward-data",
          "conv2d_bwd_weight": "backward-weight",
          "dense": "forward", "dense_bwd_data": "backward-data",
          "dense_bwd_weight": "backward-weight"}
TARGET_SECONDS = 4.0   # the longer throughput run, roughly


def synthetic_cifar10(tmp, train, test=500):
    d = os.path.join(tmp, "cifar10")
    run([sys.executable, os.path.join(TOP, "test", "Inputs", "synth_data.py"),
         "cifar10", d, "--train", str(train), "--test", str(test)])
    return d


def ir_lines(cnnc, model):
    """(name, op, operand names, shape) of every IR value after the
    default pipeline."""
    out = run([cnnc, "--print-ir", model])[0]
    vals = []
    for line in out.splitlines():
        m = re.match(r"\s*%(\S+) = (\S+)(.*?)(?:\{.*\})? : f32\[([0-9x]+)\]",
                     line)
        if m:
            name, op, args, shape = m.groups()
            vals.append((name, op, re.findall(r"%(\S+?)(?:,|\s|$)", args),
                         [int(d) for d in shape.split("x")]))
    return vals


def pass_flops(vals):
    """{function name: (layer, pass, FLOPs per image)} for the passes
    whose work is multiply-adds. A conv weight is kh x kw x ci x co, a
    dense one in x out; the FLOPs of each pass are the forward's."""
    shape = {name: s for name, _, _, s in vals}
    res = {}
    for name, op, args, out in vals:
        kind = PASSES.get(op)
        if not kind:
            continue
        if op in ("conv2d", "conv2d_bn"):
            w = shape[args[1]]
            flops = 2 * math.prod(out) * math.prod(w) // w[-1]
            layer = name
        elif op == "conv2d_bwd_data":
            w, dy = shape[args[1]], shape[args[0]]
            flops = 2 * math.prod(dy) * math.prod(w) // w[-1]
            layer = args[1].rsplit(".", 1)[0]
        elif op == "conv2d_bwd_weight":
            dy = shape[args[1]]
            flops = 2 * math.prod(dy) * math.prod(out) // out[-1]
            layer = name[2:].rsplit(".", 1)[0]
        elif op == "dense":
            flops, layer = 2 * math.prod(shape[args[1]]), name
        elif op == "dense_bwd_data":
            flops = 2 * math.prod(shape[args[1]])
            layer = args[1].rsplit(".", 1)[0]
        else:
            flops, layer = 2 * math.prod(out), name[2:].rsplit(".", 1)[0]
        res[name] = (layer, kind, flops)
    return res


def sizes(train_mflop, quick):
    """(small, large) images of the two throughput runs: the large one
    about TARGET_SECONDS at 60 GFLOP/s, within MNIST's 60,000."""
    large = int(TARGET_SECONDS * 60e3 / train_mflop)
    large = max(3000, min(50000, large // 1000 * 1000))
    if quick:
        large = max(1500, large // 4)
    return large // 5, large


def measure(cnnc, tmp, net, a, peak_core):
    name, model, kind = net
    model = os.path.join(TOP, model)
    vals = ir_lines(cnnc, model)
    flops = pass_flops(vals)
    train_mflop = 3 * sum(f for (l, k, f) in flops.values()
                          if k == "forward") / 1e6
    small, large = sizes(train_mflop, a.quick)
    data = (small_test_data(tmp) if kind == "mnist"
            else synthetic_cifar10(tmp, large))
    exe, _ = compile_trainer(cnnc, tmp, name, model=model)
    r = {"name": name, "model": os.path.relpath(model, TOP),
         "train_mflop": train_mflop, "images": [small, large]}
    r["compile_s"] = min(compile_trainer(cnnc, tmp, name, model=model)[1]
                         for _ in range(3))
    r["train_img_s"], _ = train_throughput(exe, tmp, a.threads, small, large,
                                           data=data)
    r["train_gflops"] = r["train_img_s"] * train_mflop / 1e3
    r["profile"], r["profiled_us"] = op_profile(
        steady_samples(exe, tmp, data, a.threads, small, large), flops,
        large - small, peak_core)
    if r["profile"]:
        r["perf_scale"] = without_perf(r["profile"], r["profiled_us"],
                                       a.threads * 1e6 / r["train_img_s"])
    if not a.no_torch:
        t = torch_peer(cnnc, a.threads, large, model, data)
        r["torch_img_s"] = t["epochs"][0]["train_img_s"]
    return r


def steady_samples(exe, tmp, data, threads, small, large):
    """cpu-clock samples per symbol of the large run less the small
    one's: the images between the two sizes, in steady state. None
    without perf."""
    runs = [perf_symbols(exe, tmp, data, threads, n) for n in (small, large)]
    if None in runs:
        return None
    diff = runs[1]
    diff.subtract(runs[0])
    return diff


def op_profile(samples, flops, images, peak_core):
    """(rows, CPU us per image in all symbols): every training
    function's CPU time per image and share of all, most first; with
    the layer, pass and the share of a core's peak where the function
    is a multiply-add pass. (None, None) without perf."""
    if samples is None:
        return None, None
    total = sum(n for n in samples.values() if n > 0)
    rows = []
    for name, s in samples.most_common():
        if ".train." not in name or s <= 0:
            continue
        fn = name.split(".train.", 1)[1]
        us = s * PERIOD_NS / 1e3 / images
        row = {"function": fn, "us": us, "share": s / total}
        if fn in flops:
            layer, kind, f = flops[fn]
            gf = f / (us * 1e3) if us else 0.0
            row.update(layer=layer, kind=kind, gflops_core=gf,
                       of_peak=gf / peak_core)
        rows.append(row)
    return rows, total * PERIOD_NS / 1e3 / images


def print_flops(cnnc, model):
    flops = pass_flops(ir_lines(cnnc, model))
    for fn, (layer, kind, f) in flops.items():
        print(f"{fn} {layer} {kind} {f}")
    print("forward total", sum(f for _, k, f in flops.values()
                               if k == "forward"))


def without_perf(rows, profiled_us, steady_us):
    """Scales the profile's times to the run without perf: under perf
    every function runs slower alike (its sampling interrupts them all;
    here by 20-40%). The CPU time per image without perf is taken as the
    threads times the wall time, which counts any time a thread waits
    too, so the times stay upper bounds and the shares of peak lower
    bounds. Returns the factor."""
    k = min(1.0, steady_us / profiled_us)
    for row in rows:
        row["us_under_perf"] = row["us"]
        row["us"] *= k
        if "gflops_core" in row:
            row["gflops_core"] /= k
            row["of_peak"] /= k
    return k


def report(res):
    print(f"cnnc benchmark set, {res['date']}, {res['threads']} threads, "
          f"peak {res['peak_gflops']:.0f} GFLOP/s (all cores, measured now; "
          f"{res['peak_gflops_end']:.0f} at the end)")
    print(f"{'network':14}{'MFLOP/img':>10}{'cnnc img/s':>12}"
          f"{'PyTorch':>10}{'ratio':>8}{'GFLOP/s':>9}{'of peak':>8}"
          f"{'compile':>9}")
    for r in res["networks"]:
        t = r.get("torch_img_s")
        ratio = f"{r['train_img_s'] / t:.2f}x" if t else "-"
        print(f"{r['name']:14}{r['train_mflop']:10.2f}{r['train_img_s']:12.1f}"
              f"{(f'{t:.1f}' if t else '-'):>10}{ratio:>8}"
              f"{r['train_gflops']:9.1f}"
              f"{100 * r['train_gflops'] / res['peak_gflops']:7.0f}%"
              f"{r['compile_s']:8.2f}s")
    for r in res["networks"]:
        if not r["profile"]:
            continue
        steady = res["threads"] * 1e6 / r["train_img_s"]
        print(f"\n{r['name']}: where a step's time goes, CPU us per image "
              f"(all threads: {r['profiled_us']:.0f} under perf, "
              f"{steady:.0f} without; the times below scaled by "
              f"{r['perf_scale']:.2f} to the run without); the multiply-add "
              "passes with their effective FLOP rate a core (the direct "
              "algorithm's FLOPs) and its share of a core's peak")
        for row in r["profile"][:14]:
            extra = ""
            if "kind" in row:
                extra = (f"  {row['layer']} {row['kind']}: "
                         f"{row['gflops_core']:.1f} GFLOP/s, "
                         f"{100 * row['of_peak']:.0f}% of peak")
            print(f"  {row['function']:26}{row['us']:9.1f} us "
                  f"{100 * row['share']:5.1f}%{extra}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--only", default=None,
                    help="comma-separated names of NETWORKS to run")
    ap.add_argument("--quick", action="store_true",
                    help="fewer images: a smoke test of the benchmark")
    ap.add_argument("--no-torch", action="store_true",
                    help="leave PyTorch out (it takes minutes)")
    ap.add_argument("--json", default=None, help="also write the figures")
    ap.add_argument("--flops", metavar="MODEL", default=None,
                    help="print a model's FLOPs per pass and stop")
    a = ap.parse_args()
    if a.flops:
        print_flops(os.path.join(a.build, "cnnc"), a.flops)
        return
    if not a.no_torch:
        require_torch()
    nets = NETWORKS
    if a.only:
        want = a.only.split(",")
        unknown = set(want) - {n for n, _, _ in NETWORKS}
        if unknown:
            sys.exit(f"networks.py: no network {', '.join(sorted(unknown))}"
                     f" (there are {', '.join(n for n, _, _ in NETWORKS)})")
        nets = [n for n in NETWORKS if n[0] in want]
    cnnc = os.path.join(a.build, "cnnc")
    res = {"date": time.strftime("%Y-%m-%d"), "threads": a.threads,
           "host": os.uname().nodename, "networks": []}
    with tempfile.TemporaryDirectory() as tmp:
        res["peak_gflops"] = machine_peak(tmp)
        peak_core = res["peak_gflops"] / (os.cpu_count() or 1)
        for net in nets:
            res["networks"].append(measure(cnnc, tmp, net, a, peak_core))
        # once more at the end, printed beside the first: a check that
        # the machine stayed the same machine through the run
        res["peak_gflops_end"] = machine_peak(tmp)
    report(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
