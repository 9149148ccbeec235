/* cg_target.c - the machine the code is for: LLVM's target machine, and
 * the facts about it the kernels plan with (CgTarget).
 *
 * Every machine fact the code generator uses is here, so that a kernel
 * asks g->target and a new machine is one place to describe: the widest
 * float vector, the vector registers a register block may fill, the data
 * caches a kernel's working set should fit. */
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"

/* The widest float vector of the host (or of a bare --target), from the
 * features the target machine was made with: 16 lanes with AVX-512, 8
 * with AVX, 4 otherwise (SSE, NEON). A named --cpu's come from cg_cpu.c. */
static int vector_width(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  int vw = 4;
  if (strstr(features, "+avx512f"))
    vw = 16;
  else if (strstr(features, "+avx"))
    vw = 8;
  LLVMDisposeMessage(features);
  return vw;
}

static void init_llvm_targets(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
}

/* The target of --target (the host's without it); *triple is LLVM's
 * message, to dispose. */
static bool find_target(const CgOptions *o, char **triple, LLVMTargetRef *t,
                        Diag *d) {
  init_llvm_targets();
  *triple = o->triple ? LLVMNormalizeTargetTriple(o->triple)
                      : LLVMGetDefaultTargetTriple();
  char *err = NULL;
  if (!LLVMGetTargetFromTriple(*triple, t, &err))
    return true;
  diag_tool_error(d, "unknown target '%s': %s", *triple, err);
  LLVMDisposeMessage(err);
  LLVMDisposeMessage(*triple);
  return false;
}

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
  return opt_level == 0   ? LLVMCodeGenLevelNone
         : opt_level == 1 ? LLVMCodeGenLevelLess
         : opt_level == 2 ? LLVMCodeGenLevelDefault
                          : LLVMCodeGenLevelAggressive;
}

static bool host_triple(const char *triple) {
  char *host = LLVMGetDefaultTargetTriple();
  bool same = strcmp(host, triple) == 0;
  LLVMDisposeMessage(host);
  return same;
}

/* The host's CPU and features without --target or --cpu, or with
 * --cpu=native; --cpu=NAME checked against the target's CPUs; "generic"
 * for another target. */
static LLVMTargetMachineRef target_machine(const CgOptions *o, int *vw,
                                           bool *host_cpu, Diag *d) {
  char *triple;
  LLVMTargetRef target;
  if (!find_target(o, &triple, &target, d))
    return NULL;
  bool native = o->cpu && strcmp(o->cpu, "native") == 0;
  bool host = (!o->triple && !o->cpu) || native;
  *host_cpu = host;
  LLVMTargetMachineRef tm = NULL;
  if (native && o->triple && !host_triple(triple)) {
    diag_tool_error(d, "--cpu=native is this machine's CPU, which cannot run "
                    "%s code; name one of its CPUs (--cpu=help)", triple);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  *vw = 0; /* from the features string, below */
  if (host || !o->cpu || cg_check_cpu(target, triple, o->cpu, vw, d)) {
    char *cpu = host ? LLVMGetHostCPUName()
                     : LLVMCreateMessage(o->cpu ? o->cpu : "generic");
    char *features = host ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
    tm = LLVMCreateTargetMachine(target, triple, cpu, features,
                                 codegen_level(o->opt_level), LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeMessage(triple);
  return tm;
}

bool cg_list_cpus(const CgOptions *o, FILE *out, Diag *d) {
  char *triple;
  LLVMTargetRef target;
  if (!find_target(o, &triple, &target, d))
    return false;
  bool ok = cg_print_cpus(target, triple, out);
  if (!ok)
    diag_tool_error(d, "cannot list the CPUs of %s", triple);
  LLVMDisposeMessage(triple);
  return ok;
}


/* A cache's size in bytes from the C library (this machine's), or `or`
 * for another machine's code or when the library does not know. */
static int64_t cache_bytes(bool host, int name, int64_t or) {
  long v = host ? sysconf(name) : 0;
  return v > 0 ? (int64_t)v : or;
}

LLVMTargetMachineRef cg_target_machine(const CgOptions *o, CgTarget *t,
                                       Diag *d) {
  int cpu_vw = 0;
  bool host = false;
  LLVMTargetMachineRef tm = target_machine(o, &cpu_vw, &host, d);
  if (!tm)
    return NULL;
  t->vw = cpu_vw ? cpu_vw : vector_width(tm);
  /* 24 of the 32 vector registers of AVX-512 and NEON, 12 of AVX2's 16
   * (and of SSE's, which have 4 lanes), leaving room for operands */
  t->accumulators = t->vw == 8 ? 12 : 24;
  t->l1_bytes = cache_bytes(host, _SC_LEVEL1_DCACHE_SIZE, 32 << 10);
  t->l2_bytes = cache_bytes(host, _SC_LEVEL2_CACHE_SIZE, 1 << 20);
  return tm;
}
