#!/usr/bin/python3
"""PyTorch's side of torch-emit.test: drives a module cnnc --emit=torch
wrote, as a user would (import it; build(), load(), save(), forward()).

    torch_emit.py keys MODULE.py SAVED.safetensors
        build()'s state_dict has exactly the tensors of the trainer's --save
        file: the same names, in the same order, shapes and dtypes
    torch_emit.py predict MODULE.py CHECKPOINT idx|cifar10 DATA N OUT_DIR
        load(CHECKPOINT) (eval mode) on the first N test images of DATA;
        writes OUT_DIR/images.bin (N x H x W x C float32, what the inference
        object takes) and OUT_DIR/torch.bin (the module's outputs, NHWC
        for an image)
    torch_emit.py reserved CNNC DIR
        every attribute of this PyTorch's nn.Module, every Python keyword and
        the class's own logits(), as the name of a dense layer: cnnc --emit=torch refuses each (exit
        status 1, the layer's line named; or, for 'train', a word of the
        .cnn language, its parser does); an ordinary name passes
    torch_emit.py train MODULE.py OUT.safetensors OUT_DIR
        build(), trained in PyTorch for a few SGD steps (train mode: the
        batchnorms' running statistics move), then save(OUT) and, in eval
        mode, OUT_DIR/images.bin and OUT_DIR/torch.bin for 20 random images;
        a model whose last layer is a softmax has logits(), the softmax's
        input
"""
import importlib.util
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ beside the module
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "Inputs"))
import cnn_torch  # noqa: E402


def import_module(path):
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keys(module_path, saved):
    import torch
    state = import_module(module_path).build().state_dict()
    arrays = cnn_torch.read_safetensors(saved)
    ours = [(k, tuple(v.shape), v.dtype) for k, v in state.items()]
    dtypes = {np.dtype("float32"): torch.float32, np.dtype("int64"): torch.int64}
    theirs = [(k, tuple(v.shape), dtypes[v.dtype]) for k, v in arrays.items()]
    if ours != theirs:
        sys.exit("keys: the module's %s\n  the checkpoint's %s" % (ours, theirs))
    print("keys: %d tensors, as the checkpoint's" % len(ours))


def to_nhwc(y):
    """The module's outputs as the inference object lays them out."""
    return y.transpose(0, 2, 3, 1) if y.ndim == 4 else y


def write_pair(out_dir, net, x):
    """images.bin (NHWC) and torch.bin of net on the NCHW images x."""
    import torch
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    np.ascontiguousarray(x.transpose(0, 2, 3, 1), np.float32).tofile(
        os.path.join(out_dir, "images.bin"))
    np.ascontiguousarray(to_nhwc(y), np.float32).tofile(
        os.path.join(out_dir, "torch.bin"))
    return y


def predict(module_path, checkpoint, kind, data, n, out_dir):
    net = import_module(module_path).load(checkpoint)
    if net.training:
        sys.exit("predict: load() did not return the module in eval mode")
    n = int(n)
    if kind == "idx":
        x = cnn_torch.idx_images(os.path.join(data, "t10k-images-idx3-ubyte"), n)
    else:
        x = cnn_torch.cifar_test_set(data, kind)[0][:n]
    y = write_pair(out_dir, net, x)
    print("predict: %d images, outputs %s" % (n, list(y.shape[1:])))


def train(module_path, out, out_dir):
    import torch
    module = import_module(module_path)
    torch.manual_seed(3)
    net = module.build()
    if not net.training:
        sys.exit("train: build() did not return the module in training mode")
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(5):
        x = torch.rand((8,) + module.INPUT_SHAPE)
        y = net(x)
        loss = (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    module.save(net, out)
    if os.path.exists(out + ".partial"):
        sys.exit("train: save() left %s.partial" % out)
    x = np.random.default_rng(5).random((20,) + module.INPUT_SHAPE, np.float32)
    y = write_pair(out_dir, net, x)
    if hasattr(net, "logits"):
        with torch.no_grad():
            z = net.logits(torch.from_numpy(x)).softmax(1).numpy()
        if not np.array_equal(y, z):
            sys.exit("train: forward() is not the softmax of logits()")
        print("train: forward() is the softmax of logits()")
    print("train: saved %d tensors" % len(net.state_dict()))


def emit(cnnc, folder, layer):
    """cnnc --emit=torch's exit status and stderr for a dense named layer."""
    import subprocess
    path = os.path.join(folder, "named.cnn")
    with open(path, "w") as f:
        f.write("model named {\n  input(4, 4, 1)\n  flatten()\n"
                "  %s = dense(3)\n}\n" % layer)
    run = subprocess.run([cnnc, "--emit=torch", path, "-o",
                          os.path.join(folder, "named.py")],
                         capture_output=True, text=True)
    return run.returncode, run.stderr


def reserved(cnnc, folder):
    import keyword
    import torch
    names = [n for n in dir(torch.nn.Module()) + keyword.kwlist + ["logits"]
             if n.isidentifier()]
    for name in names:
        status, err = emit(cnnc, folder, name)
        want = ("named.cnn:4:%d: error: --emit=torch: the layer name '%s' "
                "cannot name a PyTorch submodule" % (len(name) + 6, name))
        keyword_of_cnn = "named.cnn:4:3: error: syntax error" in err  # train
        if status != 1 or (want not in err and not keyword_of_cnn):
            sys.exit("reserved: '%s' gave status %d: %s" % (name, status, err))
    status, err = emit(cnnc, folder, "classifier")
    if status != 0:
        sys.exit("reserved: 'classifier' gave status %d: %s" % (status, err))
    print("reserved: %d names refused, an ordinary one passes" % len(names))


if __name__ == "__main__":
    commands = {"keys": keys, "predict": predict, "train": train,
                "reserved": reserved}
    commands[sys.argv[1]](*sys.argv[2:])
