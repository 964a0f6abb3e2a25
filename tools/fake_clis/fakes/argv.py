"""Command-line parsing the way the real tools do it: flag tables, errors, the prompt.

    SPEC = Spec(flags="-p|--print --verbose", values="-r|--resume --model", lists="--add-dir")
    opts, positionals, rest = parse(["-p", "hi", "-r", "ID"], SPEC, on_unknown, on_missing)
    # opts == {"print": True, "resume": "ID"}, positionals == ["hi"]

A flag's key in `opts` is its first long name without dashes (`--add-dir` -> `add_dir`).
Values may be glued (`--model=x`, `-mx`); a boolean takes `--flag=true|false|1|0`.
"""

import os

# --output-format choices shared by claude and gemini -> Run.fmt
FORMATS = {"text": "text", "json": "json", "stream-json": "stream"}


class Exit(Exception):
    """Stop with an exit code, optionally printing a message on stderr first."""

    def __init__(self, code, msg=None):
        Exception.__init__(self, code, msg)
        self.code = code
        self.msg = msg


class Spec:
    """Flags of one (sub)command: name -> (key, kind); kind is 'bool', 'val' or 'list'."""

    def __init__(self, flags="", values="", lists=""):
        self.flags = {}
        for kind, names in (("bool", flags), ("val", values), ("list", lists)):
            for alternatives in names.split():
                names_ = alternatives.split("|")
                key = next((n for n in names_ if n.startswith("--")), names_[0])
                for n in names_:
                    self.flags[n] = (key.lstrip("-").replace("-", "_"), kind)


def parse(args, spec, on_unknown, on_missing, stop_at_first_positional=False):
    """(opts, positionals, rest): `rest` is what follows the first positional when stopping there.

    `on_unknown(arg)` and `on_missing(flag)` raise the tool's own error.
    """
    opts = {}
    pos = []
    i = 0
    n = len(args)
    while i < n:
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1 :])
            break
        if len(a) > 1 and a[0] == "-":
            name, val, has_val = a, None, False
            if a.startswith("--") and "=" in a:
                name, _, val = a.partition("=")
                has_val = True
            ent = spec.flags.get(name)
            if ent is None and not a.startswith("--") and len(a) > 2:
                ent2 = spec.flags.get(a[:2])
                if ent2 is not None and ent2[1] != "bool":  # -mVALUE
                    name, val, has_val, ent = a[:2], a[2:], True, ent2
            if ent is None:
                on_unknown(a)
            dest, kind = ent
            if kind == "bool":
                if has_val and val.lower() not in ("true", "false", "1", "0"):
                    on_unknown(a)
                opts[dest] = (not has_val) or val.lower() in ("true", "1")
            else:
                if not has_val:
                    i += 1
                    if i >= n:
                        on_missing(name)
                    val = args[i]
                if kind == "list":
                    opts.setdefault(dest, []).append(val)
                else:
                    opts[dest] = val
        else:
            pos.append(a)
            if stop_at_first_positional:
                return opts, pos, args[i + 1 :]
        i += 1
    return opts, pos, []


def merge_opts(opts, more):
    """Add a later parse's options: lists are extended, other values replaced."""
    for k, v in more.items():
        if isinstance(v, list):
            opts.setdefault(k, []).extend(v)
        else:
            opts[k] = v
    return opts


def clean(s):
    """argv/stdin text that may hold undecodable bytes -> valid unicode (like node would)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_prompt(p):
    """Prompt from argv; '-' or absent -> stdin (which csa connects to /dev/null)."""
    if p is not None and p != "-":
        return clean(p)
    try:
        if os.isatty(0):
            return ""
    except OSError:
        return ""
    chunks = []
    while True:
        try:
            b = os.read(0, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    return clean(b"".join(chunks).decode("utf-8", "surrogateescape"))
