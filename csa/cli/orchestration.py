"""What `csa session show` and `session log` add about orchestration: which tool answered
and why, failovers, and the project commits made by the session (csa.attribution)."""

from __future__ import annotations

import click

from csa.cli.output import write_text
from csa.cli.session import cd_option, open_session, session_option

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
    wt = st.extra.get("worktree")
    if isinstance(wt, dict) and wt.get("path"):
        how = "inherited from the parent" if wt.get("inherited") else \
            f"branch {wt.get('branch')}, from {str(wt.get('base') or '')[:10]}"
        pairs.append(("worktree", f"{wt['path']} ({how})"))
    from csa.attribution import session_commits

    for c in session_commits(handle, st):
        pairs.append(("commit", commit_line(c)))
    return pairs


def commit_line(c: dict) -> str:
    """`3f2a9c1b0e fix the parser (turn 2, codex)` / `... (Csa-Session trailer)`."""
    how = "Csa-Session trailer" if c.get("via") == "trailer" else \
        f"turn {c.get('turn')}, {c.get('tool')}"
    return f"{str(c.get('sha'))[:10]} {c.get('subject')} ({how})"


@click.command("diff")
@session_option(env_fallback=True)
@click.option("--stat", is_flag=True, help="A diffstat instead of the patch.")
@cd_option
def diff(session, stat, cd):
    """Show a session's changes: its worktree against the commit it started from
    (committed and uncommitted, plus untracked files), or, without a worktree, the
    commits made during its turns.

    \b
    Examples:
      csa session diff -s 01JH4Q
      csa session diff -s 01JH4Q --stat
    """
    from csa.worktree import diff as session_diff

    write_text(session_diff(open_session(cd, session, env_fallback=True), stat=stat))
