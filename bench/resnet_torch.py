#!/usr/bin/python3
"""examples/resnet.cnn in PyTorch, timed on the same recipe.

    resnet_torch.py CNNC THREADS TRAIN_STEPS INFER_IMAGES

The module is the one `CNNC --emit=torch examples/resnet.cnn` writes,
trained on its logits() (cross-entropy), as a PyTorch user would.
Channels-last (NHWC in memory, as cnnc computes), torch.set_num_threads,
Adam(lr 1e-3, eps 1e-7: Keras's, as cnnc uses), batch 50, random images
(the work does not depend on them). Prints one line of JSON: training
images/s over TRAIN_STEPS steps after 5 warm-up steps, eval-mode inference
images/s in batches of 50, and the single-image latency (median of 200)."""
import json, os, statistics, sys, time

import torch
import torch.nn.functional as F

from torch_peer import TOP, emitted_module  # noqa: E402

MODEL = os.path.join(TOP, "examples", "resnet.cnn")


def images(n):
    x = torch.rand(n, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, 10, (n,))


def train_rate(model, steps, batch=50):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    model.train()
    x, y = images(batch)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model.logits(x), y).backward()
        opt.step()
    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def infer_rate(model, count, batch=50):
    model.eval()
    x, _ = images(batch)
    with torch.no_grad():
        for _ in range(3):
            model(x)
        t0 = time.perf_counter()
        for _ in range(count // batch):
            model(x)
        rate = (count // batch) * batch / (time.perf_counter() - t0)
        one, _ = images(1)
        lat = []
        for _ in range(200):
            t0 = time.perf_counter()
            model(one)
            lat.append(time.perf_counter() - t0)
    return rate, statistics.median(lat) * 1e3


def main():
    cnnc = sys.argv[1]
    threads, steps, count = (int(a) for a in sys.argv[2:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = emitted_module(cnnc, MODEL).build().to(memory_format=torch.channels_last)
    train = train_rate(model, steps)
    rate, lat = infer_rate(model, count)
    print(json.dumps({"train_img_s": round(train, 1),
                      "infer_img_s": round(rate, 1),
                      "infer_batch1_ms": round(lat, 4),
                      "torch": torch.__version__}))


main()
