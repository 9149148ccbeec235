#!/usr/bin/python3
"""PyTorch's side of normalize-torch-parity.test: the torch.nn twin of a
.cnn file whose input has mean= and std= (test/Inputs/cnn_torch.py
normalises as transforms.Normalize does), with PyTorch's initialisation
(seeded), on random colour images.

    normalize_torch.py CNN N OUT_DIR
        writes OUT_DIR/w.safetensors (the state_dict), OUT_DIR/images.bin
        (N random images, N x H x W x C float32 in [0, 1]),
        OUT_DIR/probs.bin (the twin's probabilities, N x classes) and
        OUT_DIR/raw.bin (the same net's without the normalisation, which
        an object that skipped or misapplied it would compute)
"""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402


def main(cnn, n, out):
    import torch
    torch.manual_seed(11)
    net = cnn_torch.twin(cnn_torch.load_cnn(cnn))
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    last.weight.data *= 10  # far from uniform probabilities
    net.eval()
    cnn_torch.write_safetensors(os.path.join(out, "w.safetensors"),
                                net.state_dict())
    rng = np.random.default_rng(5)
    c, h, w = net.input_shape
    x = rng.random((n, c, h, w), dtype=np.float32)
    p = cnn_torch.predict(net, x)
    net.normalization = None
    raw = cnn_torch.predict(net, x)
    x.transpose(0, 2, 3, 1).astype("<f4").tofile(os.path.join(out, "images.bin"))
    p.astype("<f4").tofile(os.path.join(out, "probs.bin"))
    raw.astype("<f4").tofile(os.path.join(out, "raw.bin"))
    print("PyTorch: %d images, largest probability %.3f on average, "
          "normalised and raw differ by %.3f" % (n, p.max(1).mean(),
                                                 abs(p - raw).max()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
