# threadbox Python context kernel: one persistent interpreter, driven over fd 3 by newline-delimited JSON.
#   in:  {"op": "run", "id": ..., "code": ..., "env": {NAME: value}?}   {"op": "interrupt", "id": ...?}
#   out: {"type": "ready", "pid": ..., "python": ...}
#        {"type": "display", "id": ..., "mime": ..., "data": ..., "source": "figure" | "display" | "value"}
#        {"type": "done", "id": ..., "ok": true, "result": {mime: data} | null}
#        {"type": "done", "id": ..., "ok": false, "error": {"type", "value", "traceback", "line"}}
# Cell output is the process's real stdout/stderr (so subprocesses and C code are captured too); at the end of a
# cell a marker line on each stream tells the runtime that everything the cell printed has arrived.
import ast, asyncio, base64, inspect, io, json, linecache, os, queue, signal, sys, threading, traceback

CONTROL = 3
MARK = "\x1e\x1ethreadbox-cell-end:"
_send_lock = threading.Lock()
_commands = queue.Queue()
_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
_loop = asyncio.new_event_loop()
_current = {"id": None}


def send(frame):
    data = (json.dumps(frame) + "\n").encode()
    with _send_lock:
        os.write(CONTROL, data)


def bundle(value):
    """The rich representations of a value: text/plain always, text/html and image/png when it has them."""
    out = {"text/plain": repr(value)}
    html = getattr(value, "_repr_html_", None)
    if callable(html):
        try:
            rendered = html()
            if rendered:
                out["text/html"] = rendered
        except Exception:
            pass
    png = getattr(value, "_repr_png_", None)
    if callable(png):
        try:
            data = png()
            if data:
                out["image/png"] = base64.b64encode(data).decode()
        except Exception:
            pass
    if "image/png" not in out and type(value).__module__.startswith("matplotlib"):
        fig = getattr(value, "figure", None) or (value if hasattr(value, "savefig") else None)
        if fig is not None and hasattr(fig, "savefig"):
            out["image/png"] = figure_png(fig)
    return out


def figure_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def display(*values):
    """Shows values as rich outputs of the running cell (like IPython's display)."""
    for value in values:
        for mime, data in bundle(value).items():
            send({"type": "display", "id": _current["id"], "mime": mime, "data": data, "source": "display"})


_namespace["display"] = display


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


def cell_error(exc, filename):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    line = frames[-1].lineno if frames else getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    # The first frame is run_cell's own: the caller sees only the frames of its cells and what they called.
    tb_obj = exc.__traceback__.tb_next if exc.__traceback__ and not isinstance(exc, SyntaxError) else exc.__traceback__
    tb = "".join(traceback.format_exception(type(exc), exc, tb_obj))
    return {"type": type(exc).__name__, "value": str(exc), "traceback": tb, "line": line}


def run_cell(cell_id, code):
    filename = "<cell-%s>" % cell_id
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    result = None
    try:
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        for node, mode in ((tree, "exec"), (last, "eval")):
            if node is None:
                continue
            value = eval(compile(node, filename, mode, flags=flags), _namespace)
            if inspect.iscoroutine(value):
                value = _loop.run_until_complete(value)
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
            if msg.get("op") == "interrupt":
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


def main():
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
            hook = gui_hook()
            frame = run_cell(msg["id"], msg["code"])
            if hook is not None:
                hook.cell_done()
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


main()
