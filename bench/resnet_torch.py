#!/usr/bin/python3
"""The PyTorch twin of examples/resnet.cnn, timed on the same recipe.

    resnet_torch.py THREADS TRAIN_STEPS INFER_IMAGES

Channels-last (NHWC in memory, as cnnc computes), torch.set_num_threads,
Adam(lr 1e-3, eps 1e-7: Keras's, as cnnc uses), batch 50, random images
(the work does not depend on them). Prints one line of JSON: training
images/s over TRAIN_STEPS steps after 5 warm-up steps, eval-mode inference
images/s in batches of 50, and the single-image latency (median of 200).
cnnc's padding=same with stride 2 pads TensorFlow's way (the extra row and
column at the bottom and right): the twin pads alike before a padding=0
conv, so the networks are the same."""
import json, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, stride):
    return nn.Conv2d(cin, cout, 3, stride, 0, bias=False), nn.BatchNorm2d(cout)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1, self.bn1 = conv_bn(cin, cout, stride)
        self.conv2, self.bn2 = conv_bn(cout, cout, 1)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.proj_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        pad = (1, 1, 1, 1) if self.stride == 1 else (0, 1, 0, 1)
        y = F.relu(self.bn1(self.conv1(F.pad(x, pad))))
        y = self.bn2(self.conv2(F.pad(y, (1, 1, 1, 1))))
        short = x if self.proj is None else self.proj_bn(self.proj(x))
        return F.relu(y + short)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.blocks = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2),
                                    Block(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))


def images(n):
    x = torch.rand(n, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, 10, (n,))


def train_rate(model, steps, batch=50):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    model.train()
    x, y = images(batch)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
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
    threads, steps, count = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = ResNet().to(memory_format=torch.channels_last)
    train = train_rate(model, steps)
    rate, lat = infer_rate(model, count)
    print(json.dumps({"train_img_s": round(train, 1),
                      "infer_img_s": round(rate, 1),
                      "infer_batch1_ms": round(lat, 4),
                      "torch": torch.__version__}))


main()
