"""What `csa session show` adds about orchestration: which tool answered and why, failovers."""

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
    return pairs
