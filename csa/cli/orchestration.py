"""What `csa session show` and `session log` add about orchestration: which tool answered
and why, failovers, and the project commits made by the session (csa.attribution)."""

from __future__ import annotations

SHOWN_SWITCHES = 5


def show_pairs(handle, st) -> list[tuple[str, str]]:
    """(label, text) rows for `session show`: the last answer's tool and why, the failovers."""
    pairs: list[tuple[str, str]] = []
    res = handle.read_result() if st.run is not None else None
    if isinstance(res, dict) and res.get("tool"):
        why = f" ({res['tool_reason']})" if res.get("tool_reason") else ""
        pairs.append(("answered by", f"{res['tool']}{why}"))
    switches = st.extra.get("failover")
    if isinstance(switches, list):
        for sw in switches[-SHOWN_SWITCHES:]:
            if isinstance(sw, dict):
                pairs.append(("failover", f"turn {sw.get('turn')}: {sw.get('from')} "
                                          f"({sw.get('kind')}) -> {sw.get('to')}"))
    from csa.attribution import session_commits

    for c in session_commits(handle, st):
        pairs.append(("commit", commit_line(c)))
    return pairs


def commit_line(c: dict) -> str:
    """`3f2a9c1b0e fix the parser (turn 2, codex)` / `... (Csa-Session trailer)`."""
    how = "Csa-Session trailer" if c.get("via") == "trailer" else \
        f"turn {c.get('turn')}, {c.get('tool')}"
    return f"{str(c.get('sha'))[:10]} {c.get('subject')} ({how})"
