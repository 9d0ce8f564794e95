# IPython-style lines of the Python context kernel (joined to kernel.py's source): `!command`, `%cd dir`, `%pwd`,
# `%pip install ...`. A cell is rewritten only when it is not valid Python as it is, so a `!` or `%` at the start of
# a line inside a string or an expression stays what it was; each line stays on its line (tracebacks keep lines).
import ast, importlib, itertools, os, queue, re, shlex, signal, subprocess, sys

_MAGIC_LINE = re.compile(r"^([ \t]*)([!%])(.*)$")
# `!pip install` is what notebooks say for %pip: the venv has no pip of its own, so it goes the same way.
_SHELL_PIP = re.compile(r"^(?:python3? -m )?pip3? (install\b.*)$")


class MagicError(Exception):
    """A magic line that cannot run (an unknown magic, a bad argument)."""


def transform_magics(code):
    try:
        ast.parse(code)
        return code
    except SyntaxError:
        pass
    lines = code.split("\n")
    for i, line in enumerate(lines):
        m = _MAGIC_LINE.match(line)
        if m and m.group(3).strip():
            indent, kind, rest = m.groups()
            rest = rest.strip()
            pip = _SHELL_PIP.match(rest) if kind == "!" else None
            call, rest = ("line", "pip " + pip.group(1)) if pip else ("shell" if kind == "!" else "line", rest)
            lines[i] = "%s_threadbox_magic.%s(%r)" % (indent, call, rest)
    return "\n".join(lines)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


class _Magics:
    def shell(self, command):
        """`!command`: a shell command in the sandbox, its output streamed as the cell's; returns nothing (as IPython)."""
        _flush()
        # Its own process group, so an interrupt (a timeout, a cancel) ends the whole command line, not only the shell.
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait()
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            raise

    def line(self, text):
        name, _, arg = text.partition(" ")
        arg = arg.strip()
        if name == "cd":
            target = os.path.expanduser(shlex.split(arg)[0] if arg else "~")
            try:
                os.chdir(target)
            except OSError as exc:
                raise MagicError("%%cd: %s: %s" % (target, exc.strerror)) from None
            print(os.getcwd())
        elif name == "pwd":
            return os.getcwd()
        elif name == "pip":
            return pip_magic(shlex.split(arg))
        else:
            raise MagicError("unknown magic %%%s: this kernel knows !command, %%cd, %%pwd and %%pip install" % name)


# pip's options that take a value: the value goes with the option, not among the packages.
_PIP_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint", "-r", "--requirement"}
_pip_requests = itertools.count(1)


def pip_magic(args):
    """`%pip install ...`: the runtime installs into the thread's venv as POST /packages does (and records it)."""
    if not args or args[0] != "install":
        raise MagicError("%pip: only `%pip install PACKAGE ...` is supported here (into the thread's venv)")
    packages, options, rest = [], [], iter(args[1:])
    for arg in rest:
        if arg.startswith("-"):
            options.append(arg)
            if arg in _PIP_VALUE_OPTIONS:
                options.append(next(rest, ""))
        else:
            packages.append(arg)
    _flush()
    request = next(_pip_requests)
    send({"type": "pip", "id": _current["id"], "request": request, "packages": packages, "pip_args": shlex.join(options)})
    while True:  # an answer to an earlier, interrupted request is not this one's
        reply = _replies.get()
        if reply.get("request") == request:
            break
    if not reply.get("ok"):
        raise MagicError("%%pip install failed: %s" % reply.get("message", ""))
    importlib.invalidate_caches()
    print(reply.get("message", ""))


_replies = queue.Queue()
_namespace["_threadbox_magic"] = _Magics()
