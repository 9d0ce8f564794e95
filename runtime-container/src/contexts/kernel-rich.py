# Rich outputs of the Python context kernel (its source is joined to kernel.py's: the globals are shared): the mime
# bundle of a value (IPython's _repr_*_ methods), display(), and PIL's Image.show() as a display of the cell.
import base64, importlib.abc, io, json, sys

_REPR_METHODS = (
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_png_", "image/png"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_json_", "application/json"),
    ("_repr_latex_", "text/latex"),
    ("_repr_javascript_", "application/javascript"),
)


def encode_mime(mime, data):
    """A bundle's value as the string an event carries: base64 for binary data, JSON text for JSON, text otherwise."""
    if isinstance(data, (bytes, bytearray)):
        if mime.startswith("text/") or mime == "image/svg+xml":
            return bytes(data).decode("utf-8", "replace")
        return base64.b64encode(bytes(data)).decode()
    if mime == "application/json" or mime.endswith("+json"):
        return data if isinstance(data, str) else json.dumps(data, default=str)
    return data if isinstance(data, str) else str(data)


def _rendered(value, method, *args):
    """What a _repr_*_ method gives (its data, without IPython's optional metadata), or None."""
    try:
        fn = getattr(value, method, None)
        if not callable(fn) or isinstance(value, type):
            return None
        out = fn(*args)
        if isinstance(out, tuple) and len(out) == 2:
            out = out[0]
        return out if out is not None and out != "" else None
    except Exception:
        return None


def bundle(value):
    """The rich representations of a value: text/plain always, then each mime type its _repr_*_ methods give."""
    out = {"text/plain": repr(value)}
    given = _rendered(value, "_repr_mimebundle_", None, None)
    if isinstance(given, dict):
        for mime, data in given.items():
            if isinstance(mime, str) and data is not None:
                out[mime] = encode_mime(mime, data)
    for method, mime in _REPR_METHODS:
        if mime not in out:
            data = _rendered(value, method)
            if data is not None:
                out[mime] = encode_mime(mime, data)
    if "image/png" not in out and type(value).__module__.startswith("matplotlib"):
        fig = getattr(value, "figure", None) or (value if hasattr(value, "savefig") else None)
        if fig is not None and hasattr(fig, "savefig"):
            out["image/png"] = figure_png(fig)
    return out


def figure_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def send_display(mime, data, source="display"):
    send({"type": "display", "id": _current["id"], "mime": mime, "data": data, "source": source})


def display(*values, raw=False, **_options):
    """Shows values as rich outputs of the running cell (IPython's display; raw=True: each value is a mime bundle)."""
    for value in values:
        if raw and isinstance(value, dict):
            items = [(mime, encode_mime(mime, data)) for mime, data in value.items() if data is not None]
        else:
            items = bundle(value).items()
        for mime, data in items:
            send_display(mime, data)


def _pil_show(image, *_args, **_options):
    """PIL's Image.show(): no viewer in a sandbox, so the image is a PNG display of the cell, as a figure is."""
    buf = io.BytesIO()
    try:
        image.save(buf, format="PNG")
    except (OSError, ValueError):  # a mode PNG cannot hold (CMYK, F, ...)
        buf = io.BytesIO()
        image.convert("RGBA").save(buf, format="PNG")
    send_display("image/png", base64.b64encode(buf.getvalue()).decode())


class _PilShowHook(importlib.abc.MetaPathFinder):
    """Puts _pil_show in place of Image.show when PIL.Image is first imported, by a cell or by a library."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "PIL.Image":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if finder is not self and find else None
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                continue
            load = spec.loader.exec_module

            def exec_module(module, load=load):
                load(module)
                module.Image.show = _pil_show

            spec.loader.exec_module = exec_module
            return spec
        return None


sys.meta_path.insert(0, _PilShowHook())
