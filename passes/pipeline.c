/* pipeline.c - the passes, in order.
 *
 * The pipeline is this list. infer-shapes comes first so that a network
 * that does not fit together is reported before anything is rewritten; the
 * fusions do not depend on one another's order except that softmax must be
 * paired with the loss before anything else could touch it. */
#include <string.h>

#include "args.h"
#include "passes.h"

/* What code generation needs of a pass: the fusions only make the code
 * faster, the others make it (a trainer without autodiff and optimizer
 * would never change its weights). */
typedef enum Need { OPTIONAL, ALWAYS, TRAINING } Need;

typedef struct Pass {
  const char *name;
  void (*run)(Module *);
  Need need;
} Pass;

static const Pass pipeline[] = {
    {"infer-shapes", pass_infer_shapes, ALWAYS},
    {"fuse-softmax-xent", pass_fuse_softmax_xent, OPTIONAL},
    {"fuse-conv-relu", pass_fuse_conv_relu, OPTIONAL},
    {"fuse-dense-act", pass_fuse_dense_act, OPTIONAL},
    {"fuse-add-act", pass_fuse_add_act, OPTIONAL},
    {"fuse-batchnorm-act", pass_fuse_batchnorm_act, OPTIONAL},
    {"fold-normalize", pass_fold_normalize, OPTIONAL},
    {"fold-batchnorm", pass_fold_batchnorm, OPTIONAL},
    {"fuse-pool-dropout", pass_fuse_pool_dropout, OPTIONAL},
    {"autodiff", pass_autodiff, TRAINING},
    {"fuse-conv-act-bwd", pass_fuse_conv_act_bwd, OPTIONAL},
    {"optimizer", pass_optimizer, TRAINING},
    {"plan-memory", pass_plan_memory, ALWAYS},
};
enum { NPASSES = sizeof pipeline / sizeof pipeline[0] };

static const Pass *find_pass(const char *name, size_t len) {
  for (int i = 0; i < NPASSES; i++)
    if (strlen(pipeline[i].name) == len &&
        strncmp(pipeline[i].name, name, len) == 0)
      return &pipeline[i];
  return NULL;
}

static bool check_name(Diag *d, const char *flag, const char *name,
                       size_t len) {
  if (find_pass(name, len))
    return true;
  const char *names[NPASSES];
  for (int i = 0; i < NPASSES; i++)
    names[i] = pipeline[i].name;
  char word[64];
  snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), name);
  const char *s = suggest(word, names, NPASSES);
  if (s)
    diag_tool_error(d, "%s: unknown pass '%s'; did you mean '%s'?", flag,
                    word, s);
  else
    diag_tool_error(d, "%s: unknown pass '%s' (cnnc --list-passes shows "
                    "them)", flag, word);
  return false;
}

bool pipeline_check_options(const PipelineOptions *opts, Diag *d) {
  const char *p = opts->only;
  while (p && *p) {
    size_t len = strcspn(p, ",");
    if (len && !check_name(d, "--passes", p, len))
      return false;
    p += len + (p[len] == ',');
  }
  const char *pa = opts->print_after;
  if (pa && strcmp(pa, "all") != 0)
    return check_name(d, "--print-after", pa, strlen(pa));
  return true;
}

/* Runs one pass, checks the IR in debug builds, prints it if asked. */
static bool run_pass(Module *m, const Pass *p, const PipelineOptions *opts) {
  int before = m->diag->errors;
  p->run(m);
  if (m->diag->errors > before)
    return false;
#ifdef CNNC_VERIFY_EACH_PASS
  if (!ir_verify(m, p->name))
    unreachable();
#endif
  const char *pa = opts->print_after;
  if (pa && (strcmp(pa, "all") == 0 || strcmp(pa, p->name) == 0)) {
    fprintf(opts->out, "; after %s\n", p->name);
    ir_print(opts->out, m);
  }
  return true;
}

bool pipeline_run(Module *m, const PipelineOptions *opts) {
  if (!opts->only) {
    for (int i = 0; i < NPASSES; i++)
      if (!run_pass(m, &pipeline[i], opts))
        return false;
    return true;
  }
  /* --passes=a,b runs exactly those, in the order given. */
  for (const char *p = opts->only; *p;) {
    size_t len = strcspn(p, ",");
    const Pass *pass = len ? find_pass(p, len) : NULL;
    if (pass && !run_pass(m, pass, opts))
      return false;
    p += len + (p[len] == ',');
  }
  return true;
}

/* --passes may leave out fusions, but code generation needs every pass it
 * cannot do without, each once, in the pipeline's order. Checked before
 * any pass runs. */
bool pipeline_complete(const PipelineOptions *opts, bool training, Diag *d) {
  const char *list = opts->only;
  if (!list)
    return true;
  bool present[NPASSES] = {false};
  const Pass *last = NULL;
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    const Pass *pass = len ? find_pass(p, len) : NULL;
    p += len + (p[len] == ',');
    if (!pass)
      continue; /* an empty item; unknown names were refused already */
    if (pass == last) {
      diag_tool_error(d, "--passes=%s: '%s' is given twice", list, pass->name);
      return false;
    }
    if (last && pass < last) {
      diag_tool_error(d, "--passes=%s: '%s' comes before '%s' (cnnc "
                      "--list-passes shows the pipeline's order)", list,
                      pass->name, last->name);
      return false;
    }
    present[pass - pipeline] = true;
    last = pass;
  }
  for (int i = 0; i < NPASSES; i++) {
    bool needed = pipeline[i].need == ALWAYS ||
                  (pipeline[i].need == TRAINING && training);
    if (needed && !present[i]) {
      diag_tool_error(d, "--passes=%s: code generation needs the pass '%s' "
                      "(only fusions may be left out; to look at the IR of "
                      "part of the pipeline, add --print-ir)", list,
                      pipeline[i].name);
      return false;
    }
  }
  return true;
}

void pipeline_list(FILE *out) {
  for (int i = 0; i < NPASSES; i++)
    fprintf(out, "%s\n", pipeline[i].name);
}
