#!/usr/bin/env python3
"""layout_ref.py - what layout_vectors.c should print, from the definitions:
PyTorch's conv weight [o][i][y][x] is cnnc's [y][x][i][o]; Linear's [o][j]
is cnnc's [in][o], where after a flatten of H x W x C the PyTorch input
j = (c*H + h)*W + w is cnnc's input (h*W + w)*C + c."""


def conv(kh, kw, ci, co):
    return [((y * kw + x) * ci + i) * co + o
            for o in range(co) for i in range(ci) for y in range(kh) for x in range(kw)]


def dense(n_in, n_out, hwc=None):
    h, w, c = hwc or (1, 1, n_in)
    cnnc_input = {(ch * h + y) * w + x: (y * w + x) * c + ch
                  for ch in range(c) for y in range(h) for x in range(w)}
    return [cnnc_input[j] * n_out + o for o in range(n_out) for j in range(n_in)]


def show(name, shape, values):
    print("%s [%s]" % (name, ", ".join(map(str, shape))), *values)


show("conv", [5, 2, 3, 2], conv(3, 2, 2, 5))
show("flat", [3, 24], dense(24, 3, (2, 3, 4)))
show("dense", [3, 4], dense(4, 3))
show("bias", [6], range(6))
