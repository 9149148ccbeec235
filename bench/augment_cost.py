#!/usr/bin/python3
"""What augmentation costs a training step, measured on this machine.

    bench/augment_cost.py [--build DIR] [--images N] [--rounds R] [--threads T]

Trains examples/cifar10.cnn (the ResNet-8 with augment = [crop(padding=4),
flip]) and the same model without its augment line for one epoch of N
synthetic CIFAR-10 images (test/Inputs/synth_data.py writes them in the
real layout), in R rounds of back-to-back runs so that the machine's drift
cancels. The trainer's CSV log gives the training throughput (the steps
alone, gathering the batches included, evaluation left out). Prints the
medians, the ranges and the step time augmentation adds."""
import argparse
import csv
import os
import statistics
import subprocess
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def throughput(train, data, images, threads, log):
    subprocess.run([train, "--data", data, "--limit", str(images),
                    "--validation", "0", "--epochs", "1", "--quiet",
                    "--threads", str(threads), "--log", log],
                   check=True, stdout=subprocess.DEVNULL)
    with open(log) as f:
        return float(list(csv.DictReader(f))[-1]["images_per_second"])


def compile_model(cnnc, source, out):
    subprocess.run([cnnc, source, "-o", out], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    cnnc = os.path.join(a.build, "cnnc")
    model = os.path.join(TOP, "examples", "cifar10.cnn")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "cifar10")
        subprocess.run(["/usr/bin/python3",
                        os.path.join(TOP, "test", "Inputs", "synth_data.py"),
                        "cifar10", data, "--train", str(a.images),
                        "--test", "100"], check=True)
        plain_src = os.path.join(tmp, "plain.cnn")
        with open(model) as f, open(plain_src, "w") as out:
            out.writelines(l for l in f if not l.strip().startswith("augment ="))
        with_aug, plain = os.path.join(tmp, "aug"), os.path.join(tmp, "plain")
        compile_model(cnnc, model, with_aug)
        compile_model(cnnc, plain_src, plain)
        log = os.path.join(tmp, "log.csv")
        rates = {"augment": [], "none": []}
        for _ in range(a.rounds):
            rates["augment"].append(throughput(with_aug, data, a.images,
                                               a.threads, log))
            rates["none"].append(throughput(plain, data, a.images, a.threads,
                                            log))
    med = {k: statistics.median(v) for k, v in rates.items()}
    for k, v in rates.items():
        print("%-8s %8.1f img/s median (%.1f .. %.1f), %d rounds, %d threads"
              % (k, med[k], min(v), max(v), a.rounds, a.threads))
    extra = 1000 / med["augment"] - 1000 / med["none"]
    print("augmentation adds %.3f ms per image (%.1f%% of a step's time)"
          % (extra, 100 * extra / (1000 / med["none"])))


if __name__ == "__main__":
    main()
