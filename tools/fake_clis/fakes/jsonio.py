"""JSON lines in and out: the codec (through `_json`), stdout/stderr event lines, JSONL files.

    out_line({"type": "turn.started"})      # stdout: {"type":"turn.started"}\\n
    err_text("Error: ...")                  # stderr, newline added if missing
    append_lines(path, [obj, obj])          # JSONL, parent directories made
    dumps({"a": [1, None]}), loads('{"a": [1, null]}')   # '{"a":[1,null]}', {'a': [1, None]}

The codec uses the C accelerator `_json` directly: the `json` package imports `re` (~5 ms).
Output is compact (`,` and `:` separators) and keeps non-ASCII text as is, like the real
tools' JSON lines.  Everything is written with os.write on the file descriptor: no
buffering, so a reader sees each line as soon as it is printed, and an os._exit() loses
nothing already printed.
"""

import os

try:
    import _json

    class _ScanCtx:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        memo = {}

        @staticmethod
        def parse_constant(name):
            return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]

    def _no_default(o):
        raise TypeError(f"not JSON serializable: {type(o)!r}")

    _ENCODE = _json.make_encoder(
        None, _no_default, _json.encode_basestring, None, ":", ",", False, False, True
    )
    _SCAN = _json.make_scanner(_ScanCtx())

    def dumps(obj):
        return "".join(_ENCODE(obj, 0))

    def loads(s):
        i = len(s) - len(s.lstrip())
        try:
            obj, end = _SCAN(s, i)
        except StopIteration:
            raise ValueError("no JSON value") from None
        if s[end:].strip():
            raise ValueError("extra data after JSON value")
        return obj

    dumps({"probe": [1, 0.5, None, True, "x"]})
    loads('{"probe": [1, 0.5, null, true, "x"]}')
except Exception:  # not CPython, or the private API changed: use the public module
    import json as _json_mod

    def dumps(obj):
        return _json_mod.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    loads = _json_mod.loads


FILL = "@@FILL@@"  # marks where huge_lines() puts its filler text inside a template event


def write_fd(fd, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def out_line(obj):
    """One event line on stdout, written (and so flushed) at once."""
    write_fd(1, dumps(obj) + "\n")


def out_text(text):
    write_fd(1, text)


def show(text):
    """Print `text` on stdout and return exit status 0: `return show(HELP)`."""
    out_text(text)
    return 0


def err_text(text):
    if not text.endswith("\n"):
        text += "\n"
    write_fd(2, text)


def mkdirs(path):
    try:
        os.makedirs(path)
    except FileExistsError:
        pass


def append_lines(path, objs):
    """Append objects as JSON lines to `path` (one write); nothing to do without both."""
    if not path or not objs:
        return
    mkdirs(os.path.dirname(path))
    data = "".join(dumps(o) + "\n" for o in objs).encode("utf-8", "replace")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        write_fd(fd, data)
    finally:
        os.close(fd)


def huge_lines(template, mb):
    """`mb` MB of copies of the `template` event, FILL replaced by `[k] filler`, ~1 MB per write.

    huge_lines({"type": "text", "text": FILL}, 0.01)   # {"type":"text","text":"[0] lorem…"}
    """
    head, _, tail = dumps(template).partition(FILL)
    total = int(mb * 1024 * 1024)
    filler = ("lorem ipsum dolor sit amet consectetur " * 100)[:3000]
    written = k = size = 0
    chunk = []
    while written < total:
        line = f"{head}[{k}] {filler}{tail}\n"
        k += 1
        chunk.append(line)
        size += len(line)
        written += len(line)
        if size >= 1 << 20:
            write_fd(1, "".join(chunk))
            chunk, size = [], 0
    if chunk:
        write_fd(1, "".join(chunk))
