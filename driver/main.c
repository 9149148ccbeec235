/* main.c - the cnnc command line.
 *
 * Reads one .cnn file, lowers it, runs the pass pipeline and does what the
 * flags ask: print the IR, print the summary. Exit status 0 on success, 1 on
 * any error in the user's input or command line. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ast.h"
#include "ir.h"
#include "passes.h"
#include "summary.h"

#ifndef CNNC_VERSION
#define CNNC_VERSION "0"
#endif
#ifndef CNNC_LLVM_VERSION
#define CNNC_LLVM_VERSION "?"
#endif

typedef struct Options {
  const char *file;
  bool summary, print_ir, list_passes;
  PipelineOptions pipeline;
} Options;

static void usage(FILE *out) {
  fputs(
      "usage: cnnc [options] FILE.cnn\n"
      "\n"
      "Compiles a convolutional network described in FILE.cnn.\n"
      "\n"
      "options:\n"
      "  --summary             print the layers, output shapes and parameter\n"
      "                        counts, forward FLOPs and activation bytes\n"
      "  --print-ir            print the IR after the pipeline\n"
      "  --print-after=PASS    print the IR after PASS ('all': every pass)\n"
      "  --passes=LIST         run only these passes, in this order\n"
      "                        (comma-separated; empty: none)\n"
      "  --list-passes         print the pipeline's passes in order\n"
      "  -h, --help            print this help\n"
      "  --version             print the version\n"
      "\n"
      "Errors are reported as FILE:LINE:COL: error: MESSAGE; the exit status\n"
      "is 1 after any error.\n",
      out);
}

static const char *const known_flags[] = {
    "--summary", "--print-ir", "--print-after=", "--passes=",
    "--list-passes", "--help", "--version"};

static bool unknown_flag(Diag *d, const char *arg) {
  const char *s = suggest(arg, known_flags, 7);
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

/* Returns false after reporting a bad command line; sets *done for --help
 * and --version, which need no file. */
static bool parse_args(int argc, char **argv, Options *o, Diag *d,
                       bool *done) {
  const char *v;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      *done = true;
    } else if (!strcmp(a, "--version")) {
      printf("cnnc %s (LLVM %s)\n", CNNC_VERSION, CNNC_LLVM_VERSION);
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
      return unknown_flag(d, a);
    } else if (o->file) {
      diag_tool_error(d, "more than one input file ('%s' and '%s')", o->file,
                      a);
      return false;
    } else {
      o->file = a;
    }
  }
  if (!o->file && !*done && !o->list_passes) {
    diag_tool_error(d, "no input file (cnnc --help shows the usage)");
    return false;
  }
  return pipeline_check_options(&o->pipeline, d);
}

/* The pipeline a summary needs: shapes, and nothing that merges rows. */
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
  PipelineOptions po = o->pipeline;
  if (o->summary && !po.only)
    po.only = "infer-shapes";
  if (!pipeline_run(m, &po))
    return false;
  d->src = NULL; /* src lives on the stack of this function */
  *out = m;
  return true;
}

int main(int argc, char **argv) {
  Options o = {0};
  o.pipeline.out = stdout;
  Diag d;
  diag_init(&d, NULL, stderr);
  bool done = false;
  if (!parse_args(argc, argv, &o, &d, &done))
    return 1;
  if (o.list_passes)
    pipeline_list(stdout);
  if (done || !o.file)
    return 0;
  Arena arena;
  arena_init(&arena);
  Module *m = NULL;
  bool ok = compile(&o, &d, &arena, &m);
  if (ok && o.summary && !m->shaped) {
    diag_tool_error(&d, "--summary needs the infer-shapes pass");
    ok = false;
  }
  if (ok && o.summary)
    summary_print(stdout, m);
  if (ok && o.print_ir)
    ir_print(stdout, m);
  if (ok && !o.summary && !o.print_ir && !o.pipeline.print_after)
    fprintf(stderr, "cnnc: %s: no errors; code generation is not built yet "
            "(try --summary or --print-ir)\n", o.file);
  arena_free_all(&arena);
  return ok ? 0 : 1;
}
