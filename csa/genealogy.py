"""Parent/child sessions: the env a tool inherits, the depth limit, and the tree view.

    >>> parent_from_env({"CSA_SESSION_ID": "01JH4QWERT1234567890ABCDEF", "CSA_DEPTH": "1"})
    ('01JH4QWERT1234567890ABCDEF', 1)
    >>> [(row["id"], level) for row, level, orphan in build_tree(rows)]

A `csa run` that finds `CSA_SESSION_ID` in its environment is a nested run from a
tool inside csa: its session becomes a child of that one, at depth `CSA_DEPTH`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from csa import ids
from csa.errors import CsaError, DepthExceeded

ENV_VARS = ("CSA_SESSION_ID", "CSA_DEPTH", "CSA_PROJECT_ROOT", "CSA_SESSION_DIR", "CSA_TOOL",
            "CSA_PARENT_SESSION", "CSA_BIN", "CSA_WORKTREE")


def parent_from_env(env: Mapping[str, str]) -> tuple[str | None, int]:
    """(parent session id, depth of the new session) from a nested run's environment."""
    parent = env.get("CSA_SESSION_ID") or None
    if parent is None:
        return None, 0
    parent = parent.strip().upper()
    if not ids.is_ulid(parent):
        raise CsaError(f"CSA_SESSION_ID={env.get('CSA_SESSION_ID')!r} in the environment is not a "
                       "session id; unset it to start a root session")
    raw = env.get("CSA_DEPTH", "1")
    try:
        depth = int(raw)
    except ValueError:
        raise CsaError(f"CSA_DEPTH={raw!r} in the environment is not a number") from None
    if depth < 1:
        raise CsaError(f"CSA_DEPTH={raw!r} in the environment must be at least 1 for a nested run")
    return parent, depth


def check_depth(depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise DepthExceeded(
            f"recursion depth {depth} would exceed max_recursion_depth {max_depth}; "
            "no session was created (raise max_recursion_depth in config.toml to allow deeper trees)")


def child_env(*, session_id: str, depth: int, project_root: Path, session_dir: Path, tool: str,
              parent_session_id: str | None, csa_bin: str | None = None) -> dict[str, str]:
    """The CSA_* variables a tool process of a session at `depth` gets.

    `CSA_BIN` (default: `selfbin.csa_bin()`) is how the tool's agent calls csa
    again, `"$CSA_BIN" run ...`, even where its shell has no csa on PATH.
    """
    if csa_bin is None:
        from csa.selfbin import csa_bin as running_csa

        csa_bin = running_csa()
    env = {
        "CSA_SESSION_ID": session_id,
        "CSA_DEPTH": str(depth + 1),
        "CSA_PROJECT_ROOT": str(project_root),
        "CSA_SESSION_DIR": str(session_dir),
        "CSA_TOOL": tool,
        "CSA_BIN": csa_bin,
    }
    if parent_session_id:
        env["CSA_PARENT_SESSION"] = parent_session_id
    return env


def ancestors(session_id: str, parent_of: Mapping[str, str | None]) -> list[str]:
    """Parent, grandparent, ... of a session (stops at a cycle or a missing link)."""
    out: list[str] = []
    seen = {session_id}
    cur = parent_of.get(session_id)
    while cur and cur not in seen:
        out.append(cur)
        seen.add(cur)
        cur = parent_of.get(cur)
    return out


def build_tree(rows: Iterable[dict], known_ids: Iterable[str] | None = None,
               ) -> list[tuple[dict, int, bool]]:
    """Rows in tree order as (row, level, orphan).

    `rows` come newest first; roots keep that order and siblings are ordered by
    creation. A row whose parent is not among `rows` is drawn as a root; it is an
    orphan when its parent does not exist at all (`known_ids`, default: the rows).
    """
    rows = list(rows)
    by_id = {r["id"]: r for r in rows}
    known = set(known_ids) if known_ids is not None else set(by_id)
    children: dict[str, list[dict]] = {}
    roots: list[dict] = []
    for r in rows:
        parent = r.get("parent_session_id")
        if parent and parent in by_id and parent != r["id"]:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r.get("created_at") or "", r["id"]))
    out: list[tuple[dict, int, bool]] = []
    seen: set[str] = set()

    def walk(top: dict) -> None:
        stack = [(top, 0)]
        while stack:
            r, level = stack.pop()
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            parent = r.get("parent_session_id")
            out.append((r, level, bool(parent) and level == 0 and parent not in known))
            kids = children.get(r["id"])
            if kids:  # most sessions have none: skip the per-row generator
                for kid in reversed(kids):
                    stack.append((kid, level + 1))

    for r in roots:
        walk(r)
    # Rows caught in a parent cycle (corrupt data) still appear, as roots.
    for r in rows:
        if r["id"] not in seen:
            walk(r)
    return out
