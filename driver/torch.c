/* torch.c - `cnnc --emit=torch`: the model as a Python file that defines
 * a torch.nn.Module, for PyTorch users: build() (untrained), load(path) (a
 * cnnc checkpoint, read with numpy alone: Debian has no safetensors
 * package) and save(net, path) (a state_dict cnnc --infer --weights reads).
 *
 * The module is written from the IR after infer-shapes and nothing else:
 * one line of forward() per node, one submodule per layer with parameters,
 * named as the layer, so that its state_dict has exactly the checkpoint's
 * names; nn.Conv2d, nn.Linear and nn.BatchNorm*d have exactly its layouts
 * (PyTorch's, which the checkpoint converts to). What cnnc defines in its
 * own way is spelled out: 'same' padding as TensorFlow's (the odd zero
 * after), flatten of C,H,W (as the checkpoint numbers a dense's inputs),
 * the input's mean= and std= in float32 as transforms.Normalize. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "torch.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* ---- names -------------------------------------------------------------- */

/* Python's keywords, and the names the forward() text uses itself. */
static const char *const python_reserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await",
    "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is",
    "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
    "while", "with", "yield", "self", "torch", "nn", "F", "np", "json",
    "os", "struct", "INPUT_MEAN", "INPUT_STD", "INPUT_SHAPE", "MODEL_NAME"};

/* What an nn.Module instance already has (PyTorch 1.13's dir() and 2.x's
 * additions): a submodule of such a name cannot be set (add_module
 * refuses it) or would be hidden behind the attribute. */
static const char *const module_attributes[] = {
    "T_destination", "add_module", "apply", "bfloat16", "buffers",
    "call_super_init", "children", "compile", "cpu", "cuda", "double",
    "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu",
    "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "smart_apply", "state_dict", "to",
    "to_empty", "train", "training", "type", "xpu", "zero_grad"};

/* The methods the emitted class adds. */
static const char *const own_methods[] = {"logits"};

static bool listed(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0)
      return true;
  return false;
}

#define LISTED(s, list) listed((s), (list), sizeof(list) / sizeof(list)[0])

/* Every name that starts with '_' is refused too: nn.Module's own
 * (_modules, _parameters, __call__, ...) change from release to release. */
static bool module_reserved(const char *name) {
  return name[0] == '_' || LISTED(name, python_reserved) ||
         LISTED(name, module_attributes) || LISTED(name, own_methods);
}

static bool has_submodule(const Node *n) {
  return ir_op_is(n->op, OPF_PARAMS);
}

bool torch_check_names(const Module *m, Diag *d) {
  bool ok = true;
  for (int i = 0; i < m->nnodes; i++) {
    const Node *n = m->nodes[i];
    if (!has_submodule(n) || !module_reserved(n->layer))
      continue;
    diag_error(d, n->loc, "--emit=torch: the layer name '%s' cannot name a "
               "PyTorch submodule (%s); rename the layer", n->layer,
               n->layer[0] == '_' ? "nn.Module keeps names that start with "
                                    "'_' for itself"
               : LISTED(n->layer, module_attributes)
                   ? "nn.Module has an attribute of that name"
               : LISTED(n->layer, own_methods)
                   ? "the module has a method of that name"
                   : "it is a Python keyword");
    ok = false;
  }
  return ok;
}

/* Each tensor's Python variable in forward(): its name with '.' as '_',
 * and '_' appended while it is reserved or already taken. */
typedef struct Locals {
  const Tensor **tensor;
  const char **name;
  int n;
} Locals;

static bool local_taken(const Locals *l, const char *s) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->name[i], s) == 0)
      return true;
  return LISTED(s, python_reserved);
}

static void add_local(Locals *l, const Tensor *t, Arena *a) {
  char *s = arena_printf(a, "%s", t->name);
  for (char *c = s; *c; c++)
    if (*c == '.')
      *c = '_';
  while (local_taken(l, s))
    s = arena_printf(a, "%s_", s);
  l->tensor[l->n] = t;
  l->name[l->n++] = s;
}

static const char *local(const Locals *l, const Tensor *t) {
  for (int i = 0; i < l->n; i++)
    if (l->tensor[i] == t)
      return l->name[i];
  unreachable(); /* every input is defined before it is read */
}

/* ---- the class ------------------------------------------------------------ */

#define NUM(v) ir_num_str((v), true, (char[32]){0})

/* A conv2d's zeros, in F.pad's order: left, right, top, bottom. */
typedef struct Pads {
  int64_t left, right, top, bottom;
} Pads;

static Pads conv_pads(const Node *n) {
  const ConvAttr *c = &n->attr.conv;
  const Shape *x = &n->in[0]->shape, *y = &n->out->shape;
  return (Pads){
      ir_conv_pad_before(x->dim[1], y->dim[1], c->kw, c->sw, c->padding),
      ir_conv_pad_after(x->dim[1], y->dim[1], c->kw, c->sw, c->padding),
      ir_conv_pad_before(x->dim[0], y->dim[0], c->kh, c->sh, c->padding),
      ir_conv_pad_after(x->dim[0], y->dim[0], c->kh, c->sh, c->padding)};
}

/* Symmetric padding is the conv's own; TensorFlow's odd one out is an
 * F.pad in forward(). */
static bool symmetric(Pads p) {
  return p.left == p.right && p.top == p.bottom;
}

static void conv_module(FILE *f, const Node *n) {
  const ConvAttr *c = &n->attr.conv;
  Pads p = conv_pads(n);
  fprintf(f, "nn.Conv2d(%" PRId64 ", %d, (%d, %d), stride=(%d, %d)",
          n->in[0]->shape.dim[2], c->filters, c->kh, c->kw, c->sh, c->sw);
  if (symmetric(p) && (p.top || p.left))
    fprintf(f, ", padding=(%" PRId64 ", %" PRId64 ")", p.top, p.left);
  if (!c->bias)
    fputs(", bias=False", f);
  fputs(")", f);
}

static void submodule(FILE *f, const Node *n) {
  fprintf(f, "        self.%s = ", n->layer);
  const Shape *x = &n->in[0]->shape;
  if (n->op == OP_CONV2D) {
    conv_module(f, n);
  } else if (n->op == OP_DENSE) {
    fprintf(f, "nn.Linear(%" PRId64 ", %d%s)", x->dim[0], n->attr.dense.units,
            n->attr.dense.bias ? "" : ", bias=False");
  } else { /* OP_BATCHNORM: 2d over images, 1d over vectors */
    fprintf(f, "nn.BatchNorm%dd(%" PRId64 ", eps=%s, momentum=%s)",
            x->rank == 3 ? 2 : 1, x->dim[x->rank - 1], NUM(n->attr.bn.eps),
            NUM(n->attr.bn.momentum));
  }
  fputc('\n', f);
}

/* x wrapped in the activation a (slot activations and activation nodes) */
static void activation(FILE *f, Activation a, const char *x) {
  switch (a.kind) {
  case ACT_NONE: fputs(x, f); return;
  case ACT_RELU: fprintf(f, "F.relu(%s)", x); return;
  case ACT_LEAKY_RELU: fprintf(f, "F.leaky_relu(%s, %s)", x, NUM(a.alpha)); return;
  case ACT_SIGMOID: fprintf(f, "torch.sigmoid(%s)", x); return;
  case ACT_TANH: fprintf(f, "torch.tanh(%s)", x); return;
  case ACT_SOFTMAX: fprintf(f, "torch.softmax(%s, 1)", x); return;
  }
}

/* "a + b + c" or "(a, b, c)" */
static const char *joined(const Node *n, const Locals *l, const char *sep,
                          Arena *a) {
  const char *s = local(l, n->in[0]);
  for (int i = 1; i < n->nin; i++)
    s = arena_printf(a, "%s%s%s", s, sep, local(l, n->in[i]));
  return s;
}

/* The conv's call, with an F.pad first when 'same' pads one more zero
 * after than before. */
static const char *conv_call(const Node *n, const char *x, Arena *a) {
  Pads p = conv_pads(n);
  if (!symmetric(p))
    x = arena_printf(a, "F.pad(%s, (%" PRId64 ", %" PRId64 ", %" PRId64
                     ", %" PRId64 "))", x, p.left, p.right, p.top, p.bottom);
  return arena_printf(a, "self.%s(%s)", n->layer, x);
}

/* The expression of node n before its slot's activation; NULL for an op
 * that is not a layer (one a pass makes). */
static const char *expression(const Node *n, const Locals *l, Arena *a) {
  const char *x = local(l, n->in[0]);
  switch (n->op) {
  case OP_NORMALIZE:
    return arena_printf(a, "(%s - %s.new_tensor(INPUT_MEAN).view(1, -1, 1, 1))"
                        " / %s.new_tensor(INPUT_STD).view(1, -1, 1, 1)", x, x, x);
  case OP_CONV2D: return conv_call(n, x, a);
  case OP_DENSE:
  case OP_BATCHNORM: return arena_printf(a, "self.%s(%s)", n->layer, x);
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    return arena_printf(a, "F.%s_pool2d(%s, %d, %d)",
                        n->op == OP_MAXPOOL ? "max" : "avg", x,
                        n->attr.pool.size, n->attr.pool.stride);
  case OP_GLOBAL_MAXPOOL: return arena_printf(a, "%s.amax((2, 3))", x);
  case OP_GLOBAL_AVGPOOL: return arena_printf(a, "%s.mean((2, 3))", x);
  case OP_DROPOUT:
    return arena_printf(a, "F.dropout(%s, %s, self.training)", x,
                        NUM(n->attr.dropout.rate));
  case OP_FLATTEN: return arena_printf(a, "torch.flatten(%s, 1)", x);
  case OP_ADD: return joined(n, l, " + ", a);
  case OP_CONCAT: return arena_printf(a, "torch.cat((%s), 1)", joined(n, l, ", ", a));
  default: break;
  }
  return ir_op_is(n->op, OPF_ACTIVATION) ? x : NULL;
}

static bool forward_line(FILE *f, const Node *n, Locals *l, Diag *d,
                         Arena *a) {
  const char *e = expression(n, l, a);
  if (!e) {
    diag_tool_error(d, "--emit=torch: no PyTorch twin for the op '%s' of "
                    "layer '%s' (--emit=torch runs infer-shapes only)",
                    ir_op_info(n->op)->name, n->layer);
    return false;
  }
  Activation act = ir_op_is(n->op, OPF_ACTIVATION) ? ir_op_act(n)
                   : ir_act_slot((Node *)n) ? *ir_act_slot((Node *)n)
                                            : (Activation){ACT_NONE, 0};
  add_local(l, n->out, a);
  fprintf(f, "        %s = ", local(l, n->out));
  activation(f, act, e);
  fputc('\n', f);
  return true;
}

static bool model_class(FILE *f, const Module *m, Diag *d, Arena *a) {
  fprintf(f, "class Model(nn.Module):\n"
             "    \"\"\"The model '%s': NCHW float32 images in, the last "
             "layer's values out.\"\"\"\n\n"
             "    def __init__(self):\n"
             "        super().__init__()\n", m->name);
  for (int i = 0; i < m->nnodes; i++)
    if (has_submodule(m->nodes[i]))
      submodule(f, m->nodes[i]);
  Locals l = {arena_array(a, (size_t)m->ntensors, sizeof *l.tensor),
              arena_array(a, (size_t)m->ntensors, sizeof *l.name), 0};
  add_local(&l, m->input, a);
  const char *x = local(&l, m->input);
  /* A final softmax: forward() is logits() and the softmax, so that a
   * PyTorch user trains with nn.CrossEntropyLoss on the logits. */
  const Node *last = m->output->def;
  bool softmax = last && last->op == OP_SOFTMAX;
  if (softmax)
    fprintf(f, "\n    def forward(self, %s):\n"
               "        return torch.softmax(self.logits(%s), 1)\n\n"
               "    def logits(self, %s):\n"
               "        \"\"\"forward() without its final softmax: what "
               "nn.CrossEntropyLoss takes.\"\"\"\n", x, x, x);
  else
    fprintf(f, "\n    def forward(self, %s):\n", x);
  for (int i = 0; i < m->nnodes; i++)
    if (!(softmax && m->nodes[i] == last) &&
        !forward_line(f, m->nodes[i], &l, d, a))
      return false;
  fprintf(f, "        return %s\n", local(&l, softmax ? last->in[0] : m->output));
  return true;
}

/* ---- the file ------------------------------------------------------------ */

/* The file's name for the docstring: a character that could end it or
 * make it invalid (a quote, a backslash, a byte beyond ASCII) as '?'. */
static const char *docstring_safe(const char *path, Arena *a) {
  const char *base = strrchr(path, '/');
  char *s = arena_printf(a, "%s", base ? base + 1 : path);
  for (char *c = s; *c; c++)
    if (!(isalnum((unsigned char)*c) || strchr("._+- ", *c)))
      *c = '?';
  return s;
}

static void preamble(FILE *f, const Module *m, const char *source) {
  const Shape *in = &m->input->shape;
  fprintf(f,
          "\"\"\"The cnnc model '%s' (%s) as a PyTorch module, written\n"
          "by cnnc --emit=torch. Its state_dict has exactly the names and\n"
          "shapes of the model's cnnc checkpoints.\n\n"
          "    net = load(\"weights.safetensors\")  # a --save or --checkpoint file\n"
          "    y = net(x)    # x: float32 [N, %" PRId64 ", %" PRId64 ", %" PRId64
          "] (NCHW), scaled as cnnc scales\n"
          "                  # the pixels (/255); y: what the last layer returns\n"
          "    net = build()                  # untrained, to train in PyTorch\n"
          "    save(net, \"w.safetensors\")     # for cnnc --infer --weights, --init\n"
          "\"\"\"\n",
          m->name, docstring_safe(source, m->arena), in->dim[2], in->dim[0],
          in->dim[1]);
  fputs("import json\nimport os\nimport struct\n\nimport numpy as np\n"
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n",
        f);
  fprintf(f, "MODEL_NAME = \"%s\"\n", m->name);
  fprintf(f, "INPUT_SHAPE = (%" PRId64 ", %" PRId64 ", %" PRId64
             ")  # channels, height, width\n", in->dim[2], in->dim[0], in->dim[1]);
}

/* The input's mean= and std=, one float per channel. */
static void normalization(FILE *f, const Module *m) {
  for (int i = 0; i < m->nnodes; i++) {
    const NormAttr *c = &m->nodes[i]->attr.norm;
    if (m->nodes[i]->op != OP_NORMALIZE)
      continue;
    fputs("# the input's mean= and std=, per channel (float32)\n", f);
    const char *names[2] = {"INPUT_MEAN", "INPUT_STD"};
    const float *v[2] = {c->mean, c->std};
    for (int k = 0; k < 2; k++) {
      fprintf(f, "%s = (", names[k]);
      for (int j = 0; j < c->channels; j++)
        fprintf(f, "%s%s", j ? ", " : "", NUM(v[k][j]));
      fputs(c->channels == 1 ? ",)\n" : ")\n", f);
    }
  }
}

/* build(), and the safetensors reader and writer load() and save() use:
 * the same for every model. */
static const char support[] =
    "def build():\n"
    "    \"\"\"The model untrained: PyTorch's own initialisation, training mode.\"\"\"\n"
    "    return Model()\n"
    "\n\n"
    "_DTYPES = {\"F32\": np.dtype(\"<f4\"), \"I64\": np.dtype(\"<i8\")}\n"
    "\n\n"
    "def read_safetensors(path):\n"
    "    \"\"\"{name: numpy array} of the F32 and I64 tensors of a safetensors file.\"\"\"\n"
    "    with open(path, \"rb\") as f:\n"
    "        data = f.read()\n"
    "    size = struct.unpack(\"<Q\", data[:8])[0] if len(data) >= 8 else None\n"
    "    if size is None or size > len(data) - 8:\n"
    "        raise ValueError(\"%s: not a safetensors file\" % path)\n"
    "    header = json.loads(data[8:8 + size])\n"
    "    body = data[8 + size:]\n"
    "    arrays = {}\n"
    "    for name, entry in header.items():\n"
    "        if name == \"__metadata__\" or entry[\"dtype\"] not in _DTYPES:\n"
    "            continue\n"
    "        dtype = _DTYPES[entry[\"dtype\"]]\n"
    "        begin, end = entry[\"data_offsets\"]\n"
    "        if not 0 <= begin <= end <= len(body) or \\\n"
    "                end - begin != dtype.itemsize * int(np.prod(entry[\"shape\"])):\n"
    "            raise ValueError(\"%s: tensor '%s': its data_offsets do not \"\n"
    "                             \"fit its shape or the file\" % (path, name))\n"
    "        arrays[name] = np.frombuffer(body[begin:end], dtype).reshape(entry[\"shape\"])\n"
    "    return arrays\n"
    "\n\n"
    "def load(path):\n"
    "    \"\"\"The model with the weights of a cnnc --save or --checkpoint file\n"
    "    (a checkpoint's optimizer state is not read) or of save(), in eval mode.\"\"\"\n"
    "    arrays = read_safetensors(path)\n"
    "    net = Model()\n"
    "    state = {}\n"
    "    for name, tensor in net.state_dict().items():\n"
    "        if name not in arrays:\n"
    "            raise ValueError(\"%s: no tensor '%s': not a checkpoint of the \"\n"
    "                             \"model '%s'\" % (path, name, MODEL_NAME))\n"
    "        value = torch.from_numpy(arrays[name].astype(arrays[name].dtype.newbyteorder(\"=\")))\n"
    "        if value.shape != tensor.shape or value.dtype != tensor.dtype:\n"
    "            raise ValueError(\"%s: tensor '%s' is %s %s; the model's is %s %s\"\n"
    "                             % (path, name, value.dtype, list(value.shape),\n"
    "                                tensor.dtype, list(tensor.shape)))\n"
    "        state[name] = value\n"
    "    net.load_state_dict(state)\n"
    "    return net.eval()\n"
    "\n\n"
    "def save(net, path):\n"
    "    \"\"\"net's state_dict as a safetensors file (cnnc --infer --weights and a\n"
    "    trainer's --init read it), written whole beside path, then renamed.\"\"\"\n"
    "    header, blobs, at = {}, [], 0\n"
    "    kinds = {v: k for k, v in _DTYPES.items()}\n"
    "    for name, tensor in net.state_dict().items():\n"
    "        a = tensor.detach().cpu().numpy()\n"
    "        if a.dtype.newbyteorder(\"<\") not in kinds:\n"
    "            raise ValueError(\"%s: tensor '%s' is %s; cnnc reads float32 and \"\n"
    "                             \"int64\" % (path, name, a.dtype))\n"
    "        blob = np.ascontiguousarray(a, a.dtype.newbyteorder(\"<\")).tobytes()\n"
    "        header[name] = {\"dtype\": kinds[a.dtype.newbyteorder(\"<\")],\n"
    "                        \"shape\": list(a.shape),\n"
    "                        \"data_offsets\": [at, at + len(blob)]}\n"
    "        blobs.append(blob)\n"
    "        at += len(blob)\n"
    "    text = json.dumps(header).encode()\n"
    "    text += b\" \" * (-len(text) % 8)\n"
    "    partial = path + \".partial\"\n"
    "    with open(partial, \"wb\") as f:\n"
    "        f.write(struct.pack(\"<Q\", len(text)) + text + b\"\".join(blobs))\n"
    "    os.replace(partial, path)\n";

bool torch_module_text(const Module *m, const char *source, char **text,
                       size_t *size, Diag *d) {
  FILE *f = open_memstream(text, size);
  if (!f) {
    diag_tool_error(d, "out of memory for --emit=torch");
    return false;
  }
  preamble(f, m, source);
  normalization(f, m);
  fputs("\n\n", f);
  bool ok = model_class(f, m, d, m->arena);
  fputs("\n\n", f);
  fputs(support, f);
  if (fclose(f) != 0 && ok) {
    diag_tool_error(d, "out of memory for --emit=torch");
    return false;
  }
  return ok;
}
