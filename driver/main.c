/* main.c - the cnnc command line.
 *
 * Reads one .cnn file, lowers it, runs the pass pipeline, and then prints
 * what was asked (--summary, --print-ir) or generates code: a trainer
 * executable by default, or an object, assembly or LLVM IR with --emit.
 * Exit status 0 on success, 1 on any error in the input or command line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ast.h"
#include "codegen.h"
#include "header.h"
#include "ir.h"
#include "link.h"
#include "outfile.h"
#include "passes.h"
#include "summary.h"
#include "tempfile.h"
#include "torch.h"
#include "weights.h"

#ifndef CNNC_COMMIT
#define CNNC_COMMIT "unknown"
#endif
#ifndef CNNC_VERSION
#define CNNC_VERSION "0"
#endif
#ifndef CNNC_LLVM_VERSION
#define CNNC_LLVM_VERSION "?"
#endif

typedef struct Options {
  const char *file;
  const char *output;
  bool summary, print_ir, list_passes;
  bool infer;              /* an inference object and header */
  bool torch;              /* --emit=torch: a PyTorch module */
  bool mpi;                /* a trainer linked with Open MPI */
  const char *weights;     /* --weights FILE.safetensors */
  const char *name;        /* --name: the entry points' prefix */
  PipelineOptions pipeline;
  CgOptions cg;
} Options;

static void usage(FILE *out) {
  fputs(
      "usage: cnnc [options] FILE.cnn\n"
      "\n"
      "Compiles the network described in FILE.cnn into a trainer: a native\n"
      "executable that trains it (run it with --help for its flags).\n"
      "\n"
      "output:\n"
      "  -o FILE               the output (default: FILE.cnn's name without\n"
      "                        .cnn, plus .o, .s or .ll for --emit; '-' is\n"
      "                        standard output); never the input file\n"
      "  --emit=KIND           exe (default), obj, asm or llvm; torch: a\n"
      "                        Python file defining the model as a PyTorch\n"
      "                        module (FILE.py)\n"
      "  -O0 .. -O3            optimisation level (default -O2)\n"
      "  --infer               an inference object and, beside it, its C\n"
      "                        header (NAME.o and NAME.h; implies --emit=obj)\n"
      "  --weights=FILE        bake these safetensors weights (PyTorch names\n"
      "                        and layouts) into the inference object\n"
      "  --name=NAME           prefix of the header's names (default: the\n"
      "                        model's name)\n"
      "  --mpi                 a trainer that runs as the processes of an\n"
      "                        Open MPI job (mpirun -np N ./train), with the\n"
      "                        same weights at any N; alone, a plain trainer\n"
      "\n"
      "target:\n"
      "  --target=TRIPLE       generate code for another CPU (default: this\n"
      "  --cpu=NAME            machine's); with --emit=obj, asm or llvm;\n"
      "                        --cpu=help lists the target's CPUs, and\n"
      "                        --cpu=native is this machine's\n"
      "  --reference           plain loop-nest kernels only (slow; the\n"
      "                        yardstick the fast kernels are tested against)\n"
      "\n"
      "inspection:\n"
      "  --summary             print the layers, output shapes and parameter\n"
      "                        counts, forward FLOPs and activation bytes\n"
      "  --print-ir            print the IR after the pipeline\n"
      "  --print-after=PASS    print the IR after PASS ('all': every pass)\n"
      "\n"
      "passes:\n"
      "  --passes=LIST         run only these passes, in this order\n"
      "                        (comma-separated; empty: none)\n"
      "  --list-passes         print the pipeline's passes in order\n"
      "\n"
      "general:\n"
      "  -h, --help            print this help\n"
      "  --version             print the version, the commit it was built\n"
      "                        from and the LLVM it uses\n"
      "\n"
      "Errors are reported as FILE:LINE:COL: error: MESSAGE; the exit status\n"
      "is 1 after any error.\n",
      out);
}

static const char *const known_flags[] = {
    "--summary", "--print-ir", "--print-after=", "--passes=", "--list-passes",
    "--help", "--version", "--emit=", "--target=", "--cpu=", "--reference",
    "--infer", "--weights=", "--name=", "--mpi"};
enum { NFLAGS = sizeof known_flags / sizeof known_flags[0] };

static bool unknown_flag(Diag *d, const char *arg) {
  const char *s = suggest(arg, known_flags, NFLAGS);
  if (s)
    diag_tool_error(d, "unknown option '%s'; did you mean '%s'?", arg, s);
  else
    diag_tool_error(d, "unknown option '%s' (cnnc --help lists them)", arg);
  return false;
}

static const char *flag_value(const char *arg, const char *flag) {
  size_t n = strlen(flag);
  return strncmp(arg, flag, n) == 0 ? arg + n : NULL;
}

/* "--flag VALUE" is "--flag=VALUE": rewrites argv[*i] into the arena and
 * consumes the next argument, for the flags that take a value. */
static const char *joined(int argc, char **argv, int *i, Arena *a) {
  static const char *const valued[] = {"--emit", "--target", "--cpu",
                                       "--weights", "--name", "--passes",
                                       "--print-after"};
  for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
    if (strcmp(argv[*i], valued[k]) == 0 && *i + 1 < argc) {
      ++*i;
      return arena_printf(a, "%s=%s", valued[k], argv[*i]);
    }
  return argv[*i];
}

static bool parse_emit(const char *v, Options *o, Diag *d) {
  static const char *const kinds[] = {"exe", "obj", "asm", "llvm"};
  o->torch = strcmp(v, "torch") == 0;
  if (o->torch)
    return true;
  for (int i = 0; i < 4; i++)
    if (strcmp(v, kinds[i]) == 0) {
      o->cg.emit = (EmitKind)i;
      return true;
    }
  diag_tool_error(d, "--emit=%s: expected exe, obj, asm, llvm or torch", v);
  return false;
}

/* One argument that is not a flag of the inspection group; returns false
 * after reporting. *i advances past a separate value (-o FILE). */
static bool parse_codegen_arg(const char *a, int argc, char **argv, int *i,
                              Options *o, Diag *d) {
  const char *v;
  if (!strcmp(a, "-o")) {
    if (*i + 1 >= argc) {
      diag_tool_error(d, "-o needs a file name");
      return false;
    }
    o->output = argv[++*i];
  } else if ((v = flag_value(a, "--emit="))) {
    return parse_emit(v, o, d);
  } else if (a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
    o->cg.opt_level = a[2] - '0';
  } else if ((v = flag_value(a, "--target="))) {
    o->cg.triple = v;
  } else if ((v = flag_value(a, "--cpu="))) {
    o->cg.cpu = v;
  } else if (!strcmp(a, "--reference")) {
    o->cg.reference = true;
  } else if (!strcmp(a, "--infer")) {
    o->infer = true;
  } else if (!strcmp(a, "--mpi")) {
    o->mpi = true;
  } else if ((v = flag_value(a, "--weights="))) {
    o->weights = v;
  } else if ((v = flag_value(a, "--name="))) {
    o->name = v;
  } else {
    return unknown_flag(d, a);
  }
  return true;
}

/* Returns false after reporting a bad command line; sets *done for --help
 * and --version, which need no file. */
static bool parse_args(int argc, char **argv, Options *o, Diag *d,
                       bool *done, Arena *arena) {
  const char *v;
  for (int i = 1; i < argc; i++) {
    const char *a = joined(argc, argv, &i, arena);
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      *done = true;
    } else if (!strcmp(a, "--version")) {
      printf("cnnc %s (commit %s, LLVM %s)\n", CNNC_VERSION, CNNC_COMMIT,
             CNNC_LLVM_VERSION);
      *done = true;
    } else if (!strcmp(a, "--summary")) {
      o->summary = true;
    } else if (!strcmp(a, "--print-ir")) {
      o->print_ir = true;
    } else if (!strcmp(a, "--list-passes")) {
      o->list_passes = true;
    } else if ((v = flag_value(a, "--print-after="))) {
      o->pipeline.print_after = v;
    } else if ((v = flag_value(a, "--passes="))) {
      o->pipeline.only = v;
    } else if (a[0] == '-' && a[1] != '\0') {
      if (!parse_codegen_arg(a, argc, argv, &i, o, d))
        return false;
    } else if (o->file) {
      diag_tool_error(d, "more than one input file ('%s' and '%s')", o->file,
                      a);
      return false;
    } else {
      o->file = a;
    }
  }
  bool cpu_help = o->cg.cpu && strcmp(o->cg.cpu, "help") == 0;
  if (!o->file && !*done && !o->list_passes && !cpu_help) {
    diag_tool_error(d, "no input file (cnnc --help shows the usage)");
    return false;
  }
  return pipeline_check_options(&o->pipeline, d);
}

static bool compile(const Options *o, Diag *d, Arena *a, Module **out) {
  Source src = {0};
  if (!source_read_file(&src, o->file, d, a))
    return false;
  d->src = &src;
  Ast *ast = parse_source(&src, d, a);
  if (!ast || d->errors)
    return false;
  Module *m = ir_lower(ast, d, a);
  if (!m)
    return false;
  if (o->infer || o->torch)
    ir_drop_training(m); /* no loss: no backward graph, one image a call */
  m->bake_weights = o->infer && o->weights;
  PipelineOptions po = o->pipeline;
  if ((o->summary && !po.only) || o->torch)
    po.only = "infer-shapes"; /* the layers as written */
  if (!pipeline_run(m, &po) || (o->torch && !torch_check_names(m, d)))
    return false;
  d->src = NULL; /* src lives on the stack of this function */
  *out = m;
  return true;
}

/* FILE.cnn -> FILE (exe), FILE.o, FILE.s, FILE.ll, in the current folder.
 * NULL (after an error) for a file without the .cnn suffix: its output
 * would be the input's own name, or a guess. */
static const char *default_output(const Options *o, Diag *d, Arena *a) {
  static const char *const ext[] = {"", ".o", ".s", ".ll"};
  const char *suffix = o->torch ? ".py" : ext[o->cg.emit];
  const char *base = strrchr(o->file, '/');
  base = base ? base + 1 : o->file;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".cnn") == 0)
    return arena_printf(a, "%.*s%s", (int)(n - 4), base, suffix);
  diag_tool_error(d, "%s: the name does not end in .cnn, so cnnc cannot name "
                  "the output after it; give one with -o", o->file);
  return NULL;
}

/* NAME.o -> NAME.h beside it */
static const char *header_path(const char *obj, Arena *a) {
  size_t n = strlen(obj);
  if (n > 2 && strcmp(obj + n - 2, ".o") == 0)
    n -= 2;
  return arena_printf(a, "%.*s.h", (int)n, obj);
}

/* As gcc: an output that is one of the inputs is refused, whatever its
 * spelling (device and inode). */
static bool not_an_input(const Options *o, const char *out, Diag *d) {
  const char *in = outfile_same_file(out, o->file) ? o->file
                   : o->weights && outfile_same_file(out, o->weights)
                       ? o->weights : NULL;
  if (in)
    diag_tool_error(d, "input file '%s' is the same as output file '%s'", in,
                    out);
  return !in;
}

/* The outputs of one run, written together: all are complete and synced
 * before the first is renamed into place, so that a full disk leaves
 * neither an object without its header nor a truncated file. */
typedef struct Output {
  const char *path;
  CgBytes bytes;
  unsigned mode;
} Output;

static bool write_outputs(Output *outs, int n, Diag *d) {
  static OutFile files[2];
  int opened = 0;
  bool ok = true;
  for (; ok && opened < n; opened++) {
    OutFile *f = &files[opened];
    ok = outfile_open(f, outs[opened].path, outs[opened].mode) &&
         outfile_write(f, outs[opened].bytes.data, outs[opened].bytes.size) &&
         outfile_sync(f);
    if (!ok)
      diag_tool_error(d, "%s", f->why);
  }
  for (int i = 0; ok && i < n; i++)
    if (!(ok = outfile_commit(&files[i])))
      diag_tool_error(d, "%s", files[i].why);
  for (int i = 0; i < opened; i++)
    outfile_discard(&files[i]); /* nothing once committed */
  return ok;
}

static bool valid_c_name(const char *s) {
  if (!*s || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
               (s[0] >= 'A' && s[0] <= 'Z')))
    return false;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

static bool generate_inference(Options *o, Module *m, Diag *d, Arena *a) {
  const char *name = o->name ? o->name : m->name;
  if (o->mpi) {
    diag_tool_error(d, "--mpi makes a trainer; an inference object (--infer) "
                    "runs in one process");
    return false;
  }
  if (!valid_c_name(name)) {
    diag_tool_error(d, "--name=%s: not a C identifier", name);
    return false;
  }
  if (o->cg.emit == EMIT_EXE)
    o->cg.emit = EMIT_OBJ;
  const char *out = o->output ? o->output : default_output(o, d, a);
  bool header = o->cg.emit == EMIT_OBJ;
  Output outs[2] = {{out, {0}, 0666},
                    {out && header ? header_path(out, a) : NULL, {0}, 0666}};
  if (out && header && strcmp(out, "-") == 0) {
    diag_tool_error(d, "-o -: an inference object and its header need a file "
                    "name (or --emit=asm or llvm for standard output)");
    return false;
  }
  if (!out || !not_an_input(o, out, d) ||
      (header && !not_an_input(o, outs[1].path, d)))
    return false;
  float *weights = NULL;
  if (o->weights && !(weights = weights_load(o->weights, m, d, a)))
    return false;
  if (weights)
    ir_apply_folds(m, weights);
  o->cg.weights = weights;
  int64_t scratch = 0;
  o->cg.infer_name = name;
  o->cg.scratch_bytes = &scratch;
  bool ok = cg_emit(m, &o->cg, &outs[0].bytes, d) &&
            (!header || header_text(outs[1].path, m, name, o->weights,
                                    scratch, &outs[1].bytes, d)) &&
            write_outputs(outs, header ? 2 : 1, d);
  cg_bytes_free(&outs[0].bytes);
  cg_bytes_free(&outs[1].bytes);
  return ok;
}

/* --emit=torch: the Python file, which needs the model and nothing of
 * code generation. */
static bool generate_torch(const Options *o, Module *m, Diag *d, Arena *a) {
  const char *flag = o->weights ? "--weights" : o->name ? "--name"
                     : o->mpi ? "--mpi" : o->infer ? "--infer"
                     : o->pipeline.only ? "--passes" : o->cg.triple ? "--target"
                     : o->cg.cpu ? "--cpu" : o->cg.reference ? "--reference"
                     : NULL;
  if (flag) {
    diag_tool_error(d, "--emit=torch writes the model's layers as the file "
                    "has them; %s does not apply (a checkpoint loads at run "
                    "time: load(PATH))", flag);
    return false;
  }
  const char *out = o->output ? o->output : default_output(o, d, a);
  if (!out || !not_an_input(o, out, d))
    return false;
  Output output = {out, {0}, 0666};
  bool ok = torch_module_text(m, o->file, &output.bytes.data,
                              &output.bytes.size, d) &&
            write_outputs(&output, 1, d);
  cg_bytes_free(&output.bytes);
  return ok;
}

/* The whole file, for the executable the linker made. */
static bool read_back(const char *path, CgBytes *out, Diag *d) {
  FILE *f = fopen(path, "rb");
  size_t cap = 1 << 20;
  out->data = f ? malloc(cap) : NULL;
  out->size = 0;
  for (size_t k = 1; out->data && k > 0;) {
    if (out->size == cap) {
      char *grown = realloc(out->data, cap *= 2);
      if (!grown)
        break;
      out->data = grown;
    }
    k = fread(out->data + out->size, 1, cap - out->size, f);
    out->size += k;
  }
  bool ok = f && out->data && !ferror(f) && feof(f);
  if (!ok)
    diag_tool_error(d, "cannot read the linked trainer %s: %s", path,
                    strerror(errno));
  if (f)
    fclose(f);
  return ok;
}

/* The object and the linked trainer are temporaries in $TMPDIR, removed on
 * every path (and by a signal); the trainer is then written to its place
 * through the one writer, as every output is. */
static bool build_trainer(const Options *o, Module *m, const char *out,
                          Diag *d) {
  static char obj[4096], exe[4096];
  bool made_obj = tempfile_create(obj, sizeof obj, "cnnc-", ".o");
  if (!made_obj || !tempfile_create(exe, sizeof exe, "cnnc-", "")) {
    diag_tool_error(d, "cannot create a temporary file in %s (the folder "
                    "$TMPDIR names, else /tmp): %s", tempfile_dir(),
                    strerror(errno));
    if (made_obj)
      tempfile_remove(obj);
    return false;
  }
  Output object = {obj, {0}, 0666}, trainer = {out, {0}, 0777};
  bool ok = cg_emit(m, &o->cg, &object.bytes, d) &&
            write_outputs(&object, 1, d) && link_trainer(obj, exe, o->mpi, d) &&
            read_back(exe, &trainer.bytes, d) && write_outputs(&trainer, 1, d);
  tempfile_remove(obj);
  tempfile_remove(exe);
  cg_bytes_free(&object.bytes);
  cg_bytes_free(&trainer.bytes);
  return ok;
}

static bool generate(const Options *o, Module *m, Diag *d, Arena *a) {
  if (!m->has_train) {
    diag_tool_error(d, "%s: no train block; a trainer needs one (loss, "
                    "optimizer, batch, ...)", o->file);
    return false;
  }
  if (o->weights || o->name) {
    diag_tool_error(d, "--weights and --name go with --infer");
    return false;
  }
  if (o->mpi && o->cg.emit != EMIT_EXE) {
    diag_tool_error(d, "--mpi links a trainer (--emit=exe); an object links "
                    "with libcnnrt_mpi.a and mpicc by hand");
    return false;
  }
  const char *out = o->output ? o->output : default_output(o, d, a);
  if (!out || !not_an_input(o, out, d))
    return false;
  if (o->cg.emit == EMIT_EXE)
    return build_trainer(o, m, out, d);
  Output output = {out, {0}, 0666};
  bool ok = cg_emit(m, &o->cg, &output.bytes, d) &&
            write_outputs(&output, 1, d);
  cg_bytes_free(&output.bytes);
  return ok;
}

/* Everything printed went out: a full disk or a closed pipe under
 * --print-ir is an error, not a silent exit 0. */
static bool stdout_ok(Diag *d) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout))
    return true;
  diag_tool_error(d, "cannot write to standard output: %s",
                  errno ? strerror(errno) : "a write failed");
  return false;
}

int main(int argc, char **argv) {
  outfile_guard_std_fds();
  tempfile_install_cleanup();
  Options o = {0};
  o.pipeline.out = stdout;
  o.cg.opt_level = 2;
  Diag d;
  diag_init(&d, NULL, stderr);
  bool done = false;
  Arena arena;
  arena_init(&arena);
  if (!parse_args(argc, argv, &o, &d, &done, &arena)) {
    arena_free_all(&arena);
    return 1;
  }
  if (o.list_passes)
    pipeline_list(stdout);
  if (o.cg.cpu && strcmp(o.cg.cpu, "help") == 0) {
    cg_list_cpus(&o.cg, stdout, &d); /* a failure counts in d.errors */
    done = true;
  }
  if (done || !o.file) {
    arena_free_all(&arena);
    return stdout_ok(&d) && !d.errors ? 0 : 1;
  }
  bool inspect = o.summary || o.print_ir || o.pipeline.print_after;
  Module *m = NULL;
  bool ok = (inspect || o.torch ||
             pipeline_complete(&o.pipeline, !o.infer, &d)) &&
            compile(&o, &d, &arena, &m);
  if (ok && o.summary && !m->shaped) {
    diag_tool_error(&d, "--summary needs the infer-shapes pass");
    ok = false;
  }
  if (ok && o.summary)
    summary_print(stdout, m);
  if (ok && o.print_ir)
    ir_print(stdout, m);
  if (ok && !inspect)
    ok = o.torch   ? generate_torch(&o, m, &d, &arena)
         : o.infer ? generate_inference(&o, m, &d, &arena)
                   : generate(&o, m, &d, &arena);
  arena_free_all(&arena);
  return stdout_ok(&d) && ok ? 0 : 1;
}
