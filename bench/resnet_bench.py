#!/usr/bin/python3
"""examples/resnet.cnn: cnnc against its PyTorch twin, in one run.

    bench/resnet_bench.py [--threads N] [--build DIR] [--no-torch]

Measures on this machine, now:
  - training throughput of the cnnc trainer (steady state: the difference
    of two one-epoch runs on different numbers of images, so start-up and
    evaluation cancel), best of 2;
  - inference throughput of the trainer's inference function over 2,000
    images (calls of 50, all threads) and its single-image latency;
  - the inference object (cnnc --infer --weights, batchnorm folded): one
    image a call on one thread, the median of 200;
  - where the training time goes, op by op (perf's cpu-clock samples; every
    op is a function of its own in the generated code), grouped by kind;
  - the machine's FMA peak on as many threads (bench/fma_peak.c), and
    the share of it the trainer's inference and training reach (the
    forward FLOPs of `cnnc --summary`, three times that to train);
  - PyTorch (bench/resnet_torch.py, on the module cnnc --emit=torch
    writes, channels-last, the same threads, batch and optimizer) and the
    ratios.
Needs the build (scripts/build.sh) and MNIST (scripts/fetch-mnist.sh)."""
import argparse, collections, json, os, re, subprocess, sys, tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(TOP, "data", "mnist")
MODEL = os.path.join(TOP, "examples", "resnet.cnn")
sys.path.insert(0, os.path.join(TOP, "bench"))
from bench import epoch_seconds, perf_samples, run  # noqa: E402  (the seed benchmark's)


def train_rate(exe, tmp, threads, small=2000, large=8000):
    best = 0.0
    for _ in range(2):
        s1, _ = epoch_seconds(exe, tmp, small, threads)
        s2, _ = epoch_seconds(exe, tmp, large, threads)
        best = max(best, (large - small) / (s2 - s1))
    return best


def trainer_inference(cnnc, build, tmp, threads):
    obj, exe = os.path.join(tmp, "resnet.o"), os.path.join(tmp, "infer_bench")
    run([cnnc, "--emit=obj", MODEL, "-o", obj])
    run(["cc", "-O2", "-I", os.path.join(TOP, "runtime"), obj,
         os.path.join(TOP, "bench", "infer_bench.c"),
         os.path.join(build, "runtime", "libcnnrt.a"), "-lz", "-lm",
         "-pthread", "-o", exe])
    return json.loads(run([exe, str(threads), "2000", "5"])[0])


def object_latency(cnnc, exe_train, tmp):
    """The inference object with weights from a short training run."""
    w = os.path.join(tmp, "w.safetensors")
    run([exe_train, "--data", MNIST, "--epochs", "1", "--limit", "500",
         "--validation", "0", "--quiet", "--save", w])
    obj = os.path.join(tmp, "net.o")
    run([cnnc, "--infer", "--name=net", "--weights=" + w, MODEL, "-o", obj])
    ir = run([cnnc, "--infer", "--print-ir", "--weights=" + w, MODEL])[0]
    src = os.path.join(tmp, "lat.c")
    with open(src, "w") as f:
        f.write(LATENCY_C)
    exe = os.path.join(tmp, "lat")
    run(["cc", "-O2", "-I", tmp, "-I", os.path.join(TOP, "bench"), src, obj,
         "-lm", "-o", exe])
    out = json.loads(run([exe])[0])
    out["batchnorm_ops_left"] = len(re.findall(r"= batchnorm ", ir))
    return out


LATENCY_C = r"""
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include "net.h"
#include "timing.h"
int main(void) {
  static float in[NET_INPUT_SIZE], out[NET_OUTPUT_SIZE];
  static _Alignas(64) unsigned char scratch[NET_SCRATCH_SIZE];
  for (int i = 0; i < NET_INPUT_SIZE; i++) in[i] = (float)(i % 17) / 17;
  double t[200];
  for (int i = 0; i < 20; i++) net_infer(in, out, scratch);
  for (int i = 0; i < 200; i++) {
    double t0 = now();
    net_infer(in, out, scratch);
    t[i] = now() - t0;
  }
  printf("{\"object_batch1_ms\": %.4f}\n", median(t, 200) * 1e3);
  return 0;
}
"""


def ops_of(cnnc):
    """The op of every tensor of the train step: generated functions are
    named after the tensor they compute."""
    ir = run([cnnc, "--print-ir", MODEL])[0]
    return dict(re.findall(r"^\s*%(\S+) = (\w+)", ir, re.M))


def profile(cnnc, exe, tmp, threads, images=3000):
    ops = perf_samples(exe, tmp, MNIST, threads, images)
    if ops is None:
        return None
    total = sum(ops.values()) or 1
    kind = ops_of(cnnc)
    groups = collections.Counter()
    for fn, n in ops.items():
        groups[kind.get(fn, "other")] += n
    return {"by_op": {g: round(100 * n / total, 1) for g, n in groups.most_common()},
            "top": [(fn, kind.get(fn, "?"), round(100 * n / total, 1))
                    for fn, n in ops.most_common(8)]}


def fma_peak(tmp, threads):
    exe = os.path.join(tmp, "fma_peak")
    run(["cc", "-O2", "-march=native", "-I", os.path.join(TOP, "bench"),
         os.path.join(TOP, "bench", "fma_peak.c"), "-pthread", "-o", exe])
    return json.loads(run([exe, str(threads)])[0])["peak_gflops"]


def forward_mflop(cnnc):
    out = run([cnnc, "--summary", MODEL])[0]
    return float(re.search(r"\(([0-9.]+) MFLOP", out).group(1))


def torch_peer(cnnc, threads):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return json.loads(run(["/usr/bin/python3", os.path.join(TOP, "bench",
                                                           "resnet_torch.py"),
                           cnnc, str(threads), "60", "2000"])[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--no-torch", action="store_true")
    a = ap.parse_args()
    cnnc = os.path.join(a.build, "cnnc")
    r = {"threads": a.threads}
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "train")
        run([cnnc, MODEL, "-o", exe])
        r["train_img_s"] = round(train_rate(exe, tmp, a.threads), 1)
        r.update(trainer_inference(cnnc, a.build, tmp, a.threads))
        r.update(object_latency(cnnc, exe, tmp))
        r["profile"] = profile(cnnc, exe, tmp, a.threads)
        r["peak_gflops"] = fma_peak(tmp, a.threads)
    mflop = forward_mflop(cnnc)
    r["infer_gflops"] = round(r["infer_img_s"] * mflop / 1e3, 1)
    r["train_gflops"] = round(r["train_img_s"] * 3 * mflop / 1e3, 1)
    r["torch"] = None if a.no_torch else torch_peer(cnnc, a.threads)
    print(json.dumps(r))
    print("peak %.0f GFLOP/s: inference %.0f (%.0f%%), training %.0f (%.0f%%)" %
          (r["peak_gflops"], r["infer_gflops"],
           100 * r["infer_gflops"] / r["peak_gflops"], r["train_gflops"],
           100 * r["train_gflops"] / r["peak_gflops"]))
    t = r["torch"]
    if t:
        print("training  cnnc %.0f img/s, PyTorch %.0f: %.2fx" %
              (r["train_img_s"], t["train_img_s"], r["train_img_s"] / t["train_img_s"]))
        print("inference cnnc %.0f img/s, PyTorch %.0f: %.2fx" %
              (r["infer_img_s"], t["infer_img_s"], r["infer_img_s"] / t["infer_img_s"]))
        print("one image cnnc object %.3f ms, PyTorch %.3f ms: %.2fx" %
              (r["object_batch1_ms"], t["infer_batch1_ms"],
               t["infer_batch1_ms"] / r["object_batch1_ms"]))


main()
