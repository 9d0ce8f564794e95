# threadbox import policy: a sys.meta_path finder that refuses imports the thread's policy does not allow. It is
# installed at interpreter start: by run_python as a sitecustomize (then the next sitecustomize on sys.path is
# loaded, so other hooks still run), by a context's kernel after its own imports. The policy comes in
# THREADBOX_IMPORT_POLICY: {"allow": [...] | null, "deny": [...]}. This is policy, not security: the sandbox is the
# boundary (code can remove the finder, and modules loaded before it, such as os, stay importable).
import os as _tb_os
import sys as _tb_sys


def _tb_install_import_policy():
    import json

    raw = _tb_os.environ.get("THREADBOX_IMPORT_POLICY")
    if not raw:
        return
    try:
        policy = json.loads(raw)
    except ValueError:
        return
    allow = policy.get("allow")
    deny = list(policy.get("deny") or [])
    stdlib = frozenset(getattr(_tb_sys, "stdlib_module_names", ()))

    class ImportPolicyError(ImportError):
        """An import the thread's import policy refuses (raised by the threadbox import policy finder)."""

    # Shown as `threadbox.ImportPolicyError` in tracebacks and error_type, not as a local of this function.
    ImportPolicyError.__module__ = "threadbox"
    ImportPolicyError.__qualname__ = "ImportPolicyError"

    def covers(rule, name):
        return name == rule or name.startswith(rule + ".")

    def refusal(name):
        for rule in deny:
            if covers(rule, name):
                return "module '%s' is denied by this thread's import policy (deny: %s)" % (name, rule)
        if allow is None or name.partition(".")[0] in stdlib:
            return None
        # A parent of an allowed module must import too (allowing `a.b` imports `a` first).
        if any(covers(rule, name) or rule.startswith(name + ".") for rule in allow):
            return None
        listed = ", ".join(allow) if allow else "none"
        return "module '%s' is not allowed by this thread's import policy (allow: %s; the standard library is always allowed)" % (name, listed)

    class ImportPolicyFinder:
        """First on sys.meta_path: refuses, never finds (the normal finders then load what is allowed)."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            message = refusal(name)
            if message is not None:
                raise ImportPolicyError(message, name=name)
            return None

        @staticmethod
        def invalidate_caches():
            pass

    _tb_sys.meta_path.insert(0, ImportPolicyFinder())


def _tb_next_sitecustomize():
    """Loads the next sitecustomize on sys.path after this one (a GUI hook, the system's own), as Python would have."""
    import importlib.util

    here = _tb_os.path.dirname(_tb_os.path.abspath(__file__))
    for entry in list(_tb_sys.path):
        folder = _tb_os.path.abspath(entry or _tb_os.getcwd())
        candidate = _tb_os.path.join(folder, "sitecustomize.py")
        if folder == here or not _tb_os.path.isfile(candidate):
            continue
        spec = importlib.util.spec_from_file_location("sitecustomize", candidate)
        module = importlib.util.module_from_spec(spec)
        _tb_sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)
        return


_tb_install_import_policy()
if __name__ == "sitecustomize":
    _tb_next_sitecustomize()
