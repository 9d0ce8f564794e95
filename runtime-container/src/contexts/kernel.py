# threadbox Python context kernel: one persistent interpreter, driven over fd 3 by newline-delimited JSON.
#   in:  {"op": "run", "id": ..., "code": ..., "env": {NAME: value}?, "cell_env": {NAME: value}?}   {"op": "interrupt", "id": ...?}
#        {"op": "pip_done", "request": ..., "ok": ..., "message": ...}   (the answer to a "pip" frame of %pip)
#   out: {"type": "ready", "pid": ..., "python": ...}
#        {"type": "display", "id": ..., "mime": ..., "data": ..., "source": "figure" | "display" | "value"}
#        {"type": "pip", "id": ..., "request": ..., "packages": [...], "pip_args": "..."}
#        {"type": "done", "id": ..., "ok": true, "result": {mime: data} | null}
#        {"type": "done", "id": ..., "ok": false, "error": {"type", "value", "traceback", "line"}}
# Cell output is the process's real stdout/stderr (so subprocesses and C code are captured too); at the end of a
# cell a marker line on each stream tells the runtime that everything the cell printed has arrived.
# kernel-rich.py (mime bundles, display) and kernel-magics.py (`!`, `%` lines) are joined after this source, and
# a last line calls main() (kernel-source.ts).
import ast, json, linecache, os, queue, signal, sys, threading, traceback, types

CONTROL = 3
MARK = "\x1e\x1ethreadbox-cell-end:"
_send_lock = threading.Lock()
_commands = queue.Queue()
_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
# The event loop for top-level `await`, made by the first cell that needs one and kept for the next: asyncio (with
# ssl, which it imports) is a third of an idle context's memory, and most contexts never await.
_loop = None
_current = {"id": None}
# Frames of the kernel itself (run with `python -c`), which no traceback shows.
KERNEL_FILE = sys._getframe().f_code.co_filename


def send(frame):
    data = (json.dumps(frame) + "\n").encode()
    with _send_lock:
        os.write(CONTROL, data)


def flush_figures(cell_id):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        try:
            send({"type": "display", "id": cell_id, "mime": "image/png", "data": figure_png(plt.figure(num)), "source": "figure"})
        except Exception:
            pass
    plt.close("all")


def _user_frames(te, seen):
    """Keeps the frames of the user's cells and what they called: not run_cell, the compiler, nor a magic's own."""
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    stack = list(te.stack)
    first = next((i for i, f in enumerate(stack) if f.filename.startswith("<cell-")), len(stack))
    te.stack = traceback.StackSummary.from_list([f for f in stack[first:] if f.filename != KERNEL_FILE])
    _user_frames(te.__cause__, seen)
    _user_frames(te.__context__, seen)


def cell_error(exc, filename):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    line = frames[-1].lineno if frames else getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _user_frames(te, set())
    return {"type": type(exc).__name__, "value": str(exc), "traceback": "".join(te.format()), "line": line}


def run_coroutine(coro):
    global _loop
    if _loop is None:
        import asyncio

        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def run_cell(cell_id, code):
    filename = "<cell-%s>" % cell_id
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    result = None
    try:
        tree = ast.parse(transform_magics(code), filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        for node, mode in ((tree, "exec"), (last, "eval")):
            if node is None:
                continue
            value = eval(compile(node, filename, mode, flags=flags), _namespace)
            if isinstance(value, types.CoroutineType):
                value = run_coroutine(value)
            if mode == "eval" and value is not None:
                _namespace["_"] = value
                result = bundle(value)
        flush_figures(cell_id)
        return {"type": "done", "id": cell_id, "ok": True, "result": result}
    except BaseException as exc:  # KeyboardInterrupt from a timeout too: the state stays
        flush_figures(cell_id)
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            return {"type": "done", "id": cell_id, "ok": True, "result": None}
        return {"type": "done", "id": cell_id, "ok": False, "error": cell_error(exc, filename)}


def reader():
    buf = b""
    while True:
        chunk = os.read(CONTROL, 65536)
        if not chunk:
            os._exit(0)  # the runtime went away
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("op") == "pip_done":
                _replies.put(msg)
            elif msg.get("op") == "interrupt":
                if _current["id"] is not None:
                    # To the main thread itself: a process-wide signal may land on this thread and leave a
                    # blocking call in the cell (sleep, I/O) uninterrupted.
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            else:
                _commands.put(msg)


_gui_hooks = {}


def gui_hook():
    """The GUI screenshot hooks, loaded on the first cell that asks for screenshots (capture_screenshot)."""
    path = os.environ.get("THREADBOX_GUI_HOOK")
    if not path or not os.environ.get("THREADBOX_SCREENSHOTS"):
        return None
    if path not in _gui_hooks:
        import importlib.util

        spec = importlib.util.spec_from_file_location("threadbox_gui", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _gui_hooks[path] = module
    return _gui_hooks[path]


def apply_env(env):
    """Sets a cell's own variables; returns what to put back after it."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    return saved


def restore_env(saved):
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def main():
    _namespace["display"] = display
    # A process started with SIGINT ignored would not get Python's KeyboardInterrupt handler: make sure it has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=reader, daemon=True).start()
    send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        msg = _commands.get()
        _current["id"] = msg["id"]
        try:
            # Set before the cell runs, so what it starts (a GUI on a DISPLAY given now) sees it. Screenshots are
            # per cell: only a cell that asks for them gets a directory to put them in.
            os.environ.pop("THREADBOX_SCREENSHOTS", None)
            os.environ.update(msg.get("env") or {})
            saved = apply_env(msg.get("cell_env") or {})
            try:
                hook = gui_hook()
                frame = run_cell(msg["id"], msg["code"])
                if hook is not None:
                    hook.cell_done()
            finally:
                restore_env(saved)
        except KeyboardInterrupt as exc:  # landed between the cell and its answer
            frame = {"type": "done", "id": msg["id"], "ok": False, "error": cell_error(exc, "")}
        _current["id"] = None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
                stream.write("%s%s\n" % (MARK, msg["id"]))
                stream.flush()
            except Exception:
                pass
        send(frame)
