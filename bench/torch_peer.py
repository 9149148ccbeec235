#!/usr/bin/python3
"""torch_peer.py - PyTorch on the same network, data and recipe: the peer
of bench.py's figures.

  /usr/bin/python3 bench/torch_peer.py MODEL.cnn DATA_DIR [--cnnc PATH]
      [--threads N] [--channels-last] [--images N] [--epochs E] [--json]

Writes the PyTorch module of MODEL.cnn with `cnnc --emit=torch` (default
cnnc: build/cnnc), trains its build() on the first N images of DATA_DIR
(MNIST's IDX files, or a CIFAR-10 folder's binary batches; default 10,000)
with the train block's batch and Adam's lr, as a PyTorch user would
(logits() and torch.nn.CrossEntropyLoss), then scores the test set. Prints, or with
--json writes one line of JSON with: epochs[].train_img_s (training images a second; the first 20 steps of the
first epoch are warm-up, left out), test_acc, infer_img_s (inference in
batches of 1,000), infer_batch1_ms (one image), params. Needs Debian's
python3-torch (run with /usr/bin/python3)."""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "test", "Inputs"))
import cnn_torch  # noqa: E402  (the suite's readers: .cnn recipe, data)

WARMUP_STEPS = 20


def cifar10_train(data, images):
    """The training records of a CIFAR-10 folder, data_batch_1..5.bin in
    order, as the trainer reads them (planes to C,H,W, bytes / 255)."""
    import numpy as np
    raw = np.concatenate([np.fromfile(os.path.join(data, f"data_batch_{k}.bin"),
                                      np.uint8) for k in range(1, 6)])
    records = raw.reshape(-1, 3073)[:images]
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255
    return x.copy(), records[:, 0].astype(np.int64)


def load(data, images):
    import numpy as np
    if os.path.exists(os.path.join(data, "data_batch_1.bin")):
        x, y = cifar10_train(data, images)
        tx, ty = cnn_torch.cifar_test_set(data, "cifar10")
        return x, y, tx, ty
    x = cnn_torch.idx_images(os.path.join(data, "train-images-idx3-ubyte"),
                             images)
    y = cnn_torch.idx_labels(os.path.join(data, "train-labels-idx1-ubyte"),
                             images)
    tx = cnn_torch.idx_images(os.path.join(data, "t10k-images-idx3-ubyte"))
    ty = cnn_torch.idx_labels(os.path.join(data, "t10k-labels-idx1-ubyte"))
    return x, y.astype(np.int64), tx, ty.astype(np.int64)


def emitted_module(cnnc, model):
    """The Python module `cnnc --emit=torch MODEL` writes, imported."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.py")
        subprocess.run([cnnc, "--emit=torch", model, "-o", path], check=True)
        spec = importlib.util.spec_from_file_location("emitted", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    if not hasattr(module.Model, "logits"):
        sys.exit("torch_peer.py: %s does not end in a softmax; the peer "
                 "trains with cross-entropy on logits()" % model)
    return module


def nchw(torch, a, channels_last):
    t = torch.from_numpy(a)
    return t.contiguous(memory_format=torch.channels_last) if channels_last \
        else t


def train_epoch(torch, net, opt, x, y, batch, channels_last):
    loss_fn = torch.nn.CrossEntropyLoss()
    steps, start = 0, None
    for at in range(0, len(x), batch):
        if steps == WARMUP_STEPS:
            start, counted = time.perf_counter(), at
        xb = nchw(torch, x[at:at + batch], channels_last)
        yb = torch.from_numpy(y[at:at + batch])
        opt.zero_grad(set_to_none=True)
        loss_fn(net.logits(xb), yb).backward()
        opt.step()
        steps += 1
    if start is None:
        sys.exit("torch_peer.py: too few images to time past the warm-up")
    return (len(x) - counted) / (time.perf_counter() - start)


def infer(torch, net, x, channels_last, batch):
    with torch.no_grad():
        start = time.perf_counter()
        out = [net(nchw(torch, x[i:i + batch], channels_last))
               for i in range(0, len(x), batch)]
        return torch.cat(out), time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--cnnc", default=os.path.join(TOP, "build", "cnnc"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    spec = cnn_torch.load_cnn(a.model)
    net = emitted_module(a.cnnc, a.model).build()
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
    batch = int(spec.train.get("batch", 50))
    opt_call = spec.train.get("optimizer")
    if opt_call is None or opt_call.name != "adam":
        sys.exit("torch_peer.py: the peer trains with adam, as the benchmarked "
                 "models do; this one's optimizer is another")
    lr = float(opt_call.kwargs.get("lr", opt_call.args[0] if opt_call.args
                                   else 0.001))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x, y, tx, ty = load(a.data, a.images)
    epochs = []
    for _ in range(a.epochs):
        net.train()
        epochs.append({"train_img_s": train_epoch(torch, net, opt, x, y,
                                                  batch, a.channels_last)})
    net.eval()
    probs, seconds = infer(torch, net, tx, a.channels_last, 1000)
    acc = float((probs.argmax(1).numpy() == ty).mean())
    one = tx[:1]
    infer(torch, net, one, a.channels_last, 1)  # warm
    times = [infer(torch, net, one, a.channels_last, 1)[1] for _ in range(50)]
    res = {"epochs": epochs, "test_acc": acc,
           "infer_img_s": len(tx) / seconds,
           "infer_batch1_ms": 1000 * sorted(times)[len(times) // 2],
           "params": sum(p.numel() for p in net.parameters())}
    print(json.dumps(res) if a.json else
          "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
