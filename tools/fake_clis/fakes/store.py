"""The fakes' own conversation store: one JSON file per provider session and tool.

    rec = new_record("codex", "01a1fe78-…", "/proj", "gpt-5.5")   # turns=[], replies=[]
    save(rec)          # $FAKE_CLI_HOME/codex/01a1fe78-….json (else ~/.fake-clis/codex/)
    load("codex", "01a1fe78-…")["turns"]                        # -> [] (None if unknown)

A record holds what a resume needs: `turns` (user prompts), `replies`, `cwd`, `model`,
`compactions`, the path of the tool's own `transcript` file, and per-tool extras
(`last_uuid`, `cost_total`, `usage_total`, `title`).
"""

import os

from .ids import now_ms, safe_id
from .jsonio import dumps, loads, mkdirs


def home():
    return os.environ.get("HOME") or os.path.expanduser("~")


def store_dir(tool):
    base = os.environ.get("FAKE_CLI_HOME")
    if base:
        return os.path.join(base, tool)
    return os.path.join(home(), ".fake-clis", tool)


def load(tool, sid):
    if not safe_id(sid):
        return None
    try:
        with open(os.path.join(store_dir(tool), sid + ".json"), "rb") as f:
            return loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def save(rec):
    """Write the record atomically (temp file + rename), stamping `updated_ms`."""
    d = store_dir(rec["tool"])
    mkdirs(d)
    rec["updated_ms"] = now_ms()
    path = os.path.join(d, rec["id"] + ".json")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(dumps(rec).encode("utf-8", "replace"))
    os.replace(tmp, path)


def all_records(tool, cwd=None):
    """Every stored session of `tool` (only those started in `cwd` if given), unordered."""
    try:
        names = os.listdir(store_dir(tool))
    except OSError:
        return []
    recs = []
    for n in names:
        if n.endswith(".json"):
            r = load(tool, n[:-5])
            if r and (cwd is None or r.get("cwd") == cwd):
                recs.append(r)
    return recs


def newest(tool, cwd=None):
    """The most recently used session (in `cwd` if given), or None."""
    recs = all_records(tool, cwd)
    if not recs:
        return None
    return max(recs, key=lambda r: (r.get("updated_ms", 0), r.get("created_ms", 0)))


def new_record(tool, sid, cwd, model):
    ms = now_ms()
    return {
        "tool": tool,
        "id": sid,
        "cwd": cwd,
        "model": model,
        "created_ms": ms,
        "updated_ms": ms,
        "turns": [],
        "replies": [],
        "compactions": 0,
        "transcript": None,
        "last_uuid": None,
    }


def fork(rec, sid, cwd, model):
    """A new session `sid` that starts with `rec`'s conversation (its own transcript file)."""
    copy = new_record(rec["tool"], sid, cwd, model)
    copy["turns"] = list(rec["turns"])
    copy["replies"] = list(rec["replies"])
    copy["compactions"] = rec.get("compactions", 0)
    return copy
