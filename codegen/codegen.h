/* codegen.h - from a planned Module to machine code, through the LLVM-C API.
 *
 * One LLVM module per model: the train step and the inference function,
 * every shape a compile-time constant, and the `cnn_model` descriptor that
 * libcnnrt reads (runtime/cnnrt.h). */
#ifndef CNNC_CODEGEN_H
#define CNNC_CODEGEN_H

#include "ir.h"

typedef enum EmitKind {
  EMIT_EXE,  /* object, then linked with libcnnrt into a trainer */
  EMIT_OBJ,  /* an object file */
  EMIT_ASM,  /* assembly */
  EMIT_LLVM, /* LLVM IR text */
} EmitKind;

typedef struct CgOptions {
  EmitKind emit;
  int opt_level;      /* 0..3 */
  const char *triple; /* NULL: the host */
  const char *cpu;    /* NULL: the host's (or "generic" for another triple) */
  bool reference;     /* plain loop nests only (the kernels' yardstick) */
  /* An inference object instead of a trainer's: the C entry points are
   * named after infer_name; weights (cnnc layout) are baked into read-only
   * data, or, when NULL, set at run time by NAME_set_weights. */
  const char *infer_name;
  const float *weights;
  int64_t *scratch_bytes; /* out: the scratch an inference call needs */
} CgOptions;

/* What cg_emit makes: an object, assembly or LLVM IR text, in memory. */
typedef struct CgBytes {
  char *data; /* malloc'd */
  size_t size;
} CgBytes;
void cg_bytes_free(CgBytes *b);

/* Requires: a module after the whole pipeline (plan-memory ran), with a
 * train block for a trainer's object, without one for an inference one.
 * Makes the object (EMIT_EXE and EMIT_OBJ), assembly or IR into *out.
 * Errors (an unknown target or CPU) go to d as tool errors. */
bool cg_emit(const Module *m, const CgOptions *o, CgBytes *out, Diag *d);

/* --cpu=help: the CPUs of o->triple (the host's when NULL), one a line. */
bool cg_list_cpus(const CgOptions *o, FILE *out, Diag *d);

#endif
