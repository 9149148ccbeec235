/* passes.h - the passes over the IR and the pipeline that runs them.
 *
 * Each pass is `void pass_NAME(Module *)`; the comment above each states
 * what it requires and what it keeps. Passes report user errors (shape
 * mismatches) through m->diag; the pipeline stops at the first pass that
 * reported any. */
#ifndef CNNC_PASSES_H
#define CNNC_PASSES_H

#include "ir.h"

/* Requires: a lowered module. Gives every tensor its shape, or reports the
 * layer whose input does not fit it. Sets m->shaped on success. */
void pass_infer_shapes(Module *m);

/* Requires: nothing. Folds an elementwise activation into the conv2d whose
 * only user it is (ConvAttr.act); keeps shapes. */
void pass_fuse_conv_relu(Module *m);

/* Requires: nothing. The same for dense (DenseAttr.act). */
void pass_fuse_dense_act(Module *m);

/* Requires: nothing. The same for add (JoinAttr.act): the sum and its
 * activation in one pass over memory. */
void pass_fuse_add_act(Module *m);

/* Requires: nothing. The same for batchnorm (BatchNormAttr.act):
 * normalise, scale, shift and activate in one pass. */
void pass_fuse_batchnorm_act(Module *m);

/* Requires: infer-shapes. In an inference module a batchnorm after a
 * conv2d becomes part of the conv: its weights (baked: m->folds) or its
 * epilogue (conv2d_bn). */
void pass_fold_batchnorm(Module *m);

/* Requires: infer-shapes. In an inference module with baked weights the
 * input's normalize becomes part of the first conv2d's (padding=valid) or
 * dense's (after flatten) weights and bias (m->norm_folds). */
void pass_fold_normalize(Module *m);

/* Requires: nothing. maxpool/avgpool followed by dropout, the pool's only
 * user, become one pool_dropout; keeps shapes. */
void pass_fuse_pool_dropout(Module *m);

/* Requires: nothing. cross_entropy(softmax(z), y) becomes
 * softmax_xent(z, y); the softmax stays as the model's prediction. */
void pass_fuse_softmax_xent(Module *m);

/* Requires: infer-shapes and a loss (else it does nothing). Appends the
 * backward graph: gradient nodes for every forward node, in reverse. */
void pass_autodiff(Module *m);

/* Requires: autodiff (else it does nothing). An act_bwd read only by conv
 * gradients is removed: they read dy and y and apply the mask themselves. */
void pass_fuse_conv_act_bwd(Module *m);

/* Requires: autodiff. Appends the optimizer state and one update node per
 * parameter (sgd with momentum, or adam). */
void pass_optimizer(Module *m);

/* Requires: infer-shapes; runs last. Places every tensor in the parameter,
 * state or arena buffer and sizes them. */
void pass_plan_memory(Module *m);

typedef struct PipelineOptions {
  const char *only;        /* comma-separated pass names; NULL: all */
  const char *print_after; /* a pass name, "all", or NULL */
  FILE *out;               /* where --print-after writes */
} PipelineOptions;

/* Checks that every name in opts->only and opts->print_after is a pass;
 * reports the first unknown one (with a suggestion) and returns false. */
bool pipeline_check_options(const PipelineOptions *opts, Diag *d);
/* Runs the passes; returns false if one reported an error. */
bool pipeline_run(Module *m, const PipelineOptions *opts);
/* Prints the pass names, one per line, in pipeline order. */
void pipeline_list(FILE *out);
/* false (after an error) when --passes leaves out a pass code generation
 * needs, or reorders them: only the fusions may be left out */
bool pipeline_complete(const PipelineOptions *opts, bool training, Diag *d);

#endif
