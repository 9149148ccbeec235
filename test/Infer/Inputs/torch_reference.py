#!/usr/bin/python3
"""PyTorch's side of the parity test: the seed network as torch.nn with
the names cnnc gives its layers, PyTorch's default initialisation (seeded),
its state_dict saved as safetensors (standard library + numpy), and its
probabilities on the first N MNIST test images.

    torch_reference.py MNIST_DIR N OUT_DIR
writes OUT_DIR/w.safetensors, OUT_DIR/images.bin (N x 784 float32, pixel/255)
and OUT_DIR/probs.bin (N x 10 float32)."""
import collections, json, os, struct, sys
import numpy as np
import torch
import torch.nn as nn


def seed_net():
    L = collections.OrderedDict
    return nn.Sequential(L([
        ("conv2d_1", nn.Conv2d(1, 64, 3, padding=1)), ("r1", nn.ReLU()),
        ("conv2d_2", nn.Conv2d(64, 64, 3, padding=1)), ("r2", nn.ReLU()),
        ("p1", nn.AvgPool2d(2)), ("d1", nn.Dropout(0.25)),
        ("conv2d_3", nn.Conv2d(64, 32, 3, padding=1)), ("r3", nn.ReLU()),
        ("conv2d_4", nn.Conv2d(32, 32, 3, padding=1)), ("r4", nn.ReLU()),
        ("p2", nn.AvgPool2d(2)), ("d2", nn.Dropout(0.25)),
        ("flatten", nn.Flatten()),
        ("dense_1", nn.Linear(1568, 256)), ("r5", nn.ReLU()),
        ("d3", nn.Dropout(0.5)), ("dense_2", nn.Linear(256, 10))]))


def save_safetensors(state, path):
    header, blobs, at = {}, [], 0
    for name, t in state.items():
        blob = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    mnist, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(3)
    net = seed_net().eval()
    save_safetensors(net.state_dict(), os.path.join(out, "w.safetensors"))
    with open(os.path.join(mnist, "t10k-images-idx3-ubyte"), "rb") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784]
    x = raw.astype(np.float32).reshape(n, 1, 28, 28) / 255.0
    with torch.no_grad():
        p = torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()
    x.astype("<f4").tofile(os.path.join(out, "images.bin"))
    p.astype("<f4").tofile(os.path.join(out, "probs.bin"))


if __name__ == "__main__":
    main()
