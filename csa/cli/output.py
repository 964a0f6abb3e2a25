"""Output helpers shared by every read command: JSON, aligned tables, trees, key/values.

    @json_option
    def cmd(as_json): emit_json(obj) if as_json else print_table(headers, rows)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import orjson

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _no_color(_ctx, _param, value):
    if value:
        from csa import colour

        colour.disable()
    return value


# `--no-color` on the `csa` group and on the read commands that colour their output.
no_color_option = click.option("--no-color", is_flag=True, expose_value=False, is_eager=True,
                               callback=_no_color,
                               help="No colour (also: NO_COLOR=1, or output that is not a terminal).")


class ToolName(click.ParamType):
    """A tool name or alias (claude -> claude-code), or with `many` a comma list of them,
    given back in csa's own spelling. Unknown names are left for csa.tools.get_tool to
    refuse, since a third-party tool is known only to its installed entry point."""

    name = "tool"

    def __init__(self, many: bool = False):
        self.many = many

    def convert(self, value, param, ctx):
        from csa.tools import canonical

        if value is None or not self.many:
            return value if value is None else canonical(value)
        return ",".join(canonical(v) for v in str(value).split(",") if v.strip())

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from csa.tools import known_names

        return [CompletionItem(n) for n in known_names() if n.startswith(incomplete)]
def nonblank(_ctx, param, value):
    """Refuse an empty or whitespace-only value (`-s ""` must not mean "a new session")."""
    if isinstance(value, str) and not value.strip():
        from csa.errors import CsaError

        raise CsaError(f"{param.opts[-1]} needs a value: it was empty", exit_code=1)
    return value


def _default(obj: Any) -> Any:
    from datetime import date, datetime, time
    from pathlib import Path

    if isinstance(obj, datetime):
        from csa.state import iso_ms

        return iso_ms(obj)
    if isinstance(obj, date | time):  # TOML local dates and times (in a hand-edited file)
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | tuple):
        return list(obj)
    raise TypeError


def _safe(obj: Any, depth: int = 0) -> Any:
    """What orjson refuses, made printable: integers beyond 64 bits (a hand-edited
    state.toml), lone surrogates, nesting deeper than orjson allows."""
    if depth > 200:
        return "[too deeply nested]"
    if isinstance(obj, dict):
        return {k if isinstance(k, str | int | float | bool) or k is None else str(k):
                _safe(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_safe(v, depth + 1) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool) and not -(2**63) <= obj < 2**64:
        return str(obj)
    if isinstance(obj, str):
        return obj.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return obj


def _dumps(obj: Any, option: int) -> bytes:
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except TypeError:  # orjson.JSONEncodeError
        return orjson.dumps(_safe(obj), default=_default, option=option)


def emit_json(obj: Any) -> None:
    """One JSON document on stdout (indented; `list --json` prints one array)."""
    data = _dumps(obj, orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
                  | orjson.OPT_PASSTHROUGH_DATETIME)
    out = sys.stdout.buffer
    out.write(data + b"\n")
    out.flush()


def emit_jsonl(objs) -> None:
    out = sys.stdout.buffer
    for obj in objs:
        out.write(_dumps(obj, orjson.OPT_PASSTHROUGH_DATETIME) + b"\n")
    out.flush()


def write_text(text: str) -> None:
    """Write a block of text at once (fast for 10,000-line listings)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    cells = [list(map(str, headers))]
    cells += [["" if c is None else c if isinstance(c, str) else str(c) for c in r] for r in rows]
    n = len(headers)
    widths = [max(map(len, col)) for col in list(zip(*cells, strict=True))[: n - 1]]
    fmt = "  ".join([f"{{:<{w}}}" for w in widths] + ["{}"])
    return "\n".join([fmt.format(*r).rstrip() for r in cells]) + "\n"


def key_values(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "".join(f"{k.ljust(width)}  {'' if v is None else v}\n" for k, v in pairs)


def human_bytes(n: int | float) -> str:
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
