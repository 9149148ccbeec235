"""cnn_torch.py - the torch.nn twin of a .cnn file, for the parity tests.

A test that compares cnnc with PyTorch needs the same network written
twice; writing it by hand for every .cnn drifts. This module reads the
.cnn file itself and builds the twin: a Module whose submodules carry
cnnc's layer names, so that its state_dict has exactly the names of a
cnnc checkpoint (NAME.weight, NAME.bias, NAME.running_mean, ...).

    spec = parse(open("net.cnn").read())   # the model and train blocks
    net = twin(spec)                        # NCHW in, probabilities out
    write_safetensors(path, net.state_dict())

What the twin copies from cnnc (docs/language.md):
- automatic names: one counter per kind, stepping around user names;
- padding=same is TensorFlow's: an odd total padding puts the extra zero
  row/column at the bottom/right;
- flatten of NCHW numbers the inputs C,H,W, as cnnc's checkpoints expect;
- concat joins along channels, add sums, from=NAME reads a named layer.

Also here, with numpy only: safetensors files (F32 and I64) and MNIST's
IDX files."""
import collections
import json
import math
import os
import re
import struct

import numpy as np

# ---- the .cnn syntax --------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*|//[^\n]*)
  | (?P<number>(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|\d+[eE][-+]?\d+)
  | (?P<int>\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(\\.|[^"\\\n])*")
  | (?P<punct>[{}()\[\]=,-])""", re.X)

Call = collections.namedtuple("Call", "name args kwargs")
Layer = collections.namedtuple("Layer", "name kind args kwargs")
Spec = collections.namedtuple("Spec", "name layers train")


def tokens(text):
    """(kind, value) pairs; comments and whitespace dropped."""
    out, at = [], 0
    while at < len(text):
        m = TOKEN.match(text, at)
        if not m:
            raise SyntaxError("cnn_torch: unexpected %r at byte %d"
                              % (text[at], at))
        at = m.end()
        kind = m.lastgroup
        if kind == "number":
            out.append(("value", float(m.group())))
        elif kind == "int":
            out.append(("value", int(m.group())))
        elif kind == "string":
            out.append(("value", json.loads(m.group())))
        elif kind != "space":
            out.append((kind, m.group()))
    return out + [("end", None)]


class Parser:
    """Recursive descent over the grammar of docs/language.md, section 2."""

    def __init__(self, text):
        self.toks, self.at = tokens(text), 0

    def peek(self, ahead=0):
        return self.toks[self.at + ahead]

    def take(self, value=None):
        kind, v = self.toks[self.at]
        if value is not None and v != value:
            raise SyntaxError("cnn_torch: expected %r, got %r" % (value, v))
        self.at += 1
        return v

    def value(self):  # INT | FLOAT | - number | IDENT | STRING | call | list
        kind, v = self.peek()
        if v == "-":
            self.take()
            return -self.take()
        if v == "[":
            return self.items()
        self.take()
        if kind == "ident" and self.peek()[1] == "(":
            return Call(v, *self.args())
        return v

    def args(self):  # "(" [ arg { "," arg } [ "," ] ] ")"
        self.take("(")
        args, kwargs = [], {}
        while self.peek()[1] != ")":
            if self.peek()[0] == "ident" and self.peek(1)[1] == "=":
                key = self.take()
                self.take("=")
                kwargs[key] = self.value()
            else:
                args.append(self.value())
            if self.peek()[1] != ")":
                self.take(",")
        self.take(")")
        return args, kwargs

    def items(self):  # "[" [ value { "," value } [ "," ] ] "]"
        self.take("[")
        items = []
        while self.peek()[1] != "]":
            items.append(self.value())
            if self.peek()[1] != "]":
                self.take(",")
        self.take("]")
        return items

    def layer(self):  # [ IDENT "=" ] IDENT "(" args ")"
        name = None
        if self.peek(1)[1] == "=":
            name = self.take()
            self.take("=")
        kind = self.take()
        return Layer(name, kind, *self.args())

    def block(self, item):
        self.take("{")
        items = []
        while self.peek()[1] != "}":
            items.append(item())
        self.take("}")
        return items

    def setting(self):  # IDENT "=" value
        key = self.take()
        self.take("=")
        return key, self.value()

    def file(self):
        name, layers, train = None, [], {}
        while self.peek()[0] != "end":
            if self.take() == "model":
                name = self.take()
                layers = self.block(self.layer)
            else:
                train = dict(self.block(self.setting))
        return Spec(name, name_layers(layers), train)


def name_layers(layers):
    """cnnc's names: the user's, else KIND_N with one counter per kind that
    steps over the names users took; the input is `input`."""
    taken = {l.name for l in layers if l.name}
    counters = collections.Counter()
    named = []
    for l in layers:
        name = l.name
        while name is None or (not l.name and name in taken):
            if l.kind == "input":
                name = "input"
                break
            counters[l.kind] += 1
            name = "%s_%d" % (l.kind, counters[l.kind])
        named.append(l._replace(name=name))
    return named


def parse(text):
    return Parser(text).file()


# ---- shapes -----------------------------------------------------------------

POSITIONAL = {"input": ("height", "width", "channels"),
              "conv2d": ("filters", "kernel"), "maxpool": ("size",),
              "avgpool": ("size",), "dropout": ("rate",), "dense": ("units",),
              "leaky_relu": ("alpha",)}
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax")


def options(layer):
    """The layer's arguments by parameter name (add/concat: `inputs`)."""
    if layer.kind in ("add", "concat"):
        return dict(layer.kwargs, inputs=list(layer.args))
    return dict(zip(POSITIONAL.get(layer.kind, ()), layer.args), **layer.kwargs)


def same_padding(size, kernel, stride):
    """TensorFlow's: (before, after); the odd one out goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def out_shape(kind, o, shapes):
    """The output shape (C, H, W) or (N,) of a layer reading `shapes`."""
    s = shapes[0]
    if kind == "conv2d":
        k, st = o["kernel"], o.get("stride", 1)
        if o.get("padding", "valid") == "same":
            return (o["filters"],) + tuple(math.ceil(d / st) for d in s[1:])
        return (o["filters"],) + tuple((d - k) // st + 1 for d in s[1:])
    if kind in ("maxpool", "avgpool"):
        p, st = o["size"], o.get("stride", o["size"])
        return (s[0],) + tuple((d - p) // st + 1 for d in s[1:])
    if kind == "flatten":
        return (int(np.prod(s)),)
    if kind == "dense":
        return (o["units"],)
    if kind in ("globalavgpool", "globalmaxpool"):
        return (s[0],)
    if kind == "concat":
        return (sum(x[0] for x in shapes),) + s[1:]
    return s


# ---- the twin ---------------------------------------------------------------

def make_module(kind, o, shape):
    """The torch.nn module holding a layer's parameters, or None."""
    import torch.nn as nn
    bias = o.get("use_bias", "true") == "true"
    if kind == "conv2d":
        return nn.Conv2d(shape[0], o["filters"], o["kernel"],
                         stride=o.get("stride", 1), bias=bias)
    if kind == "dense":
        return nn.Linear(shape[0], o["units"], bias=bias)
    if kind == "batchnorm":
        bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return bn(shape[0], eps=o.get("eps", 1e-5),
                  momentum=o.get("momentum", 0.1))
    return None


def activate(x, act):
    """activation=NAME or NAME(alpha=...) or an activation layer's kind."""
    import torch.nn.functional as F
    if isinstance(act, Call):
        alpha = (list(act.args) + [act.kwargs.get("alpha", 0.01)])[0]
        return F.leaky_relu(x, alpha)
    return {"relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
            "sigmoid": lambda t: t.sigmoid(), "tanh": lambda t: t.tanh(),
            "softmax": lambda t: t.softmax(1),
            "linear": lambda t: t}[act](x)


def layer_activation(layer, o):
    """An activation layer's function (as activation= would name it)."""
    if layer.kind == "leaky_relu":
        return Call("leaky_relu", [o.get("alpha", 0.01)], {})
    return layer.kind if layer.kind in ACTIVATIONS else None


def normalization(o, channels):
    """The input's mean= and std= as float32 tensors of one value per
    channel, or None."""
    import torch
    if "mean" not in o and "std" not in o:
        return None
    def per_channel(v, default):
        v = default if v is None else v
        v = v if isinstance(v, list) else [v] * channels
        return torch.tensor(v, dtype=torch.float32)
    return per_channel(o.get("mean"), 0.0), per_channel(o.get("std"), 1.0)


def make_twin_class():
    """The class is made on demand, so that the safetensors and IDX
    helpers work where torch is not installed."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Twin(nn.Module):
        """The .cnn model as torch.nn: NCHW images in, the model's outputs
        out (logits=True leaves out a final softmax, for the loss)."""

        def __init__(self, spec):
            super().__init__()
            self.steps, shapes, last = [], {}, None
            for layer in spec.layers:
                o = options(layer)
                if layer.kind == "input":
                    shape = (o.get("channels", 1), o["height"], o["width"])
                    self.input_name = layer.name
                    self.normalization = normalization(o, shape[0])
                    self.input_shape = shape
                else:
                    inputs = o.pop("inputs", [o.pop("from", last)])
                    shape = out_shape(layer.kind, o, [shapes[n] for n in inputs])
                    module = make_module(layer.kind, o, shapes[inputs[0]])
                    if module is not None:
                        self.add_module(layer.name, module)
                    self.steps.append((layer, o, inputs))
                shapes[layer.name], last = shape, layer.name

        def forward(self, x, logits=False):
            if self.normalization:  # as transforms.Normalize, in float32
                mean, std = self.normalization
                x = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
            outputs = {self.input_name: x}
            for i, (layer, o, inputs) in enumerate(self.steps):
                y = self.run(layer, o, [outputs[n] for n in inputs])
                act = o.get("activation", layer_activation(layer, o))
                final = i == len(self.steps) - 1
                if act and not (logits and final and act == "softmax"):
                    y = activate(y, act)
                outputs[layer.name] = y
            return y

        def run(self, layer, o, xs):
            """A layer without its activation."""
            kind, x = layer.kind, xs[0]
            if kind == "conv2d":
                if o.get("padding", "valid") == "same":
                    k, s = o["kernel"], o.get("stride", 1)
                    top, bottom = same_padding(x.shape[2], k, s)
                    left, right = same_padding(x.shape[3], k, s)
                    x = F.pad(x, (left, right, top, bottom))
                return getattr(self, layer.name)(x)
            if kind in ("dense", "batchnorm"):
                return getattr(self, layer.name)(x)
            if kind in ("maxpool", "avgpool"):
                pool = F.max_pool2d if kind == "maxpool" else F.avg_pool2d
                return pool(x, o["size"], o.get("stride", o["size"]))
            if kind in ("globalavgpool", "globalmaxpool"):
                return x.mean((2, 3)) if kind == "globalavgpool" else x.amax((2, 3))
            if kind == "flatten":
                return torch.flatten(x, 1)
            if kind == "dropout":
                return F.dropout(x, o["rate"], self.training)
            if kind == "add":
                return sum(xs[1:], xs[0])
            if kind == "concat":
                return torch.cat(xs, 1)
            if kind in ACTIVATIONS:
                return x
            raise ValueError("cnn_torch: no twin for layer kind '%s'" % kind)

    return Twin


def twin(spec):
    return make_twin_class()(spec)


def randomise_batchnorms(net):
    """Statistics and affine parameters far from PyTorch's defaults (1, 0),
    but not so far that the probabilities saturate at 0 and 1, and a
    counter that has counted: what a test of batchnorm's parity needs."""
    import torch
    for module in net.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            c = module.num_features
            module.weight.data = torch.empty(c).uniform_(0.5, 1.5)
            module.bias.data = torch.empty(c).normal_(0, 0.2)
            module.running_mean = torch.empty(c).normal_(0, 0.2)
            module.running_var = torch.empty(c).uniform_(0.3, 2.0)
            module.num_batches_tracked.fill_(17)


def predict(net, x, chunk=250):
    """net's outputs for the numpy images x, a chunk at a time (one batch
    of 10,000 ResNet images takes gigabytes and is slower)."""
    import torch
    with torch.no_grad():
        return torch.cat([net(torch.from_numpy(x[i:i + chunk]))
                          for i in range(0, len(x), chunk)]).numpy()


def load_cnn(path):
    with open(path) as f:
        return parse(f.read())


# ---- safetensors ------------------------------------------------------------

DTYPES = {"F32": "<f4", "I64": "<i8"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch tensor or numpy array, F32 or I64."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        a = np.asarray(t.detach().cpu().numpy() if hasattr(t, "detach") else t)
        dtype = "I64" if a.dtype.kind in "iu" else "F32"
        blob = np.ascontiguousarray(a, DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """name -> numpy array, in the file's order (metadata left out)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    out = collections.OrderedDict()
    for name, h in header.items():
        if name != "__metadata__":
            lo, hi = h["data_offsets"]
            out[name] = np.frombuffer(data[lo:hi], DTYPES[h["dtype"]]).reshape(
                h["shape"]).copy()
    return out


def as_state_dict(arrays):
    """numpy arrays -> torch tensors, for load_state_dict."""
    import torch
    return collections.OrderedDict((k, torch.from_numpy(v))
                                   for k, v in arrays.items())


# ---- MNIST's IDX files ------------------------------------------------------

def read_idx(path):
    """An IDX file's array (unsigned bytes), shaped as its header says."""
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array):
    """Unsigned bytes as an IDX file (magic 0x08 = ubyte)."""
    a = np.ascontiguousarray(array, np.uint8)
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, a.ndim]) + struct.pack(">%dI" % a.ndim, *a.shape))
        f.write(a.tobytes())


def idx_images(path, count=None):
    """N x 1 x H x W float32 pixels / 255, as cnnc's trainer scales them."""
    images = read_idx(path)[:count]
    return (images.astype(np.float32) / np.float32(255))[:, None]


def idx_labels(path, count=None):
    return read_idx(path)[:count].astype(np.int64)


# ---- CIFAR's binary files and NumPy folders, as torchvision reads them ------

def cifar_test_set(folder, kind, label="fine"):
    """(images N x 3 x 32 x 32 float32 in [0, 1], labels) of a CIFAR
    folder's test file: the records' planes reshaped to C,H,W and divided
    by 255, as torchvision's CIFAR10 and ToTensor() give them."""
    name, label_bytes = (("test_batch.bin", 1) if kind == "cifar10"
                         else ("test.bin", 2))
    raw = np.fromfile(os.path.join(folder, name), np.uint8)
    records = raw.reshape(-1, label_bytes + 3072)
    which = 0 if kind == "cifar10" or label == "coarse" else 1
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32)
    return (images.astype(np.float32) / 255).copy(), records[:, which].astype(np.int64)


def npy_test_set(folder):
    """(images N x C x H x W float32, labels) of a folder's test_*.npy:
    bytes divided by 255, floats as they are."""
    x = np.load(os.path.join(folder, "test_images.npy"))
    y = np.load(os.path.join(folder, "test_labels.npy")).astype(np.int64)
    x = x[..., None] if x.ndim == 3 else x
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y
