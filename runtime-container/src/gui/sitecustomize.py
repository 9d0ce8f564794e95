# threadbox GUI hooks, loaded through PYTHONPATH when a run asks for screenshots (capture_screenshot).
# Screenshots are taken *during* the run, once windows have rendered and before the program tears them down
# (screenshots during a run), also in a persistent context (its kernel loads this file and calls cell_done()): when a Tk main loop has been running for a moment, before a Tk root is destroyed, when
# matplotlib's show() would block, and at exit while a window is still up. Each PNG is written to
# THREADBOX_SCREENSHOTS (write then rename); the runtime picks them up and streams them as display events. With
# THREADBOX_SCREENSHOT_REGION (a crop geometry) or THREADBOX_SCREENSHOT_WINDOW (a title) only that area or window is
# taken; a window that is not on the screen leaves a `-missing.txt` note instead.
import os
import sys

_SETTLE_MS = 300
_state = {"seq": 0, "roots": set()}


def _window_crop(title):
    """The crop geometry of the viewable window titled `title` exactly (clipped to the screen), or None."""
    import re
    import subprocess

    try:
        info = subprocess.run(
            ["xwininfo", "-name", title],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = info.stdout.decode("utf-8", "replace")
    if info.returncode != 0 or not re.search(r"^\s*Map State:\s*IsViewable\s*$", text, re.M):
        return None
    fields = {}
    for name in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
        m = re.search(r"^\s*%s:\s*(-?\d+)\s*$" % name, text, re.M)
        if not m:
            return None
        fields[name] = int(m.group(1))
    x, y = fields["Absolute upper-left X"], fields["Absolute upper-left Y"]
    screen_w, screen_h = (int(v) for v in os.environ.get("THREADBOX_SCREEN", "32767x32767").split("x")[:2])
    left, top = max(0, x), max(0, y)
    right, bottom = min(screen_w, x + fields["Width"]), min(screen_h, y + fields["Height"])
    if right <= left or bottom <= top:
        return None
    return "%dx%d+%d+%d" % (right - left, bottom - top, left, top)


def _write(directory, name, data):
    final = os.path.join(directory, name)
    with open(final + ".part", "wb") as f:
        f.write(data)
    os.rename(final + ".part", final)


def capture(reason="manual"):
    """Takes a PNG of the display (or of the window or area the run asked for) now; returns its path (None when none)."""
    import subprocess

    # Read at each capture: a persistent interpreter (a context) gets a new directory for every cell.
    directory = os.environ.get("THREADBOX_SCREENSHOTS")
    if not directory or not os.environ.get("DISPLAY"):
        return None
    os.makedirs(directory, exist_ok=True)
    _state["seq"] += 1
    crop = []
    region, title = os.environ.get("THREADBOX_SCREENSHOT_REGION"), os.environ.get("THREADBOX_SCREENSHOT_WINDOW")
    if region:
        crop = ["-crop", region, "+repage"]
    elif title:
        geometry = _window_crop(title)
        if geometry is None:
            # Not a failure of the program: the runtime reports it in the result.
            _write(directory, "%04d-missing.txt" % _state["seq"], title.encode("utf-8", "replace"))
            return None
        crop = ["-crop", geometry, "+repage"]
    final = os.path.join(directory, "%04d-%s.png" % (_state["seq"], reason))
    part = final + ".part"
    done = subprocess.run(
        ["import", "-silent", "-window", "root"] + crop + ["png:" + part],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20,
    )
    if done.returncode != 0 or not os.path.exists(part):
        return None
    os.rename(part, final)
    return final


def _render(root):
    try:
        root.update_idletasks()
        root.update()
    except Exception:
        pass


def _snap_root(root, reason):
    if _state.get("in_show"):
        return  # pyplot's show() takes its own picture
    _render(root)
    capture(reason)
    _state["roots"].add(id(root))


def _patch_tkinter(tk):
    mainloop, destroy = tk.Misc.mainloop, tk.Tk.destroy

    def patched_mainloop(self, n=0):
        root = self._root()
        root.after(_SETTLE_MS, lambda: _snap_root(root, "mainloop"))
        return mainloop(self, n)

    def patched_destroy(self):
        if id(self) not in _state["roots"]:
            _snap_root(self, "destroy")
        return destroy(self)

    tk.Misc.mainloop, tk.Tk.destroy = patched_mainloop, patched_destroy
    tk.mainloop = lambda n=0: patched_mainloop(tk._get_default_root("run the main loop"), n)


def _patch_pyplot(plt):
    original = plt.show

    def show(*args, **kwargs):
        # Nobody can close a window on a virtual display: show without blocking, let it draw, take the picture.
        if not plt.get_fignums():
            return None
        _state["in_show"] = True
        try:
            original(block=False)
            canvas = plt.gcf().canvas
            canvas.draw()
            canvas.start_event_loop(_SETTLE_MS / 1000)
            capture("pyplot")
        finally:
            _state["in_show"] = False
        return None

    plt.show = show


def _at_exit():
    tk = sys.modules.get("tkinter")
    root = getattr(tk, "_default_root", None) if tk else None
    if root is not None and id(root) not in _state["roots"]:
        _snap_root(root, "exit")


def cell_done():
    """End of a context cell: like the end of a program for a window still up and not yet pictured."""
    _at_exit()


class _Finder:
    """Patches tkinter and matplotlib.pyplot right after they are first imported."""

    targets = {"tkinter": _patch_tkinter, "matplotlib.pyplot": _patch_pyplot}

    def find_spec(self, name, path=None, target=None):
        if name not in self.targets:
            return None
        import importlib.util

        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader, patch = spec.loader, self.targets[name]

        class Loader:
            def create_module(self, s):
                return loader.create_module(s)

            def exec_module(self, module):
                loader.exec_module(module)
                try:
                    patch(module)
                except Exception as err:
                    print("threadbox: GUI hook for %s failed: %s" % (name, err), file=sys.stderr)

        spec.loader = Loader()
        return spec


# THREADBOX_GUI_PATCH: frames are taken by the runtime, but windows and show() behave as with screenshots.
if os.environ.get("THREADBOX_SCREENSHOTS") or os.environ.get("THREADBOX_GUI_PATCH"):
    import atexit

    sys.meta_path.insert(0, _Finder())
    atexit.register(_at_exit)
    for _name, _patch in _Finder.targets.items():
        if _name in sys.modules:
            _patch(sys.modules[_name])
