# IPython-style lines of the Python context kernel (joined to kernel.py's source): `!command`, `%cd dir`, `%pwd`,
# `%pip install ...`. A cell is rewritten only when it is not valid Python as it is, so a `!` or `%` at the start of
# a line inside a string or an expression stays what it was; each line stays on its line (tracebacks keep lines).
import ast, os, re, shlex, subprocess, sys

_MAGIC_LINE = re.compile(r"^([ \t]*)([!%])(.*)$")


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
            call = "shell" if kind == "!" else "line"
            lines[i] = "%s_threadbox_magic.%s(%r)" % (indent, call, rest.strip())
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
        subprocess.run(command, shell=True, stdin=subprocess.DEVNULL)

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


_namespace["_threadbox_magic"] = _Magics()
