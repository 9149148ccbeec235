/* cg_cpu.c - --cpu=NAME checked before code generation uses it.
 *
 * LLVM takes any CPU name: an unknown one gets a warning on stderr and is
 * ignored, and one that cannot run the target's code (i686, pentium4 or
 * athlon for x86_64) aborts the process in the middle of code generation
 * ("64-bit code requested on a subtarget that doesn't support it"). The C
 * API can ask neither question, so a child process does what would fail:
 * it asks LLVM for the target's CPU list (LLVM prints it for the CPU
 * "help") and compiles a function for the CPU. The parent reads what the
 * child printed and how it ended, and reports in cnnc's words.
 *
 * The same function tells the CPU's vector registers, which the kernels
 * are sized for: LLVM reports a named CPU's features through no C API,
 * but the assembly of a <16 x float> add shows them (zmm: AVX-512, ymm:
 * AVX, else 128 bits). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "cg.h"

enum { MAX_CPUS = 1024, MAX_REPORT = 4 << 20 };

static LLVMTargetMachineRef machine(LLVMTargetRef t, const char *triple,
                                    const char *cpu) {
  return LLVMCreateTargetMachine(t, triple, cpu, "", LLVMCodeGenLevelNone,
                                 LLVMRelocPIC, LLVMCodeModelDefault);
}

/* *a += *b on <16 x float> in memory (no calling convention to name
 * registers): its assembly shows the widest vectors LLVM gives the
 * kernels' explicit vector code on this CPU */
static LLVMModuleRef vector_add(LLVMContextRef ctx, const char *triple) {
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("cpu", ctx);
  LLVMSetTarget(mod, triple);
  LLVMTypeRef v16 = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef args[2] = {ptr, ptr};
  LLVMValueRef fn = LLVMAddFunction(
      mod, "add", LLVMFunctionType(LLVMVoidTypeInContext(ctx), args, 2, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef x = LLVMBuildLoad2(b, v16, LLVMGetParam(fn, 0), "x");
  LLVMValueRef y = LLVMBuildLoad2(b, v16, LLVMGetParam(fn, 1), "y");
  LLVMBuildStore(b, LLVMBuildFAdd(b, x, y, "sum"), LLVMGetParam(fn, 0));
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  return mod;
}

/* In the child: everything goes to stderr, which is the pipe. */
static _Noreturn void try_cpu(LLVMTargetRef t, const char *triple,
                              const char *cpu) {
  LLVMDisposeTargetMachine(machine(t, triple, "help"));
  fputs("\ncnnc-cpu-list-end\n", stderr);
  LLVMTargetMachineRef tm = machine(t, triple, cpu);
  char *err = NULL;
  LLVMMemoryBufferRef buf;
  bool failed = LLVMTargetMachineEmitToMemoryBuffer(
      tm, vector_add(LLVMContextCreate(), triple), LLVMAssemblyFile, &err,
      &buf);
  if (!failed) {
    const char *as = LLVMGetBufferStart(buf);
    size_t len = LLVMGetBufferSize(buf);
    bool zmm = memmem(as, len, "zmm", 3), ymm = memmem(as, len, "ymm", 3);
    fprintf(stderr, "\ncnnc-cpu-vector-floats %d\n", zmm ? 16 : ymm ? 8 : 4);
  }
  fflush(stderr);
  _exit(failed ? 1 : 0); /* no atexit handlers: this is a copy of cnnc */
}

/* Runs try_cpu in a child; *out gets what it printed (malloc'd). */
static bool run_child(LLVMTargetRef t, const char *triple, const char *cpu,
                      char **out, int *status) {
  int fds[2];
  if (pipe(fds) != 0)
    return false;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    /* cnnc's handlers would remove the parent's temporaries when LLVM
     * aborts here, as it does for a CPU that cannot run the target */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
      signal(sigs[i], SIG_DFL);
    close(fds[0]);
    dup2(fds[1], 2);
    try_cpu(t, triple, cpu);
  }
  close(fds[1]);
  size_t len = 0, cap = MAX_REPORT;
  char *text = pid > 0 ? malloc(cap + 1) : NULL;
  while (text && len < cap) {
    ssize_t k = read(fds[0], text + len, cap - len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    len += (size_t)k;
  }
  close(fds[0]);
  if (pid > 0 && len == cap)
    kill(pid, SIGKILL); /* more than any CPU list: it would block writing */
  while (pid > 0 && waitpid(pid, status, 0) < 0 && errno == EINTR)
    ;
  if (!text)
    return false;
  text[len] = '\0';
  *out = text;
  return true;
}

/* The names of "  alderlake  - Select the alderlake processor." lines,
 * cut out of text in place. */
static int cpu_names(char *text, const char **names) {
  char *at = strstr(text, "Available CPUs for this target:");
  char *end = strstr(text, "\ncnnc-cpu-list-end\n");
  int n = 0;
  for (char *line = at ? strchr(at, '\n') : NULL; line && line < end;) {
    char *next = strchr(line + 1, '\n');
    char *name = line + 1 + strspn(line + 1, " ");
    size_t len = strcspn(name, " \n");
    bool item = len && strstr(name, " - ") && strstr(name, " - ") < next;
    if (item && n < MAX_CPUS) {
      name[len] = '\0';
      names[n++] = name;
    } else if (n > 0) {
      break; /* the blank line after the list */
    }
    line = next;
  }
  return n;
}

static bool listed(const char *cpu, const char **names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(cpu, names[i]) == 0)
      return true;
  return false;
}

/* "LLVM ERROR: 64-bit code requested ..." -> "64-bit code requested ..." */
static const char *llvm_reason(const char *text) {
  const char *e = strstr(text, "LLVM ERROR: ");
  return e ? e + strlen("LLVM ERROR: ") : NULL;
}

/* the child's "cnnc-cpu-vector-floats N" line */
static int vector_floats(const char *text) {
  const char *at = strstr(text, "\ncnnc-cpu-vector-floats ");
  int n = at ? atoi(at + strlen("\ncnnc-cpu-vector-floats ")) : 4;
  return n == 16 || n == 8 ? n : 4;
}

static bool judge(const char *cpu, const char *triple, char *text,
                  int status, Diag *d) {
  const char *names[MAX_CPUS];
  const char *reason = llvm_reason(text);
  int reason_len = reason ? (int)strcspn(reason, "\n") : 0;
  int n = cpu_names(text, names);
  if (n > 0 && !listed(cpu, names, n)) {
    const char *s = suggest(cpu, names, n);
    diag_tool_error(d, "--cpu=%s: not a CPU of %s%s%s%s (--cpu=help lists "
                    "the %d there are)", cpu, triple, s ? "; did you mean '" : "",
                    s ? s : "", s ? "'?" : "", n);
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  diag_tool_error(d, "--cpu=%s: LLVM cannot generate %s code for it (%.*s); "
                  "choose a CPU that runs %s code", cpu, triple, reason_len,
                  reason ? reason : "it failed", triple);
  return false;
}

bool cg_check_cpu(LLVMTargetRef t, const char *triple, const char *cpu,
                  int *vw, Diag *d) {
  char *text = NULL;
  int status = 0;
  if (!run_child(t, triple, cpu, &text, &status)) {
    diag_tool_error(d, "--cpu=%s: cannot check it: %s", cpu, strerror(errno));
    return false;
  }
  *vw = vector_floats(text);
  bool ok = judge(cpu, triple, text, status, d);
  free(text);
  return ok;
}

bool cg_print_cpus(LLVMTargetRef t, const char *triple, FILE *out) {
  char *text = NULL;
  int status = 0;
  if (!run_child(t, triple, "help", &text, &status))
    return false;
  const char *names[MAX_CPUS];
  int n = cpu_names(text, names);
  fprintf(out, "CPUs of %s (for --cpu=NAME):\n", triple);
  for (int i = 0; i < n; i++)
    fprintf(out, "  %s\n", names[i]);
  free(text);
  return n > 0;
}
