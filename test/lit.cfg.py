# lit configuration for cnnc: every .cnn file under test/ is a test.
import os
import sys
import lit.formats
import shutil

config.name = "cnnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".cnn", ".test"]
config.excludes = ["Inputs", "regressions"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.cnnc_obj_root, "test")

config.substitutions.append(("%cnnc", os.path.join(config.cnnc_obj_root, "cnnc")))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%builddir", config.cnnc_obj_root))
# Plain host compilers (no sanitizers) for programs built from inference
# objects, which need no runtime.
config.substitutions.append(("%host_cc", "cc"))
config.substitutions.append(("%host_cxx", "c++"))
# The data-loss tests make throw-away device nodes (mknod), mount a small
# tmpfs in a private mount namespace (unshare -m) and set chattr +i: root's
# rights, which CI has.
if os.geteuid() == 0:
    config.available_features.add("root")
# The scaling tests count instructions under callgrind, which cannot run a
# sanitizer build's binaries (the gcc build of scripts/test.sh runs them).
sanitized = config.sanitize.upper() in ("ON", "1", "TRUE", "YES")
if shutil.which("valgrind") and not sanitized:
    config.available_features.add("valgrind")
if shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64"):
    config.available_features.add("aarch64-cross")
import subprocess
if os.path.exists("/usr/bin/python3") and subprocess.run(
        ["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0:
    config.available_features.add("torch")
# Open MPI as the tests run it: as root (CI's user) it must be told so;
# beyond the 2 cores, more processes than cores are wanted. Only the
# loopback is ever used: mpirun's own wiring (oob) and the TCP transport
# are held to it; %mpi_shm and %mpi_tcp choose the transport.
# Under the sanitizers Open MPI's own allocations (its plug-ins are
# unloaded before LeakSanitizer looks, so no suppression can name them)
# would fail every job: the processes mpirun starts check no leaks (the
# trainer's own code is leak-checked started alone, and in one process).
mpirun = ("mpirun --allow-run-as-root --oversubscribe"
          " --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo")
if sanitized:
    mpirun += " -x ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 -x UBSAN_OPTIONS"
config.substitutions.append(("%mpirun", mpirun))
config.substitutions.append(("%mpi_shm", "--mca btl self,vader"))
config.substitutions.append(("%mpi_tcp", "--mca btl self,tcp"))
config.substitutions.append(("%examples", os.path.join(config.cnnc_src_root, "examples")))
config.substitutions.append(("%bench", os.path.join(config.cnnc_src_root, "bench")))
config.environment["PATH"] = os.pathsep.join(
    [config.cnnc_obj_root, config.llvm_tools_dir, config.environment.get("PATH", "")])
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "HOME"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
if config.fuzz_binary and os.path.exists(config.fuzz_binary):
    config.available_features.add("fuzzer")
    config.substitutions.append(("%fuzzer", config.fuzz_binary))
    config.substitutions.append(("%fuzz_weights", os.path.join(
        os.path.dirname(config.fuzz_binary), "fuzz_weights")))

# test/Runtime: fake models compiled with the build's C compiler (and its
# sanitizers, which libcnnrt.a then needs) and linked against libcnnrt.a.
cnnrt_cflags = "-std=c17 -O1 -g"
if sanitized:
    cnnrt_cflags += (" -fsanitize=address,undefined -fno-omit-frame-pointer"
                     " -fno-sanitize-recover=undefined")
config.substitutions.append(("%cc", config.cc + " " + cnnrt_cflags))
# The build's C compiler alone, for CMake projects that link the installed
# runtime (a sanitizer build's runtime needs its own compiler's runtime).
config.substitutions.append(("%c_compiler", config.cc))
# the runtime's stand-in trainer (test/Runtime/Inputs/fake_model.c)
config.substitutions.append(("%fake_trainer", " ".join([
    config.cc, cnnrt_cflags, "-I" + os.path.join(config.cnnc_src_root, "runtime"),
    os.path.join(config.cnnc_src_root, "test", "Runtime", "Inputs", "fake_model.c"),
    os.path.join(config.cnnc_obj_root, "runtime", "libcnnrt.a"),
    config.cnnrt_link_flags])))
config.substitutions.append(
    ("%cnnrt_lib", os.path.join(config.cnnc_obj_root, "runtime", "libcnnrt.a")))
config.substitutions.append(
    ("%cnnrt_include", os.path.join(config.cnnc_src_root, "runtime")))
config.substitutions.append(("%zlib", config.cnnrt_link_flags))
mnist = os.path.join(config.cnnc_src_root, "data", "mnist")
if os.path.exists(os.path.join(mnist, "t10k-labels-idx1-ubyte")):
    config.available_features.add("mnist")
    config.substitutions.append(("%mnist", mnist))
