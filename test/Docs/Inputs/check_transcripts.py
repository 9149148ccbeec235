#!/usr/bin/env python3
"""check_transcripts.py - reruns the transcripts of cnnc's documentation.

    check_transcripts.py --cnnc PATH --src DIR [--work DIR] [--jobs N]
                         [--update] [DOC.md ...]

The documents (default: DIR/README.md and DIR/docs/*.md) follow one
convention, so that what they show is what cnnc does today:

  ```console          a transcript. A line "$ COMMAND" is a command, run by
  $ cnnc x.cnn        bash from the top of the repository; the lines after it,
  x.cnn:1:1: ...      up to the next "$ ", are what it prints (stdout and
  ```                 stderr together), compared exactly but for two
                      wildcards: a line that is just "..." stands for any
                      number of lines (none too), and "[...]" inside a line
                      for any text on that line (timings, image/s).
                      Trailing spaces and trailing blank lines are ignored.
                      `cnnc` is the build's, first on PATH.

  ```cnn file=x.cnn   a listing that is also a file: its text is written to
  ...                 x.cnn (relative to the top of the repository) before
  ```                 the commands after it run. Any language may carry it.

  ```console requires=torch   a transcript that needs something the build
                      may lack: torch (a python3 that imports torch and
                      numpy; it is then first on PATH as python3), mnist
                      (data/mnist), aarch64-cross (aarch64-linux-gnu-gcc and
                      qemu-aarch64). Without it the block is skipped, and
                      said to be.

Each document runs in a scratch copy of the repository of its own (the
sources, examples, tests and scripts; data/mnist linked or copied; never a
build folder), in the order it is written, so that a block may use what an
earlier block of the same document made. Nothing in DIR is written, except
with --update, which replaces the expected output of each command that did
not match with what it printed (and says so: wildcards in those lines must
then be put back by hand).

The check fails, too, when a document names a path of this machine
(/work/, /tmp/, /root/, /home/, or DIR itself) or holds a block that looks
like a transcript ("$ " first) but is not marked console, and when a
command prints the path of its scratch copy (a wildcard would hide it,
and it would be a path of this machine in the document). Exit status 0
when every transcript matched, 1 otherwise, naming for each command that
did not match the first expected line that differs, and what it printed.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys

FENCE = re.compile(r"^( *)(`{3,}|~{3,})(.*)$")
MACHINE_PATHS = re.compile(r"(?<![\w.$-])/(work|tmp|root|home)/")
FEATURES = ("mnist", "torch", "aarch64-cross")
COMMAND_TIMEOUT = 300


class Block:
    """One fenced block: its info string's words and its lines."""

    def __init__(self, doc, line, indent, info, lines):
        self.doc, self.line, self.indent, self.lines = doc, line, indent, lines
        words = info.split()
        self.lang = words[0] if words else ""
        self.attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)


class Command:
    """A "$ " line of a console block and the lines expected after it."""

    def __init__(self, block, index, text):
        self.block, self.index, self.text = block, index, text
        self.expected = []  # (index in block.lines, text)


def parse_blocks(doc, text):
    """Every fenced block of a Markdown text, indented ones too."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
        close = re.compile(r"^ *" + re.escape(fence[0]) + "{%d,} *$" % len(fence))
        body, j = [], i + 1
        while j < len(lines) and not close.match(lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == ""
                        else lines[j])
            j += 1
        blocks.append(Block(doc, i + 1, indent, info.strip(), body))
        i = j + 1
    return blocks


def commands_of(block, errors):
    cmds = []
    for k, line in enumerate(block.lines):
        if line.startswith("$ "):
            cmds.append(Command(block, k, line[2:]))
        elif not cmds:
            errors.append("%s:%d: a console block starts with a command "
                          "('$ ...'), not %r" % (block.doc, block.line + 1 + k,
                                                 line))
        else:
            cmds[-1].expected.append((k, line))
    return cmds


def lint(doc, text, blocks, src):
    """Machine paths anywhere, and transcripts not marked as such."""
    errors = []
    real_src = os.path.realpath(src)
    for n, line in enumerate(text.split("\n"), 1):
        if MACHINE_PATHS.search(line) or real_src in line:
            errors.append("%s:%d: names a path of this machine: %s"
                          % (doc, n, line.strip()))
    for b in blocks:
        if b.lang != "console" and b.lines and b.lines[0].startswith("$ "):
            errors.append("%s:%d: a block that starts with '$ ' is a "
                          "transcript: mark it ```console" % (doc, b.line))
        if b.lang == "console" and "file" in b.attrs:
            errors.append("%s:%d: a console block cannot be a file"
                          % (doc, b.line))
        for need in b.attrs.get("requires", "").split(","):
            if need and need not in FEATURES:
                errors.append("%s:%d: unknown requirement '%s' (known: %s)"
                              % (doc, b.line, need, ", ".join(FEATURES)))
    return errors


# --- matching ----------------------------------------------------------------

def pattern(expected):
    """A regex for the expected lines: "..." any lines, "[...]" any text."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = line.rstrip().split("[...]")
            parts.append("[^\n]*?".join(re.escape(p) for p in pieces)
                         + r"[ \t]*\n")
    return re.compile("".join(parts))


def strip_end(lines):
    """Trailing spaces and trailing blank lines do not count."""
    lines = [line.rstrip() for line in lines]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def normalise(output):
    return "".join(line + "\n" for line in strip_end(output.split("\n")))


def matches(expected, output):
    return pattern(strip_end(expected)).fullmatch(normalise(output)) is not None


def first_mismatch(expected, output):
    """The index of the first expected line that no longer matches: the
    longest prefix that, followed by anything, still matches the output."""
    expected, text = strip_end(expected), normalise(output)
    for k in range(len(expected), -1, -1):
        if pattern(expected[:k] + ["..."]).fullmatch(text):
            return k
    return 0


# --- the session of one document ------------------------------------------------

def is_build_folder(path):
    return (os.path.exists(os.path.join(path, "CMakeCache.txt")) or
            os.path.basename(path).startswith("build"))


def make_scratch(src, top, with_mnist):
    """A copy of the repository without its builds, .git and data but
    data/mnist."""
    os.makedirs(top)
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if name in (".git", "data") or (os.path.isdir(path) and
                                        is_build_folder(path)):
            continue
        if os.path.isdir(path):
            shutil.copytree(path, os.path.join(top, name), symlinks=True)
        else:
            shutil.copy2(path, os.path.join(top, name), follow_symlinks=False)
    mnist = os.path.join(src, "data", "mnist")
    if with_mnist:
        dest = os.path.join(top, "data", "mnist")
        os.makedirs(dest)
        for name in os.listdir(mnist):
            # a hard link or a copy, never a symbolic link: writing through
            # one would replace the repository's file
            try:
                os.link(os.path.join(mnist, name), os.path.join(dest, name))
            except OSError:
                shutil.copy2(os.path.join(mnist, name), os.path.join(dest, name))


def environment(bindirs, tmp):
    env = {
        "PATH": os.pathsep.join(bindirs + [os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": os.environ.get("HOME", tmp),
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": tmp,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            env[var] = os.environ[var]
    return env


def run(cmd, cwd, env):
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT)
        return p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return out + "check_transcripts: timed out after %d s\n" % COMMAND_TIMEOUT


class Result:
    def __init__(self, doc):
        self.doc, self.failures, self.skipped, self.commands = doc, [], [], 0
        self.updates = []  # (block, index in block.lines, old count, new lines)


def check_document(doc, blocks, ctx):
    """Runs the blocks of one document in its scratch copy, in order."""
    r = Result(doc)
    stem = re.sub(r"[^\w.-]", "_", os.path.relpath(doc, ctx.src))
    top = os.path.join(ctx.work, stem)
    tmp = os.path.join(ctx.work, stem + ".tmp")
    make_scratch(ctx.src, top, "mnist" in ctx.features)
    os.makedirs(tmp)
    env = environment(ctx.bindirs, tmp)
    for b in blocks:
        needs = [n for n in b.attrs.get("requires", "").split(",") if n]
        missing = [n for n in needs if n not in ctx.features]
        if missing and (b.lang == "console" or "file" in b.attrs):
            r.skipped.append("%s:%d (needs %s)" % (doc, b.line, ", ".join(missing)))
            continue
        if "file" in b.attrs:
            path = os.path.join(top, b.attrs["file"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in b.lines))
        if b.lang != "console":
            continue
        for c in commands_of(b, r.failures):
            r.commands += 1
            out = run(c.text, top, env)
            want = [t for _, t in c.expected]
            leak = [p for p in (ctx.work, os.path.realpath(ctx.work), ctx.src)
                    if p in out]
            if leak:  # even where a wildcard would hide it
                r.failures.append("%s:%d: $ %s\nprints a path of this machine "
                                  "(%s):\n%s" % (doc, b.line + 1 + c.index,
                                                  c.text, leak[0], out))
                continue
            if matches(want, out):
                continue
            got = normalise(out).split("\n")[:-1]
            k = first_mismatch(want, out)
            if k < len(strip_end(want)):
                where = "%s:%d: from this line on, the output differs:\n  %s" % (
                    doc, b.line + 1 + c.expected[k][0], want[k])
            else:
                where = "%s:%d: the output goes on after the expected lines" % (
                    doc, b.line + 1 + c.index)
            r.failures.append("%s:%d: $ %s\n%s\nprinted:\n%s" % (
                doc, b.line + 1 + c.index, c.text, where,
                "".join("  " + g + "\n" for g in got)))
            r.updates.append((b, c.index + 1, len(c.expected), got))
    if not ctx.keep:
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def update_document(doc, text, updates):
    """Replaces the expected lines of the commands that did not match."""
    lines = text.split("\n")
    for b, first, count, got in sorted(updates, key=lambda u: -(u[0].line + u[1])):
        at = b.line + first  # b.line is the fence's 1-based line
        lines[at:at + count] = [" " * b.indent + g if g else g for g in got]
    with open(doc, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# --- what this machine has ----------------------------------------------------------

def torch_python():
    for py in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import torch, numpy"],
                capture_output=True).returncode == 0:
            return py
    return None


def features(src):
    have = set()
    if os.path.isfile(os.path.join(src, "data", "mnist", "t10k-labels-idx1-ubyte")):
        have.add("mnist")
    if shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64"):
        have.add("aarch64-cross")
    py = torch_python()
    if py:
        have.add("torch")
    return have, py


class Context:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cnnc", required=True, help="the build's cnnc")
    ap.add_argument("--src", required=True, help="the top of the repository")
    ap.add_argument("--work", help="scratch folder (default: a new one in $TMPDIR)")
    ap.add_argument("--jobs", type=int, default=2, help="documents at once")
    ap.add_argument("--update", action="store_true",
                    help="write what was printed into the documents")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies")
    ap.add_argument("--without", action="append", default=[], metavar="FEATURE",
                    help="run as if this machine lacked FEATURE (for tests)")
    ap.add_argument("docs", nargs="*")
    a = ap.parse_args()

    ctx = Context()
    ctx.src = os.path.abspath(a.src)
    ctx.keep = a.keep
    docs = [os.path.abspath(d) for d in a.docs] or (
        [os.path.join(ctx.src, "README.md")] +
        sorted(glob.glob(os.path.join(ctx.src, "docs", "*.md"))))
    ctx.work = os.path.abspath(a.work) if a.work else None
    if ctx.work:
        shutil.rmtree(ctx.work, ignore_errors=True)
        os.makedirs(ctx.work)
    else:
        import tempfile
        ctx.work = tempfile.mkdtemp(prefix="transcripts-")
    ctx.features, py = features(ctx.src)
    ctx.features -= set(a.without)
    if "torch" in a.without:
        py = None
    ctx.bindirs = [os.path.dirname(os.path.abspath(a.cnnc))]
    if py:  # python3 is one that has torch
        shim = os.path.join(ctx.work, "bin")
        os.makedirs(shim)
        os.symlink(py, os.path.join(shim, "python3"))
        ctx.bindirs.insert(0, shim)

    errors, jobs = [], []
    texts = {}
    for doc in docs:
        with open(doc, encoding="utf-8") as f:
            texts[doc] = f.read()
        blocks = parse_blocks(os.path.relpath(doc, ctx.src), texts[doc])
        errors += lint(os.path.relpath(doc, ctx.src), texts[doc], blocks, ctx.src)
        for b in blocks:
            if b.lang == "console":
                commands_of(b, errors)
        jobs.append((doc, blocks))
    if errors:
        print("\n".join(errors))
        return 1

    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(
            lambda j: check_document(os.path.relpath(j[0], ctx.src), j[1], ctx),
            jobs))
    status = 0
    for (doc, _), r in zip(jobs, results):
        for s in r.skipped:
            print("skipped %s" % s)
        for f in r.failures:
            print("FAIL %s\n" % f)
        print("%s: %d commands, %d did not match" % (r.doc, r.commands,
                                                     len(r.failures)))
        if r.failures:
            status = 1
            if a.update and r.updates:
                update_document(doc, texts[doc], r.updates)
                print("%s: updated; put back any wildcards ('...', '[...]') "
                      "those lines had" % r.doc)
    if not a.work and not ctx.keep:
        shutil.rmtree(ctx.work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
