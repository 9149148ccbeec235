#!/usr/bin/python3
"""PyTorch's side of the softmax parity tests: the torch.nn twin of
softmax_MODEL.cnn with the names cnnc gives its layers, random weights
saved as its state_dict in safetensors (standard library + numpy), and its
outputs on N random images.

    softmax_reference.py MODEL N OUT_DIR      (MODEL: image, between, output)
writes OUT_DIR/w.safetensors, OUT_DIR/images.bin (N images, H x W x C
float32, cnnc's NHWC) and OUT_DIR/outputs.bin (N outputs, an image output in
H x W x C order). Softmax(dim=1) on NCHW is Keras' Softmax(axis=-1) on NHWC:
per pixel, over the channels."""
import collections, os, sys
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import save_safetensors  # noqa: E402

L = collections.OrderedDict
MODELS = {  # input (H, W, C), the twin of softmax_MODEL.cnn
    "image": ((6, 5, 2), lambda: nn.Sequential(L([
        ("conv2d_1", nn.Conv2d(2, 4, 3, padding=1)),
        ("softmax_1", nn.Softmax(dim=1)),
        ("flatten_1", nn.Flatten()),
        ("dense_1", nn.Linear(6 * 5 * 4, 7)),
        ("dense_1_softmax", nn.Softmax(dim=1))]))),
    "between": ((3, 4, 2), lambda: nn.Sequential(L([
        ("flatten_1", nn.Flatten()),
        ("softmax_1", nn.Softmax(dim=1)),
        ("dense_1", nn.Linear(3 * 4 * 2, 5))]))),
    "output": ((4, 3, 2), lambda: nn.Sequential(L([
        ("conv2d_1", nn.Conv2d(2, 5, 3, padding=1)),
        ("softmax_1", nn.Softmax(dim=1))]))),
}


def main():
    model, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    (h, w, c), make = MODELS[model]
    torch.manual_seed(5)
    net = make().eval()
    with torch.no_grad():  # wide weights: softmaxes far from uniform
        for p in net.parameters():
            p.normal_(0, 1.5)
    save_safetensors(net.state_dict(), os.path.join(out, "w.safetensors"))
    x = np.random.default_rng(7).normal(0, 1, (n, h, w, c)).astype(np.float32)
    with torch.no_grad():
        y = net(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)
    x.astype("<f4").tofile(os.path.join(out, "images.bin"))
    y.contiguous().numpy().astype("<f4").tofile(os.path.join(out, "outputs.bin"))


if __name__ == "__main__":
    main()
